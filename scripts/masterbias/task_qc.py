"""The QC tables: every calibrated bias, every master's read noise, what was rejected.

Nothing here reads pixels: the frame jobs measured each frame where its pixels were in
memory (its header's CAL* and OVSC* keywords), the combine jobs measured the read noise
and counted the rejections where the stack was in memory (their records), and the
planning read each frame's time and gain from its header.  This job puts them together.
"""

from __future__ import annotations

import json
import logging

import numpy as np

__all__ = [
    "FRAME_COLUMNS", "NIGHT_COLUMNS", "REJECTION_COLUMNS", "frame_facts", "pair_noise", "write_qc"
]  # fmt: skip

FRAME_COLUMNS = [
    "group", "file", "extension", "date_obs", "overscan_level_adu", "overscan_noise_adu",
    "median_adu", "clipped_std_adu", "gradient_adu", "rejected_fraction", "pair_noise_adu",
    "gain_e_per_adu", "read_noise_e", "left_out",
]  # fmt: skip
NIGHT_COLUMNS = [
    "group", "extension", "amplifier", "frames", "read_noise_adu", "gain_e_per_adu",
    "read_noise_e", "rejected_fraction", "master_noise_adu", "expected_noise_adu",
    "master_mean_adu", "pixels_beyond_5sigma", "columns_beyond_5sigma", "rows_beyond_5sigma",
    "verification",
]  # fmt: skip
REJECTION_COLUMNS = ["group", "file", "extension", "rejected_pixels", "rejected_fraction",
                     "left_out"]  # fmt: skip


def frame_gain(keywords: dict, gain) -> float | None:
    """The gain in e-/ADU: ``gain`` itself if a number, else the header keyword it names."""
    if gain is None or isinstance(gain, (int, float)):
        return gain
    value = keywords.get(gain.upper())
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def frame_facts(plan, gain) -> dict[str, dict]:
    """What the planning read of each bias for the QC tables: its time (ISO, UTC) and its
    gain (``gain``: a number or a header keyword)."""
    return {
        name: {"time": frame.time.iso, "gain": frame_gain(frame.keywords, gain)}
        for name, frame in plan.biases.items()
    }


def pair_noise(pairs: list) -> dict[str, float]:
    """Each frame's noise from the pair it starts (else the pair it ends), the median over
    its amplifiers."""
    noise: dict[str, float] = {}
    for first, second, sigmas in pairs:
        value = float(np.nanmedian(sigmas))
        noise[first] = value
        noise.setdefault(second, value)
    return noise


def _electrons(gain, adu):
    return gain * adu if gain and adu is not None else None


def write_qc(
    records: dict[str, str],
    facts: dict[str, dict],
    frames_csv: str,
    night_csv: str,
    rejections_csv: str,
    logger: logging.Logger | None = None,
) -> None:
    """Write the QC tables from the combine jobs' records.

    Parameters
    ----------
    records : dict
        Group label -> path of its combine record.
    facts : dict
        :func:`frame_facts`.
    frames_csv, night_csv, rejections_csv : str
        ``qc/frames.csv`` (a row per frame and extension), ``qc/night.csv`` (a row per
        master, extension and amplifier), ``qc/rejections.csv``.
    """
    from .fitsfile import write_csv

    logger = logger or logging.getLogger(__name__)
    frame_rows, night_rows, rejection_rows = [], [], []
    for group, path in records.items():
        with open(path) as stream:
            record = json.load(stream)
        for extension in record["extensions"]:
            label = extension["extension"]
            noise_of = pair_noise(extension["pairs"])
            gains = set()
            for row in extension["frames"]:
                fact = facts[row["file"]]
                gains.add(fact["gain"])
                noise = noise_of.get(row["file"])
                frame_rows.append({
                    **row, "group": group, "extension": label, "date_obs": fact["time"],
                    "pair_noise_adu": noise, "gain_e_per_adu": fact["gain"],
                    "read_noise_e": _electrons(fact["gain"], noise),
                })  # fmt: skip
                rejection_rows.append({**row, "group": group, "extension": label})
            gain = gains.pop() if len(gains) == 1 else None
            for check in extension["verification"]:
                noise = check["read_noise"]
                night_rows.append({
                    "group": group, "extension": label, "amplifier": check["amplifier"],
                    "frames": check["frames"], "read_noise_adu": noise, "gain_e_per_adu": gain,
                    "read_noise_e": _electrons(gain, noise),
                    "rejected_fraction": check["rejected_fraction"],
                    "master_noise_adu": check["noise"],
                    "expected_noise_adu": check["expected_noise"],
                    "master_mean_adu": check["mean"], "pixels_beyond_5sigma": check["pixels"],
                    "columns_beyond_5sigma": check["columns"], "rows_beyond_5sigma": check["rows"],
                    "verification": "pass" if check["passed"] else f"fail: {check['reason']}",
                })  # fmt: skip
    for rows, columns, output in (
        (frame_rows, FRAME_COLUMNS, frames_csv),
        (night_rows, NIGHT_COLUMNS, night_csv),
        (rejection_rows, REJECTION_COLUMNS, rejections_csv),
    ):
        write_csv(output, rows, columns)
        logger.info("wrote %s (%d rows)", output, len(rows))
