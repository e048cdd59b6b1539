"""The figures job: read the products of a night and draw the QC figures of one master."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime

import fitsio
import numpy as np

from . import keywords as kw
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
    """Hours since the first frame from ISO times; the frame index when any is missing or
    not ISO.  Returns the times and whether they are dates."""
    try:
        moments = [datetime.fromisoformat(str(date).strip()) for date in dates]
    except ValueError:
        return [float(index) for index in range(len(dates))], False
    if any(date is None for date in dates) or not moments:
        return [float(index) for index in range(len(dates))], False
    first = min(moments)
    return [(moment - first).total_seconds() / 3600.0 for moment in moments], True


def _trend_rows(record: str, times: dict[str, str | None]) -> list[dict]:
    """The statistics of every frame of a master (its first extension) for the night's
    trends, from the combine's record, with their times."""
    with open(record) as stream:
        frames = json.load(stream)["extensions"][0]["frames"]
    hours, dated = frame_times([times[row["file"]] for row in frames])
    pairs = _pair_noise(record)
    trend = []
    for row, time in zip(frames, hours, strict=True):
        entry = {key: row[key] for key in ("overscan_level_adu", "median_adu", "clipped_std_adu")}
        entry.update(pair_noise_adu=pairs.get(row["file"]), time=time, dated=dated,
                     left_out=row["left_out"] or "")  # fmt: skip
        trend.append(entry)
    return sorted(trend, key=lambda entry: entry["time"])


def _pair_noise(record: str) -> dict:
    from .task_qc import pair_noise

    with open(record) as stream:
        return pair_noise(json.load(stream)["extensions"][0]["pairs"])


def _overscan_levels(path: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    with fitsio.FITS(path) as fits:
        if kw.OVERSCAN_TABLE not in fits:
            return []
        table = fits[kw.OVERSCAN_TABLE].read()
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
    record: str,
    times: dict[str, str | None],
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
    record : str
        The combine's record (statistics and frames left out).
    times : dict
        Frame name -> its time (ISO, UTC, or None).
    outputs : dict
    """
    from . import figures

    logger = logger or logging.getLogger(__name__)
    calibrated = sorted(calibrated)
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
        combined = kw.NCOMBINE.read(header)
        save("master", figures.master_with_profiles(image, combined))
        del image
        rejected = fitsio.read(literal[-1], ext=kw.Planes.of(None).rejected)
        save("rejected", figures.rejection_map(rejected, combined))
    save("night", figures.night_trends(_trend_rows(record, times)))
