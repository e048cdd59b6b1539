"""The per-frame job: read a raw bias, calibrate it, write it atomically."""

from __future__ import annotations

import logging
import os

import fitsio
import numpy as np

from . import SOFTWARE
from .errors import FrameError

__all__ = ["calibrate_file", "overscan_table"]


def overscan_table(result) -> np.ndarray | None:
    """The serial overscan level subtracted from each row, per amplifier, as a table
    (AMP, ROW: raw row number from 1, LEVEL: ADU); None when no amplifier has one."""
    parts = [amp for amp in result.amplifiers if amp.row_levels is not None]
    if not parts:
        return None
    width = max(len(amp.name) for amp in parts)
    count = sum(len(amp.rows) for amp in parts)
    table = np.zeros(count, dtype=[("AMP", f"U{width}"), ("ROW", "i4"), ("LEVEL", "f8")])
    start = 0
    for amp in parts:
        end = start + len(amp.rows)
        table["AMP"][start:end] = amp.name
        table["ROW"][start:end] = amp.rows
        table["LEVEL"][start:end] = amp.row_levels
        start = end
    return table


def calibrate_file(
    raw_path: str,
    output: str,
    layout: dict,
    dtype: str = "float32",
    logger: logging.Logger | None = None,
) -> None:
    """Calibrate one raw bias into ``output``.

    Parameters
    ----------
    raw_path, output : str
    layout : dict
        ``LayoutSpec`` fields: ``overscan_method``, ``overscan_region``, ``trim_region``.
    dtype : str
        Type of the calibrated image.
    """
    from .calibration import calibrate_frame
    from .fitsfile import atomic_output, check_fits_complete, read_image, read_image_header
    from .headers import calibrated_header
    from .layout import LayoutSpec

    logger = logger or logging.getLogger(__name__)
    logger.info("%s: calibrating %s -> %s", SOFTWARE, raw_path, output)
    found = read_image_header(raw_path)
    frame_layout = LayoutSpec(**layout).resolve(found.header, found.shape, raw_path)
    for line in frame_layout.describe():
        logger.info(line)
    data = read_image(raw_path, found.hdu)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise FrameError(raw_path, f"{bad} pixels are NaN or infinite")
    result = calibrate_frame(data, frame_layout, dtype)
    for amp in result.amplifiers:
        logger.info(amp.describe())
    header = calibrated_header(found.header, result, frame_layout, os.path.basename(raw_path))
    with atomic_output(output, check=check_fits_complete) as temporary:
        with fitsio.FITS(str(temporary), "rw", clobber=True) as fits:
            fits.write(result.image, header=header)
            table = overscan_table(result)
            if table is not None:
                fits.write(table, extname="OVERSCAN")
    logger.info("wrote %s (%d x %d %s)", output, *result.image.shape, result.image.dtype)
