"""Combining a stack of calibrated biases, pixel by pixel along the frame axis.

Every function here works on a stack of shape ``(frames, rows, columns)`` and treats each
pixel independently, so combining an image in row bands gives the same numbers, bit for
bit, as combining it whole.  The arithmetic follows ccdproc's ``Combiner`` (float64,
NaN-aware mean/median/sum of the values not rejected) so that results match it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Settings
from .stats import MAD_TO_STD

__all__ = [
    "CombineSettings", "CombinedBand", "sigma_clip_mask", "reject_mask", "combine_stack",
    "frames_last",
]  # fmt: skip


#: The fraction of clean pixels the default rejection may touch (reject at least one of
#: their values), whatever the number of frames: half of the 0.01 % it promises, so that
#: finite samples stay under it.
AUTO_TOUCHED = 5e-5

#: The guide's clipping threshold, what ``'auto'`` means for ``ccdproc``.
GUIDE_SIGMAS = 5.0


def auto_threshold(count: int) -> float:
    """The ``'auto'`` threshold of ``ccdclip`` and ``avsigclip`` for ``count`` frames.

    A clean value's z (its distance from the mean of the pixel's other values, in units
    of its own spread) is a standard normal, so a clean pixel of ``count`` values has one
    rejected with chance ``2 count Phi(-t)``; ``t`` makes that :data:`AUTO_TOUCHED`.  From
    4.31 at 3 frames to 4.89 at 50: a 10-sigma outlier among 3 frames stands 8.2 sigma from
    the mean of the other two (9.9 among 50), well beyond it.
    """
    from statistics import NormalDist

    return NormalDist().inv_cdf(1.0 - AUTO_TOUCHED / (2.0 * count))


@dataclass(frozen=True)
class CombineSettings(Settings):
    """How to combine (the config's ``combine.method`` and ``combine.reject``).

    Attributes
    ----------
    method : {'average', 'median', 'sum'}
    reject : {'ccdclip', 'avsigclip', 'minmax', 'ccdproc', 'none'}
        How outlying values are rejected first (:mod:`masterbias.rejection`).  ``ccdproc``
        is the guide's one pass of clipping around the per-pixel median with the MAD-based
        standard deviation (``sigma_clip_func=np.ma.median``, ``sigma_clip_dev_func=
        mad_std``): ``x`` is rejected if ``x < median - low * dev`` or
        ``x > median + high * dev``.
    low, high : float, None or 'auto'
        Thresholds in standard deviations for the sigma rejections; ``None``: that side
        is not clipped; ``'auto'``: chosen from the number of frames
        (:func:`auto_threshold`; the guide's 5 for ``ccdproc``), see :meth:`for_frames`.
    nlow, nhigh : int
        Values rejected at the low and the high end of each pixel by ``minmax``.
    read_noise : float or None
        The noise of one value (ADU) for ``ccdclip``; ``None``: measured from the frames.
    """

    section = ("combine",)

    method: str
    reject: str
    low: float | None
    high: float | None
    nlow: int
    nhigh: int
    read_noise: float | None

    @property
    def needs_noise_model(self) -> bool:
        return self.reject == "ccdclip" and self.read_noise is None

    def for_frames(self, count: int) -> CombineSettings:
        """These settings for a stack of ``count`` frames: ``'auto'`` thresholds as
        numbers."""
        from dataclasses import replace

        automatic = GUIDE_SIGMAS if self.reject == "ccdproc" else auto_threshold(count)
        return replace(
            self,
            low=automatic if self.low == "auto" else self.low,
            high=automatic if self.high == "auto" else self.high,
        )

    @classmethod
    def from_config(cls, combine: dict) -> CombineSettings:
        """From the config's ``combine`` block, as :func:`masterbias.config.load_config`
        completes it."""
        reject = combine["reject"]
        return cls(
            method=combine["method"],
            reject=reject["algorithm"],
            low=reject["low"],
            high=reject["high"],
            nlow=reject["nlow"],
            nhigh=reject["nhigh"],
            read_noise=reject["read_noise"],
        )

    def describe(self) -> str:
        """The rejection in words, for the log and the header's HISTORY."""
        if self.reject == "none":
            return "no rejection"
        if self.reject == "minmax":
            return f"minmax rejection of the {self.nlow} lowest and {self.nhigh} highest values"
        if self.reject == "ccdproc":
            return (
                f"one pass of {_sigmas(self.low)}/{_sigmas(self.high)} sigma clipping around "
                "the median with mad_std (ccdproc)"
            )
        spread = {
            "ccdclip": "the noise model"
            + (f" ({self.read_noise} ADU)" if self.read_noise is not None else ""),
            "avsigclip": "a spread pooled along each row of each amplifier",
        }[self.reject]
        return (
            f"{self.reject}: values beyond {_sigmas(self.low)}/{_sigmas(self.high)} sigma of "
            f"the mean of the others, sigma from {spread}, rejected one at a time"
        )


def _sigmas(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class CombinedBand:
    """The combination of a band of rows.

    Attributes
    ----------
    data : ndarray of float64
    uncertainty : ndarray of float64
        Standard deviation of the combined value, as ccdproc computes it.
    mask : ndarray of bool
        True where every frame was rejected.
    rejected : ndarray of int
        How many frames were rejected at each pixel.
    rejected_per_frame : ndarray of int
        How many pixels of each frame were rejected.
    split : ndarray of float64
        The difference of the means of the kept values of the even- and the odd-numbered
        frames, over sqrt(1/n_even + 1/n_odd): the noise of one value at that pixel, with
        the structure the frames share cancelled (NaN where a half kept nothing).
    """

    data: np.ndarray
    uncertainty: np.ndarray
    mask: np.ndarray
    rejected: np.ndarray
    rejected_per_frame: np.ndarray
    split: np.ndarray


def median_last_axis(values: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """``np.median(values, axis=-1)`` in float64, bit for bit, by a partial sort.

    numpy's median averages the two middle values, ``(a + b) / 2``, in float64; selecting
    them with ``partition`` on the contiguous last axis gives the same numbers faster.
    With ``overwrite`` the values are partitioned in place instead of in a copy.
    """
    count = values.shape[-1]
    middle = sorted({(count - 1) // 2, count // 2})
    if overwrite:
        values.partition(middle, axis=-1)
        ordered = values
    else:
        ordered = np.partition(values, middle, axis=-1)
    low = ordered[..., middle[0]].astype(np.float64)
    high = ordered[..., middle[-1]].astype(np.float64)
    return (low + high) / 2.0


def frames_last(stack: np.ndarray) -> np.ndarray:
    """A ``(frames, rows, columns)`` stack as a contiguous ``(rows, columns, frames)`` copy,
    each pixel's values side by side for the partial sorts of the medians."""
    return np.ascontiguousarray(np.moveaxis(stack, 0, -1))


def _frames_first(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(mask, -1, 0))


def sigma_clip_mask(stack: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """Reject values beyond ``low``/``high`` MAD-based sigmas of the per-pixel median.

    One pass, as ccdproc's ``Combiner.sigma_clipping`` with astropy's ``sigma_clip``
    (``maxiters=1``, ``cenfunc=np.ma.median``, ``stdfunc=mad_std``), in float64; a value is
    rejected if it is below ``median - low * spread`` or above ``median + high * spread``.
    Non-finite values are rejected too.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    low, high : float or None
        Thresholds in units of the MAD-based standard deviation; ``None`` skips that side.

    Returns
    -------
    ndarray of bool, shape of ``stack``
        True for rejected values.
    """
    values = frames_last(stack)
    center = median_last_axis(values)
    # |x - median| in float64, as astropy's mad_std computes it, in one array
    deviation = np.subtract(values, center[..., np.newaxis], dtype=np.float64)
    np.abs(deviation, out=deviation)
    spread = median_last_axis(deviation, overwrite=True) * MAD_TO_STD
    del deviation, values
    rejected = ~np.isfinite(stack)
    with np.errstate(invalid="ignore"):
        if low is not None:
            rejected |= stack < (center - spread * low)
        if high is not None:
            rejected |= stack > (center + spread * high)
    return rejected


def _masked_median(values: np.ndarray, rejected: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Median of the kept values of each pixel (numpy's nanmedian, without the NaNs);
    ``values`` and ``rejected`` with the frames on the last axis."""
    ordered = np.where(rejected, np.inf, values)
    ordered.sort(axis=-1)
    low_index = (np.maximum(kept - 1, 0) // 2)[..., np.newaxis]
    high_index = (np.maximum(kept, 1) // 2)[..., np.newaxis]
    low = np.take_along_axis(ordered, low_index, axis=-1)[..., 0].astype(np.float64)
    high = np.take_along_axis(ordered, high_index, axis=-1)[..., 0].astype(np.float64)
    return (low + high) / 2.0


def reject_mask(
    stack: np.ndarray,
    settings: CombineSettings,
    spread: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The values of a stack to leave out, by ``settings.reject``.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    settings : CombineSettings
    spread : ndarray, shape (rows, columns), optional
        The noise of one value at each pixel, for ``ccdclip`` without ``read_noise``.
    labels : ndarray of int, shape (rows, columns), optional
        The amplifier of each pixel, for ``avsigclip`` (one amplifier when not given).

    Returns
    -------
    ndarray of bool, shape of ``stack``
        True for rejected values (non-finite values always are).
    """
    from .rejection import clip_with_spread, minmax_mask, pooled_row_spread

    settings = settings.for_frames(stack.shape[0])
    if settings.reject in ("ccdclip", "avsigclip") and stack.shape[0] < 3:
        return ~np.isfinite(stack)  # two values cannot tell which one is wrong
    if settings.reject == "ccdproc":
        return sigma_clip_mask(stack, settings.low, settings.high)
    if settings.reject == "minmax":
        return minmax_mask(stack, settings.nlow, settings.nhigh)
    if settings.reject == "avsigclip":
        if labels is None:
            labels = np.zeros(stack.shape[1:], dtype=np.int16)
        spread = pooled_row_spread(stack, labels)
    elif settings.reject == "ccdclip" and settings.read_noise is not None:
        spread = np.float64(settings.read_noise)
    elif settings.reject == "ccdclip" and spread is None:
        raise ValueError("ccdclip rejection needs the noise model (or a read_noise)")
    if settings.reject == "none":
        return ~np.isfinite(stack)
    return clip_with_spread(stack, spread, settings.low, settings.high)


def combine_stack(
    stack: np.ndarray,
    settings: CombineSettings,
    spread: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> CombinedBand:
    """Combine a stack of frames pixel by pixel.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
        Calibrated frames, one after the other: the sums over the frames are compiled
        loops (:mod:`masterbias.kernels`); the medians move the frames to the last axis
        first.  Any float type; the arithmetic is float64, as in ccdproc.
    settings : CombineSettings
    spread, labels : ndarray, optional
        The noise model and the amplifiers of the band (see :func:`reject_mask`).

    Returns
    -------
    CombinedBand
        ``average``: mean of kept values, uncertainty = std / sqrt(kept);
        ``median``: median of kept values, uncertainty = 1.4826 MAD / sqrt(kept);
        ``sum``: sum of kept values, uncertainty = std * sqrt(kept).
        Pixels where every value was rejected are masked and hold the unclipped median.
    """
    from .kernels import masked_sums

    rejected = reject_mask(stack, settings, spread, labels)
    sums = masked_sums(stack, rejected, deviations=settings.method != "median")
    kept = sums.kept
    mask = kept == 0

    with np.errstate(invalid="ignore", divide="ignore"):
        even, odd, n_even, n_odd = sums.even, sums.odd, sums.kept_even, sums.kept_odd
        split = (even / n_even - odd / n_odd) / np.sqrt(1.0 / n_even + 1.0 / n_odd)
        if settings.method == "median":
            values = frames_last(stack)
            if sums.rejected_per_frame.any():
                data = _masked_median(values, frames_last(rejected), kept)
                deviation = np.abs(values - data[..., np.newaxis])
                spread = _masked_median(deviation, frames_last(rejected), kept) * MAD_TO_STD
            else:
                data = median_last_axis(values)
                deviation = np.subtract(values, data[..., np.newaxis], dtype=np.float64)
                np.abs(deviation, out=deviation)
                spread = median_last_axis(deviation, overwrite=True) * MAD_TO_STD
            del values, deviation
            uncertainty = spread / np.sqrt(kept)
        else:
            std = np.sqrt(sums.squares / kept)
            if settings.method == "average":
                data = sums.mean
                uncertainty = std / np.sqrt(kept)
            else:
                data = even + odd
                uncertainty = std / np.sqrt(kept) * kept

    if mask.any():
        data = np.where(mask, 0.0, data)
        data[mask] = median_last_axis(frames_last(stack)[mask])
        uncertainty = np.where(mask, 0.0, uncertainty)
    n_rejected = stack.shape[0] - kept
    return CombinedBand(data, uncertainty, mask, n_rejected, sums.rejected_per_frame, split)
