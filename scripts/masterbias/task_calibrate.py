"""The per-frame job: read a raw bias, calibrate it, write it atomically."""

from __future__ import annotations

import logging
import os

import fitsio
import numpy as np

from . import SOFTWARE
from .errors import FrameError

__all__ = ["calibrate_file"]


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
        fitsio.write(str(temporary), result.image, header=header, clobber=True)
    logger.info("wrote %s (%d x %d %s)", output, *result.image.shape, result.image.dtype)
