"""The figures job: read the products of a night and draw the QC figures of one master."""

from __future__ import annotations

import csv
import logging
import os
from datetime import datetime

import fitsio
import numpy as np

from .fitsfile import atomic_output, cfitsio_paths, read_image

__all__ = ["FIGURES", "frame_times", "draw_figures"]

#: Figure key -> file name (the rule's outputs use the same keys).
FIGURES = {
    "raw_vs_calibrated": "raw_vs_calibrated.png",
    "histogram": "histogram.png",
    "overscan_rows": "overscan_rows.png",
    "master": "master.png",
    "rejected": "rejected.png",
    "night": "night.png",
}


def frame_times(dates: list[str | None]) -> tuple[list[float], bool]:
    """Hours since the first frame from ISO ``DATE-OBS`` values; the frame index when any
    is missing or not ISO.  Returns the times and whether they are dates."""
    try:
        moments = [datetime.fromisoformat(str(date).strip()) for date in dates]
    except ValueError:
        return [float(index) for index in range(len(dates))], False
    if any(date is None for date in dates) or not moments:
        return [float(index) for index in range(len(dates))], False
    first = min(moments)
    return [(moment - first).total_seconds() / 3600.0 for moment in moments], True


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _read_rows(frames_csv: str, names: set[str]) -> list[dict]:
    with open(frames_csv, newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["file"] in names]
    times, dated = frame_times([row.get("date_obs") or None for row in rows])
    trend = []
    for row, time in zip(rows, times, strict=True):
        entry = {key: _number(row.get(key)) for key in (
            "overscan_level_adu", "median_adu", "robust_std_adu", "pair_noise_adu")}  # fmt: skip
        entry.update(time=time, dated=dated, left_out=row.get("left_out") or "")
        trend.append(entry)
    return sorted(trend, key=lambda entry: entry["time"])


def _overscan_levels(path: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    with fitsio.FITS(path) as fits:
        if "OVERSCAN" not in fits:
            return []
        table = fits["OVERSCAN"].read()
    amps = [str(amp).strip() for amp in table["AMP"]]
    return [
        (amp, table["ROW"][mask], table["LEVEL"][mask])
        for amp in dict.fromkeys(amps)
        for mask in [np.array([a == amp for a in amps])]
    ]


def draw_figures(
    calibrated: list[str],
    raw_path: str,
    raw_hdu: int,
    master: str,
    frames_csv: str,
    outputs: dict[str, str],
    logger: logging.Logger | None = None,
) -> None:
    """Draw the figures of :data:`FIGURES` into ``outputs`` (key -> PNG path).

    Parameters
    ----------
    calibrated : list of str
        The calibrated frames of this master; the first (sorted) is the one shown.
    raw_path, raw_hdu : str, int
        Its raw frame and the HDU of the image.
    master : str
    frames_csv : str
        ``qc/frames.csv`` (statistics, dates and frames left out).
    outputs : dict
    """
    from . import figures

    logger = logger or logging.getLogger(__name__)
    calibrated = sorted(calibrated)
    names = {os.path.basename(path) for path in calibrated}
    shown = os.path.basename(calibrated[0])

    def save(key, figure):
        with atomic_output(outputs[key]) as temporary:
            figures.save_png(figure, temporary)
        logger.info("wrote %s", outputs[key])

    # one image in memory at a time (besides the raw frame next to its calibrated self)
    with cfitsio_paths(calibrated + [master]) as literal:
        image = fitsio.read(literal[0])
        raw = read_image(raw_path, raw_hdu)
        save("raw_vs_calibrated", figures.raw_and_calibrated(raw, image, shown))
        del raw
        save("histogram", figures.pixel_histogram(image, shown))
        del image
        levels = {os.path.basename(name): _overscan_levels(path)
                  for name, path in zip(calibrated, literal, strict=False)}  # fmt: skip
        save("overscan_rows", figures.overscan_along_rows(levels))
        image, header = fitsio.read(literal[-1], header=True)
        combined = int(header["NCOMBINE"])
        save("master", figures.master_with_profiles(image, combined))
        del image
        save("rejected", figures.rejection_map(fitsio.read(literal[-1], ext="REJECTED"), combined))
    save("night", figures.night_trends(_read_rows(frames_csv, names)))
