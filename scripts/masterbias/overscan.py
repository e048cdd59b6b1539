"""Overscan levels: one value per row from the serial overscan columns."""

from __future__ import annotations

import numpy as np

from .sections import Section
from .stats import robust_std

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
    region = data[overscan.slices]
    if method == "median":
        return np.median(region, axis=1)
    if method == "mean":
        return np.mean(region, axis=1)
    raise ValueError(f"overscan method {method!r} is not 'median' or 'mean'")


def parallel_levels(rows: np.ndarray, method: str) -> np.ndarray:
    """The level of every column of parallel overscan ``rows`` (median or mean down them)."""
    if method == "median":
        return np.median(rows, axis=0)
    if method == "mean":
        return np.mean(rows, axis=0)
    raise ValueError(f"overscan method {method!r} is not 'median' or 'mean'")


def overscan_noise(data: np.ndarray, overscan: Section, levels: np.ndarray) -> float:
    """Robust standard deviation (MAD-based) of the overscan pixels about their row levels.

    In a bias this is the read noise in ADU, free of the row-to-row drift.
    """
    return robust_std(data[overscan.slices] - levels[:, np.newaxis])
