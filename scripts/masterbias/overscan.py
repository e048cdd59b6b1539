"""Overscan levels: one value per row from the serial overscan columns."""

from __future__ import annotations

import numpy as np

from .sections import Section
from .stats import clipped_std

__all__ = ["overscan_levels", "overscan_noise", "parallel_levels"]


def overscan_levels(data: np.ndarray, overscan: Section, method: str) -> np.ndarray:
    """The overscan level of every row of ``overscan``.

    Parameters
    ----------
    data : ndarray
        The raw image, in its stored type.
    overscan : Section
        The overscan columns (and the rows they cover).
    method : {'median', 'mean'}
        ``median`` is ccdproc's ``subtract_overscan(..., median=True)``: robust to the hot
        or leaking column that a mean would carry into every row.

    Returns
    -------
    ndarray
        One level per row of ``overscan``, in the type numpy gives (float64 for integer
        data), so that the subtraction matches ccdproc to the bit.
    """
    return _levels(data[overscan.slices], method, axis=1)


def _levels(region: np.ndarray, method: str, axis: int) -> np.ndarray:
    """Median or mean along ``axis``; NaN (BLANK) pixels left out when there are any."""
    masked = region.dtype.kind == "f" and np.isnan(region).any()
    if method == "median":
        return np.nanmedian(region, axis=axis) if masked else np.median(region, axis=axis)
    if method == "mean":
        return np.nanmean(region, axis=axis) if masked else np.mean(region, axis=axis)
    raise ValueError(f"overscan method {method!r} is not 'median' or 'mean'")


def parallel_levels(rows: np.ndarray, method: str) -> np.ndarray:
    """The level of every column of parallel overscan ``rows`` (median or mean down them)."""
    return _levels(rows, method, axis=0)


def overscan_noise(data: np.ndarray, overscan: Section, levels: np.ndarray) -> float:
    """Clipped standard deviation of the overscan pixels about their row levels
    (:func:`masterbias.stats.clipped_std`).

    In a bias this is the read noise in ADU, free of the row-to-row drift.
    """
    return clipped_std(data[overscan.slices] - levels[:, np.newaxis])
