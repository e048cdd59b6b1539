"""The QC job: per-frame statistics of the calibrated biases and the night's read noise."""

from __future__ import annotations

import csv
import logging
import os

import fitsio
import numpy as np

from .fitsfile import atomic_output, cfitsio_paths
from .noise import difference_noise
from .stats import robust_std, sample_grid

__all__ = ["frame_statistics", "write_frame_qc"]

FRAME_COLUMNS = [
    "file", "date_obs", "overscan_level_adu", "overscan_noise_adu", "mean_adu", "median_adu",
    "robust_std_adu", "rejected_fraction", "pair_noise_adu", "gain_e_per_adu",
    "read_noise_e", "left_out",
]  # fmt: skip


def frame_statistics(sample: np.ndarray) -> dict:
    """Mean, median and robust std of a frame (or of a regular grid of its pixels), ADU."""
    return {
        "mean_adu": float(np.mean(sample, dtype=np.float64)),
        "median_adu": float(np.median(sample)),
        "robust_std_adu": robust_std(sample),
    }


def read_grid(path: str) -> tuple[np.ndarray, dict]:
    """A regular grid of about SAMPLE_PIXELS pixels of a frame (fitsio reads only those),
    and its header."""
    with fitsio.FITS(path) as fits:
        hdu = fits[0]
        rows, cols = hdu.get_dims()
        grid = sample_grid((rows, cols))
        return hdu[grid[0], grid[1]].astype(np.float64), hdu.read_header()


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def frame_gain(header, gain: str | float | None) -> float | None:
    """The gain in e-/ADU: ``gain`` itself if a number, else the header keyword it names."""
    if gain is None or isinstance(gain, (int, float)):
        return gain
    return _number(header.get(gain))


def write_frame_qc(
    paths: list[str],
    rejection_tables: list[str],
    frames_csv: str,
    night_csv: str,
    logger: logging.Logger | None = None,
    gain: str | float | None = "GAIN",
) -> dict:
    """Write ``frames_csv`` (one row per calibrated bias) and ``night_csv`` (the night).

    The read noise of a frame is the clipped std of its difference with the next frame
    (the last: with the one before) / sqrt(2) (:func:`masterbias.noise.difference_noise`):
    the fixed bias pattern cancels, the noise of both frames stays.  In electrons where
    the gain is known: ``gain`` in e-/ADU, or the header keyword that holds it.  All
    statistics use a regular grid of about :data:`masterbias.stats.SAMPLE_PIXELS` pixels of
    each frame.
    """
    logger = logger or logging.getLogger(__name__)
    paths = sorted(paths)
    rejected, left_out = {}, {}
    for table in rejection_tables:
        with open(table, newline="") as stream:
            for row in csv.DictReader(stream):
                if row.get("rejected_fraction"):
                    rejected[row["file"]] = float(row["rejected_fraction"])
                if row.get("left_out"):
                    left_out[row["file"]] = row["left_out"]
    rows, pair_noise = [], []
    previous = None
    with cfitsio_paths(paths) as literal:
        for index, path in enumerate(literal):
            image, header = read_grid(path)
            row = {"file": os.path.basename(paths[index])}
            row["date_obs"] = header.get("DATE-OBS")
            row["overscan_level_adu"] = _number(header.get("OVSCLEV1"))
            row["overscan_noise_adu"] = _number(header.get("OVSCRMS1"))
            row.update(frame_statistics(image))
            row["rejected_fraction"] = rejected.get(row["file"])
            row["left_out"] = left_out.get(row["file"])
            row["gain_e_per_adu"] = frame_gain(header, gain)
            if previous is not None and previous.shape == image.shape:
                noise = difference_noise(previous, image)
                pair_noise.append(noise)
                row["pair_noise_adu"] = noise
                if rows[-1].get("pair_noise_adu") is None:
                    rows[-1]["pair_noise_adu"] = noise
            rows.append(row)
            previous = image
    for row in rows:
        gain, noise = row.get("gain_e_per_adu"), row.get("pair_noise_adu")
        row["read_noise_e"] = gain * noise if gain and noise is not None else None
    with atomic_output(frames_csv) as temporary, open(temporary, "w", newline="") as out:
        writer = csv.DictWriter(out, FRAME_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _format(row.get(key)) for key in FRAME_COLUMNS})
    night = {
        "frames": len(rows),
        "read_noise_adu": float(np.median(pair_noise)) if pair_noise else None,
    }
    gains = {row["gain_e_per_adu"] for row in rows if row["gain_e_per_adu"]}
    night["gain_e_per_adu"] = gains.pop() if len(gains) == 1 else None
    night["read_noise_e"] = (
        night["gain_e_per_adu"] * night["read_noise_adu"]
        if night["gain_e_per_adu"] and night["read_noise_adu"] is not None
        else None
    )
    with atomic_output(night_csv) as temporary, open(temporary, "w", newline="") as out:
        writer = csv.DictWriter(out, list(night))
        writer.writeheader()
        writer.writerow({key: _format(value) for key, value in night.items()})
    logger.info("night: %s", night)
    return night


def _format(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
