"""Compiled loops over the frames of a stack: the combine's passes over every value.

A stack here is ``(frames, pixels)``, frames first.  Each kernel walks the pixels in
blocks and, within a block, the frames one after the other, so that every pixel's
additions happen in frame order: the same sequence of float64 operations as numpy's
reductions of whole frames (``values.sum(axis=0, dtype=float64)``, ``sums += frame``),
hence the same numbers, bit for bit.  No fast-math: no reassociation, no fused
multiply-adds.  A block of every frame's values stays in the CPU cache between the passes
that read it twice.

Compiled by numba on first use and cached beside this file (or in numba's user cache when
that is read-only); the kernels release the GIL, so the combine's threads run them side
by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["clip_candidates", "masked_sums", "MaskedSums"]

#: Pixels per block: 1,024 pixels of 160 float32 frames are 640 kB, within L2 (measured
#: against 256 to 4,096 at 24 and 160 frames).
BLOCK = 1024

_compile = numba.njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)


@_compile
def clip_candidates(values, spread, low, high):
    """The pixels that may hold a value beyond ``low``/``high`` sigmas of the others.

    The most deviant value of a pixel is its largest or its smallest; a pixel is a
    candidate when either stands beyond its threshold from the mean of all the pixel's
    values (``(x - mean) * sqrt(n / (n - 1)) / spread``), or when a value is not finite.

    Parameters
    ----------
    values : ndarray, shape (frames, pixels)
    spread : ndarray of float64, shape (pixels,)
        The standard deviation of one value.
    low, high : float
        Thresholds in standard deviations.

    Returns
    -------
    ndarray of bool, shape (pixels,)
        With fewer than three frames, only the pixels with a value that is not finite.
    """
    frames, pixels = values.shape
    candidate = np.zeros(pixels, dtype=np.bool_)
    root = np.sqrt(frames / (frames - 1.0)) if frames >= 3 else 0.0
    largest = np.empty(BLOCK, dtype=values.dtype)
    smallest = np.empty(BLOCK, dtype=values.dtype)
    total = np.empty(BLOCK)
    for start in range(0, pixels, BLOCK):
        size = min(BLOCK, pixels - start)
        largest[:size] = values[0, start : start + size]
        smallest[:size] = values[0, start : start + size]
        total[:size] = 0.0
        for frame in range(frames):
            row = values[frame, start : start + size]
            for pixel in range(size):
                value = row[pixel]
                largest[pixel] = value if value > largest[pixel] else largest[pixel]
                smallest[pixel] = value if value < smallest[pixel] else smallest[pixel]
                total[pixel] += value
        for pixel in range(size):
            # a float64 sum of float32 values cannot overflow: it is finite exactly when
            # every value is
            if not np.isfinite(total[pixel]):
                candidate[start + pixel] = True
            elif frames >= 3:
                mean = total[pixel] / frames
                scale = root / spread[start + pixel]
                above = (np.float64(largest[pixel]) - mean) * scale / high
                below = (mean - np.float64(smallest[pixel])) * scale / low
                # a spread of 0 or NaN makes no candidates (NaN compares false)
                if not (np.isnan(above) or np.isnan(below)):
                    candidate[start + pixel] = max(above, below) > 1.0
    return candidate


@dataclass(frozen=True)
class MaskedSums:
    """What :func:`masked_sums` adds up, per pixel (the stack's image shape).

    Attributes
    ----------
    even, odd : ndarray of float64
        Sums of the kept values of the even- and of the odd-numbered frames (0-based).
    kept_even, kept_odd : ndarray of int32
        How many values each sum holds.
    mean : ndarray of float64
        ``(even + odd) / (kept_even + kept_odd)`` (NaN where nothing is kept); empty
        unless asked for.
    squares : ndarray of float64
        The sum of ``(value - mean) ** 2`` over the kept values; empty unless asked for.
    rejected_per_frame : ndarray of int64, shape (frames,)
    """

    even: np.ndarray
    odd: np.ndarray
    kept_even: np.ndarray
    kept_odd: np.ndarray
    mean: np.ndarray
    squares: np.ndarray
    rejected_per_frame: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        return self.kept_even + self.kept_odd


def masked_sums(stack: np.ndarray, rejected: np.ndarray, deviations: bool) -> MaskedSums:
    """Sum the kept values of each pixel of a stack, the even- and odd-numbered frames
    apart, and with ``deviations`` their mean and squared deviations from it.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    rejected : ndarray of bool, shape of ``stack``
        Values to leave out.
    deviations : bool

    Returns
    -------
    MaskedSums
    """
    frames, shape = stack.shape[0], stack.shape[1:]
    sums = _masked_sums(stack.reshape(frames, -1), rejected.reshape(frames, -1), deviations)
    *per_pixel, rejected_per_frame = sums
    per_pixel = [part.reshape(shape) if part.size else part for part in per_pixel]
    return MaskedSums(*per_pixel, rejected_per_frame)


@_compile
def _masked_sums(values, rejected, deviations):
    """:func:`masked_sums` of a ``(frames, pixels)`` stack; returns the fields of
    :class:`MaskedSums` in their order, flat.

    """
    frames, pixels = values.shape
    even = np.empty(pixels)
    odd = np.empty(pixels)
    kept_even = np.empty(pixels, dtype=np.int32)
    kept_odd = np.empty(pixels, dtype=np.int32)
    mean = np.empty(pixels if deviations else 0)
    squares = np.empty(pixels if deviations else 0)
    rejected_per_frame = np.zeros(frames, dtype=np.int64)
    block_sums = np.empty((2, BLOCK))
    block_kept = np.empty((2, BLOCK), dtype=np.int32)
    block_mean = np.empty(BLOCK)
    block_squares = np.empty(BLOCK)
    for start in range(0, pixels, BLOCK):
        size = min(BLOCK, pixels - start)
        stop = start + size
        block_sums[:, :size] = 0.0
        block_kept[:, :size] = 0
        for frame in range(frames):
            row = values[frame, start:stop]
            lost = rejected[frame, start:stop]
            sums = block_sums[frame % 2]
            kept = block_kept[frame % 2]
            count = 0
            for pixel in range(size):
                keep = not lost[pixel]
                # adding 0.0 for a rejected value leaves the sum as it was, and keeps
                # the loop free of branches
                sums[pixel] += row[pixel] if keep else 0.0
                kept[pixel] += keep
                count += keep
            rejected_per_frame[frame] += size - count
        even[start:stop] = block_sums[0, :size]
        odd[start:stop] = block_sums[1, :size]
        kept_even[start:stop] = block_kept[0, :size]
        kept_odd[start:stop] = block_kept[1, :size]
        if deviations:
            for pixel in range(size):
                block_mean[pixel] = (block_sums[0, pixel] + block_sums[1, pixel]) / (
                    block_kept[0, pixel] + block_kept[1, pixel]
                )
                block_squares[pixel] = 0.0
            for frame in range(frames):
                row = values[frame, start:stop]
                lost = rejected[frame, start:stop]
                for pixel in range(size):
                    deviation = row[pixel] - block_mean[pixel]
                    block_squares[pixel] += 0.0 if lost[pixel] else deviation * deviation
            mean[start:stop] = block_mean[:size]
            squares[start:stop] = block_squares[:size]
    return even, odd, kept_even, kept_odd, mean, squares, rejected_per_frame
