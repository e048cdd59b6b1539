"""The figures jobs: read the products of a night and draw the QC figures of one master.

The figures of the frame shown (raw next to its calibrated self, and its histogram) are
drawn as soon as it is calibrated, beside the other frame jobs; the figures of the master
(the overscan levels of its frames, the master, its rejections, the night's trends) after
the combine.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path

import fitsio
import numpy as np

from . import keywords as kw
from .fitsfile import atomic_output, cfitsio_paths, data_hdus, read_image

__all__ = ["FRAME_FIGURES", "MASTER_FIGURES", "FIGURES", "frame_times", "draw_frame_figures",
           "draw_master_figures"]  # fmt: skip

#: Figure key -> file name (the rules' outputs use the same keys): the shown frame's ...
FRAME_FIGURES = {
    "raw_vs_calibrated": "raw_vs_calibrated.png",
    "histogram": "histogram.png",
}
#: ... and the master's.
MASTER_FIGURES = {
    "overscan_rows": "overscan_rows.png",
    "master": "master.png",
    "rejected": "rejected.png",
    "night": "night.png",
}
FIGURES = FRAME_FIGURES | MASTER_FIGURES


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
    """A calibrated frame's overscan table: (amplifier, raw rows, levels) per amplifier
    (``EXT amp`` for a mosaic's)."""
    with fitsio.FITS(path) as fits:
        if kw.OVERSCAN_TABLE not in fits:
            return []
        table = fits[kw.OVERSCAN_TABLE].read()
    names = table.dtype.names
    amps = [
        f"{str(ext).strip()} {str(amp).strip()}".strip()
        for ext, amp in zip(
            table["EXTNAME"] if "EXTNAME" in names else [""] * len(table), table["AMP"],
            strict=True,
        )
    ]  # fmt: skip
    return [
        (amp, table["ROW"][mask], table["LEVEL"][mask])
        for amp in dict.fromkeys(amps)
        for mask in [np.array([a == amp for a in amps])]
    ]


_DETSEC = re.compile(r"\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]")


def _detsec(header) -> tuple[int, int, int, int] | None:
    """An extension's place in the focal plane, ``(x1, x2, y1, y2)`` from ``DETSEC`` (its
    ranges may run either way), or None."""
    match = _DETSEC.fullmatch(str(header.get("DETSEC", "")).strip())
    return tuple(int(value) for value in match.groups()) if match else None


def _mosaic(fits, labels: list[str], plane: str, how: str) -> list:
    """The tiles of :func:`masterbias.figures.mosaic_view`: one plane of every extension,
    each binned by one factor (one extension in memory at a time)."""
    from . import figures

    headers = [fits[label].read_header() for label in labels]
    places = [_detsec(header) for header in headers]
    shapes = [tuple(fits[label].get_dims()) for label in labels]
    factor = figures.mosaic_binning(shapes, places)
    tiles = []
    for label, place in zip(labels, places, strict=True):
        image = fits[getattr(kw.Planes.of(label), plane)].read()
        tiles.append((label, place, figures.bin_by(image, factor, how)))
    return tiles


def _saver(outputs: dict[str, str], logger: logging.Logger):
    """``save(key, figure, path=None)``: write a figure atomically to ``outputs[key]``."""
    from . import figures

    def save(key, figure, path=None):
        path = path or outputs[key]
        with atomic_output(path) as temporary:
            figures.save_png(figure, temporary)
        logger.info("wrote %s", path)

    return save


def draw_frame_figures(
    calibrated: str,
    raw_path: str,
    raw_hdu: int,
    outputs: dict[str, str],
    logger: logging.Logger | None = None,
) -> None:
    """Draw the figures of :data:`FRAME_FIGURES` into ``outputs`` (key -> PNG path): a
    calibrated frame next to its raw self, and its histogram (its first extension, for a
    mosaic).

    Parameters
    ----------
    calibrated : str
        The calibrated frame shown (the first of its master).
    raw_path, raw_hdu : str, int
        Its raw frame and the HDU of the first image.
    outputs : dict
    """
    from . import figures

    save = _saver(outputs, logger or logging.getLogger(__name__))
    shown = os.path.basename(calibrated)
    with cfitsio_paths([calibrated]) as (literal,), fitsio.FITS(literal) as fits:
        first = data_hdus(fits)[0]
        label = first.get_extname()
        image = first.read()
    title = f"{shown} [{label}]" if label else shown
    raw = read_image(raw_path, raw_hdu)
    save("raw_vs_calibrated", figures.raw_and_calibrated(raw, image, title))
    del raw
    save("histogram", figures.pixel_histogram(image, title))


def draw_master_figures(
    calibrated: list[str],
    master: str,
    record: str,
    times: dict[str, str | None],
    outputs: dict[str, str],
    logger: logging.Logger | None = None,
) -> None:
    """Draw the figures of :data:`MASTER_FIGURES` into ``outputs`` (key -> PNG path), and
    for a mosaic one figure of the master per extension into ``outputs["extensions"]`` (a
    folder, empty for a single image).

    A mosaic's master and rejections are drawn laid out by ``DETSEC``; the night's trends
    are of its first extension.

    Parameters
    ----------
    calibrated : list of str
        The calibrated frames of the master (their overscan tables are drawn).
    master : str
    record : str
        The combine's record (statistics and frames left out).
    times : dict
        Frame name -> its time (ISO, UTC, or None).
    outputs : dict
    """
    from . import figures

    save = _saver(outputs, logger or logging.getLogger(__name__))
    folder = Path(outputs["extensions"])
    folder.mkdir(parents=True, exist_ok=True)
    with cfitsio_paths(sorted(calibrated)) as literal:
        levels = {os.path.basename(name): _overscan_levels(path)
                  for name, path in zip(sorted(calibrated), literal, strict=True)}  # fmt: skip
    save("overscan_rows", figures.overscan_along_rows(levels))
    # one image in memory at a time
    with cfitsio_paths([master]) as (literal,), fitsio.FITS(literal) as fits:
        labels = [hdu.get_extname() for hdu in data_hdus(fits)]
        if labels[0]:  # a mosaic
            tiles = _mosaic(fits, labels, "data", "mean")
            save("master", figures.mosaic_view(tiles, f"master bias, {len(labels)} extensions"))
            tiles = _mosaic(fits, labels, "rejected", "sum")
            total = sum(float(tile.sum()) for *_, tile in tiles)
            title = f"values rejected: {total:.0f} in {len(labels)} extensions"
            save("rejected", figures.mosaic_view(tiles, title, "values rejected", "sum"))
            for label in labels:
                header = fits[label].read_header()
                figure = figures.master_with_profiles(fits[label].read(), kw.NCOMBINE.read(header))
                save("extensions", figure, folder / f"{label}.png")
        else:
            combined = kw.NCOMBINE.read(fits[0].read_header())
            save("master", figures.master_with_profiles(fits[0].read(), combined))
            rejected = fits[kw.Planes.of(None).rejected].read()
            save("rejected", figures.rejection_map(rejected, combined))
    save("night", figures.night_trends(_trend_rows(record, times)))
