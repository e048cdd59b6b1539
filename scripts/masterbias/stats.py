"""Robust statistics of frames, on a regular grid of pixels."""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAD_TO_STD", "MEDIAN_ERROR", "SAMPLE_PIXELS", "OUTLIER_SIGMAS", "robust_std",
    "clipped_std", "sample_grid", "light_statistics",
]  # fmt: skip

#: Ratio of the standard deviation to the median absolute deviation for a normal
#: distribution, 1 / Phi^-1(3/4); the same constant astropy's mad_std uses.
MAD_TO_STD = 1.482602218505602

#: The standard error of the median of n Gaussian values is this times sigma / sqrt(n):
#: sqrt(pi / 2).
MEDIAN_ERROR = 1.2533

#: Robust statistics use a regular grid of about this many pixels: the median and the MAD
#: of a quarter of a million values are good to a fraction of a percent, and a 4k frame
#: then costs a few milliseconds instead of a second.
SAMPLE_PIXELS = 250_000


#: What stands out: a value beyond this many sigmas of its noise (a cosmic ray, a hot
#: pixel, a bad column, a change of the detector); a Gaussian has 6e-7 of its values there.
#: The clipped statistics leave them out, the verification and the history count them.
OUTLIER_SIGMAS = 5.0


def robust_std(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the std of the Gaussian core.

    On digitised data it moves in steps (the MAD of integers is a multiple of 1/2):
    :func:`clipped_std` measures noise; this is for spreads of a few numbers.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    return float(np.median(np.abs(values - np.median(values))) * MAD_TO_STD)


def clipped_std(values: np.ndarray) -> float:
    """The noise of ``values``: their standard deviation within :data:`OUTLIER_SIGMAS`
    robust sigmas of their median.

    The robust sigma (:func:`robust_std`) only finds the core; the standard deviation of
    the core (within :data:`OUTLIER_SIGMAS` robust sigmas) measures it, with the
    digitisation of integer data in it and not quantised (the MAD of integer values is a
    multiple of 1/2).  When half the values or more are equal (the MAD is 0), the plain
    standard deviation finds the core instead.  Non-finite values are left out.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    center = np.median(values)
    deviation = np.abs(values - center)
    spread = np.median(deviation) * MAD_TO_STD or np.std(values)
    return float(np.std(values[deviation <= OUTLIER_SIGMAS * spread]))


def sample_grid(shape: tuple[int, int]) -> tuple[slice, slice]:
    """Every n-th row and column, n chosen to leave about SAMPLE_PIXELS pixels."""
    step = max(1, int(np.sqrt(shape[0] * shape[1] / SAMPLE_PIXELS)))
    return slice(None, None, step), slice(None, None, step)


def light_statistics(image: np.ndarray) -> dict:
    """Mean, median, clipped std and large-scale gradient of a calibrated frame, ADU, on a
    regular grid of about :data:`SAMPLE_PIXELS` of its pixels (NaN pixels left out).

    The gradient is the spread (max - min) of the medians of the four quadrants: a flat
    bias has almost none; a light leak or a readout fault has.
    """
    sample = image[sample_grid(image.shape)].astype(np.float64)
    rows, cols = sample.shape
    quadrants = [
        sample[: rows // 2 or 1, : cols // 2 or 1],
        sample[: rows // 2 or 1, cols // 2 :],
        sample[rows // 2 :, : cols // 2 or 1],
        sample[rows // 2 :, cols // 2 :],
    ]
    medians = [_finite_median(q) for q in quadrants if q.size]
    finite = sample[np.isfinite(sample)]
    return {
        "mean": float(np.mean(finite)) if finite.size else float("nan"),
        "median": _finite_median(finite),
        "noise": clipped_std(finite),
        "gradient": max(medians) - min(medians),
    }


def _finite_median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")
