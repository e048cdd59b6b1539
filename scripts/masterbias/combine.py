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

#: Working memory per pixel of a band, whatever the number of frames: the band's results
#: (the master's four planes, the half-split difference) and the float64 sums and counts
#: they are made from (measured: 51-114 B for the algorithms of
#: :meth:`CombineSettings.work_bytes_per_value`).
WORK_BYTES_PER_PIXEL = 128


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

    def work_bytes_per_value(self, itemsize: int) -> int:
        """Working memory per stacked value (one frame, one pixel) while a band is
        combined, for frames stored with ``itemsize`` bytes a pixel: the stack itself and
        two masks; a copy with the frames on the last axis and float64 deviations for the
        guide's clipping; twice that for the medians of the ``median`` method (their
        masked medians); the sort order of ``minmax``.  tests/test_memory.py holds the
        combine to it; the measured peaks, float32 frames: 5 B (ccdclip, avsigclip), 11.5
        (minmax), 15.5 (ccdproc), 26 (median)."""
        if self.method == "median":
            return 2 * itemsize + 16 + 2
        if self.reject == "ccdproc":
            return 2 * itemsize + 8 + 2
        if self.reject == "minmax":
            return itemsize + 8 + 2
        return itemsize + 2

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
        Calibrated frames, one after the other, so that the reductions over the frames are
        sums of whole frames (vectorised, in cache); the medians move the frames to the
        last axis first.  Any float type; the arithmetic is float64, as in ccdproc.
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
    rejected = reject_mask(stack, settings, spread, labels)
    n_frames, pixels = stack.shape[0], stack[0].size
    # rejections are rare: count them from their flat positions, not with reductions of the
    # whole mask, and redo the sums of only the pixels that lost a value
    where = np.flatnonzero(rejected)
    n_rejected = np.bincount(where % pixels, minlength=pixels).reshape(stack.shape[1:])
    kept = n_frames - n_rejected
    mask = kept == 0
    touched = _Touched.of(stack, rejected, n_rejected)

    with np.errstate(invalid="ignore", divide="ignore"):
        even, odd = _half_sums(stack, touched)
        total = even + odd
        split = _half_split(even, odd, where, pixels, n_frames, touched)
        if settings.method == "median":
            values = frames_last(stack)
            if where.size:
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
            mean = total / kept
            squares = _squared_deviations(stack, mean, touched)
            std = np.sqrt(squares / kept)
            if settings.method == "average":
                data = mean
                uncertainty = std / np.sqrt(kept)
            else:
                data = total
                uncertainty = std / np.sqrt(kept) * kept

    if mask.any():
        data = np.where(mask, 0.0, data)
        data[mask] = median_last_axis(frames_last(stack)[mask])
        uncertainty = np.where(mask, 0.0, uncertainty)
    per_frame = np.bincount(where // pixels, minlength=n_frames)
    return CombinedBand(data, uncertainty, mask, n_rejected, per_frame, split)


#: Beyond this fraction of a band's pixels losing a value (``minmax`` takes some of every
#: pixel), masking whole frames costs less than gathering those pixels (measured).
GATHER_FRACTION = 0.125


@dataclass(frozen=True)
class _Touched:
    """The pixels of a band that lost a value to the rejection, their values and which of
    them are kept (frames first): flat indices, or every pixel (``pixels`` a slice) when
    most of them did."""

    pixels: np.ndarray | slice
    count: int
    values: np.ndarray
    usable: np.ndarray

    @classmethod
    def of(cls, stack: np.ndarray, rejected: np.ndarray, n_rejected: np.ndarray) -> _Touched:
        pixels = np.flatnonzero(n_rejected)
        n_frames, size = stack.shape[0], stack[0].size
        flat, lost = stack.reshape(n_frames, -1), rejected.reshape(n_frames, -1)
        if pixels.size > GATHER_FRACTION * size:
            return cls(slice(None), size, flat, ~lost)
        return cls(pixels, pixels.size, flat[:, pixels], ~lost[:, pixels])

    @property
    def everything(self) -> bool:
        return isinstance(self.pixels, slice)

    def position(self, flat_pixels: np.ndarray) -> np.ndarray:
        """Where each of ``flat_pixels`` (pixels that lost a value) is among these."""
        return flat_pixels if self.everything else np.searchsorted(self.pixels, flat_pixels)


def _half_sums(stack: np.ndarray, touched: _Touched) -> tuple[np.ndarray, np.ndarray]:
    """The sums, in float64, of the kept values of the even- and of the odd-numbered frames.

    Every pixel is summed frame by frame (whole frames: vectorised, in cache), then the
    pixels that lost a value again, the same way with 0 for what was rejected, so that each
    pixel's sum is the same sequence of additions whichever way it was made.
    """
    sums = (np.zeros(stack.shape[1:]), np.zeros(stack.shape[1:]))
    if not touched.everything:
        for index in range(stack.shape[0]):
            np.add(sums[index % 2], stack[index], out=sums[index % 2])
    if touched.count:
        redone = (np.zeros(touched.count), np.zeros(touched.count))
        for index in range(stack.shape[0]):
            kept = np.where(touched.usable[index], touched.values[index], 0.0)
            np.add(redone[index % 2], kept, out=redone[index % 2])
        for whole, part in zip(sums, redone, strict=True):
            whole.reshape(-1)[touched.pixels] = part
    return sums


def _squared_deviations(stack: np.ndarray, mean: np.ndarray, touched: _Touched) -> np.ndarray:
    """The sum over the kept values of (value - mean)**2, frame by frame (nanstd's recipe),
    with the pixels that lost a value redone as :func:`_half_sums` does."""
    squares = np.zeros(stack.shape[1:])
    if not touched.everything:
        deviation = np.empty(stack.shape[1:])
        for index in range(stack.shape[0]):
            np.subtract(stack[index], mean, out=deviation)
            np.multiply(deviation, deviation, out=deviation)
            squares += deviation
    if touched.count:
        centre = mean.reshape(-1)[touched.pixels]
        redone = np.zeros(touched.count)
        for index in range(stack.shape[0]):
            part = touched.values[index] - centre
            part[~touched.usable[index]] = 0.0
            redone += part * part
        squares.reshape(-1)[touched.pixels] = redone
    return squares


def _half_split(even, odd, where, pixels, n_frames, touched: _Touched) -> np.ndarray:
    """:attr:`CombinedBand.split` from the half sums and the flat positions of the values
    rejected (the pixels that lost none share their counts)."""
    n_even, n_odd = (n_frames + 1) // 2, n_frames // 2
    if n_odd == 0:  # one frame: no halves to compare
        return np.full(even.shape, np.nan)
    split = (even / n_even - odd / n_odd) / np.sqrt(1.0 / n_even + 1.0 / n_odd)
    if touched.count:
        odd_frame = (where // pixels) % 2 == 1
        position = touched.position(where % pixels)
        kept_even = n_even - np.bincount(position[~odd_frame], minlength=touched.count)
        kept_odd = n_odd - np.bincount(position[odd_frame], minlength=touched.count)
        part_even = even.reshape(-1)[touched.pixels]
        part_odd = odd.reshape(-1)[touched.pixels]
        split.reshape(-1)[touched.pixels] = (part_even / kept_even - part_odd / kept_odd) / (
            np.sqrt(1.0 / kept_even + 1.0 / kept_odd)
        )
    return split
