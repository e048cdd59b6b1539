"""Verifying a master bias, as LSST's cp_verify verifies its biases, and comparing two.

A master's **noise** is measured where the stack is in memory, in the combine's bands:
the difference of the means of its even- and odd-numbered frames, scaled to the noise of
one value (:attr:`masterbias.combine.CombinedBand.split`), has the structure the frames
share cancelled, so its spread over the read noise measured from frame pairs should be 1,
and the master's noise is that spread times read noise / sqrt(N).  Histograms of the
scaled difference per amplifier are summed over the bands (integer counts: the same for
any band height) and their clipped standard deviation read off.  The master's **mean**
and the pixels, whole columns and rows that stand out by more than 5 sigma are then read
from the master itself.  A master **passes** when its noise is within
:data:`NOISE_TOLERANCE` of what the read noise predicts and the combination rejected at
most :data:`REJECTED_TOLERANCE` of its values.

Two masters of the same camera mode are **compared** on their difference, where the
structure they share cancels: pixels, whole columns and rows, and patches (blocks of
:data:`PATCH` pixels) that stand out of it by more than 5 sigma of their own noise.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from .stats import MAD_TO_STD, MEDIAN_ERROR, OUTLIER_SIGMAS, clipped_std

__all__ = [
    "NoiseHistogram", "Verification", "master_statistics", "verify", "StandOut",
    "stand_out", "NOISE_TOLERANCE", "REJECTED_TOLERANCE", "PATCH",
]  # fmt: skip

#: A master's noise may exceed read noise / sqrt(N) by this factor.
NOISE_TOLERANCE = 1.10

#: A master may have at most this fraction of its values rejected.
REJECTED_TOLERANCE = 0.01

#: Side of the blocks whose medians find patches.
PATCH = 16

#: The histogram of the scaled half difference: bins of 1/64 from -8 to 8 (of the noise).
_EDGES = np.linspace(-8.0, 8.0, 1025)


class NoiseHistogram:
    """Counts of the scaled half difference per amplifier, summed over bands by threads."""

    def __init__(self, amplifiers: int):
        self.counts = np.zeros((amplifiers, len(_EDGES) + 1), dtype=np.int64)
        self._lock = threading.Lock()

    def add(self, split: np.ndarray, spread: np.ndarray, labels: np.ndarray) -> None:
        """Add a band: ``split`` over the noise of one value (``spread``), per label."""
        with np.errstate(invalid="ignore", divide="ignore"):
            z = split / spread
        usable = np.isfinite(z) & (labels >= 0)
        # bin i + 1 holds [edge i, edge i + 1); 0 and the last: beyond the edges
        width = _EDGES[1] - _EDGES[0]
        bins = np.floor((z[usable] - _EDGES[0]) / width).astype(np.int64) + 1
        np.clip(bins, 0, len(_EDGES), out=bins)
        index = labels[usable].astype(np.int64) * self.counts.shape[1] + bins
        counts = np.bincount(index, minlength=self.counts.size).reshape(self.counts.shape)
        with self._lock:
            self.counts += counts

    def ratios(self) -> list[float]:
        """Per amplifier, the clipped standard deviation of the scaled half difference: 1
        when the master is as noisy as the read noise says; NaN without values."""
        return [_clipped_std_of_counts(row) for row in self.counts]


def _clipped_std_of_counts(counts: np.ndarray) -> float:
    """:func:`masterbias.stats.clipped_std` of binned values (bin centres; values beyond
    the edges counted at them)."""
    total = counts.sum()
    if total < 2:
        return float("nan")
    centres = np.concatenate([[_EDGES[0]], (_EDGES[:-1] + _EDGES[1:]) / 2, [_EDGES[-1]]])
    cumulative = np.cumsum(counts)
    median = centres[np.searchsorted(cumulative, total / 2)]
    deviation = np.abs(centres - median)
    order = np.argsort(deviation)
    mad = deviation[order][np.searchsorted(np.cumsum(counts[order]), total / 2)]
    width = _EDGES[1] - _EDGES[0]
    spread = max(mad * MAD_TO_STD, width)
    kept = deviation <= OUTLIER_SIGMAS * spread
    weights = counts * kept
    mean = np.sum(weights * centres) / weights.sum()
    variance = np.sum(weights * (centres - mean) ** 2) / weights.sum() - width**2 / 12.0
    return float(np.sqrt(max(variance, 0.0)))


@dataclass(frozen=True)
class Verification:
    """The verification of one amplifier of a master.

    Attributes
    ----------
    amplifier : str
    frames : int
        Frames combined.
    read_noise : float
        The noise of one frame's value, measured from frame pairs, ADU.
    expected_noise : float
        ``read_noise / sqrt(frames)``, ADU.
    noise : float
        The master's noise, measured (see the module), ADU.
    mean : float
        The master's clipped mean, ADU.
    pixels, columns, rows : int
        Pixels, whole columns and rows standing out by more than 5 sigma (see
        :func:`master_statistics`).
    rejected_fraction : float
        Values the combination rejected, of all.
    passed : bool
    reason : str
        Why it failed ('' when it passed).
    """

    amplifier: str
    frames: int
    read_noise: float
    expected_noise: float
    noise: float
    mean: float
    pixels: int
    columns: int
    rows: int
    rejected_fraction: float
    passed: bool
    reason: str

    def to_json(self) -> dict:
        return asdict(self)


def verify(amplifier, frames, read_noise, ratio, statistics, rejected_fraction) -> Verification:
    """A :class:`Verification` from the measurements: the noise ratio of the half
    difference, the master's own statistics (:func:`master_statistics`)."""
    expected = read_noise / np.sqrt(frames)
    noise = ratio * expected
    reasons = []
    if not np.isfinite(ratio):
        reasons.append("its noise cannot be measured (fewer than two frames)")
    elif ratio > NOISE_TOLERANCE:
        reasons.append(
            f"its noise {noise:.3f} ADU is {ratio:.2f} x read noise / sqrt(N) "
            f"({expected:.3f} ADU): the frames differ by more than read noise"
        )
    if rejected_fraction > REJECTED_TOLERANCE:
        reasons.append(f"{100 * rejected_fraction:.2f} % of its values were rejected")
    return Verification(
        amplifier=amplifier, frames=frames, read_noise=float(read_noise),
        expected_noise=float(expected), noise=float(noise), mean=statistics["mean"],
        pixels=statistics["pixels"], columns=statistics["columns"], rows=statistics["rows"],
        rejected_fraction=float(rejected_fraction), passed=not reasons,
        reason="; ".join(reasons),
    )  # fmt: skip


@dataclass(frozen=True)
class StandOut:
    """What stands out of an image (a master, or the difference of two) by more than
    :data:`masterbias.stats.OUTLIER_SIGMAS` of its own noise.

    Attributes
    ----------
    noise : float
        The noise of one pixel, ADU.
    centre : float
        The median, ADU.
    mean : float
        The mean of the pixels that do not stand out, ADU.
    pixels, columns, rows, patches : int
        Pixels, whole columns, rows and blocks of :data:`PATCH` x :data:`PATCH` pixels
        standing out.
    """

    noise: float
    centre: float
    mean: float
    pixels: int
    columns: int
    rows: int
    patches: int


def _outliers(values: np.ndarray, floor: float) -> int:
    """How many of ``values`` (a profile of medians) lie beyond ``OUTLIER_SIGMAS`` of
    their spread from their median; the spread is the larger of their own spread and
    ``floor`` (their noise if the image were white noise).

    Their own spread is the clipped standard deviation (:func:`masterbias.stats.clipped_std`),
    not 1.4826 x MAD: medians of digitised values take few distinct values, and the MAD of
    such values is quantised (masters of ten 1024 x 1024 frames: 0.148 where the medians
    scatter by 0.18 ADU, and one night in seven flagged for a patch that was noise)."""
    values = values[np.isfinite(values)]
    if values.size < 3:
        return 0
    centre = np.median(values)
    spread = max(clipped_std(values), floor)
    return int(np.count_nonzero(np.abs(values - centre) > OUTLIER_SIGMAS * spread))


#: Rows read at a time (a multiple of PATCH): the statistics do not depend on how the
#: image was combined, and one block of a 4k-wide image is 8 MB of float64.
CHUNK_ROWS = 256


@dataclass(frozen=True)
class _Block:
    """What :func:`stand_out` gathers from one block of rows."""

    pixels: int
    kept_sum: float
    kept_count: int
    row_medians: np.ndarray
    column_medians: np.ndarray
    patch_medians: np.ndarray


def _block_statistics(block: np.ndarray, centre: float, noise: float) -> _Block:
    median = np.nanmedian if np.isnan(block).any() else np.median
    with np.errstate(invalid="ignore"):
        distance = np.abs(block - centre)
        near = distance <= OUTLIER_SIGMAS * noise
        tall, wide = block.shape[0] // PATCH, block.shape[1] // PATCH
        patches = np.zeros(0)
        if tall and wide:
            tiles = block[: tall * PATCH, : wide * PATCH].reshape(tall, PATCH, wide, PATCH)
            patches = median(tiles.transpose(0, 2, 1, 3).reshape(tall * wide, -1), axis=1)
        return _Block(
            pixels=int(np.count_nonzero(distance > OUTLIER_SIGMAS * noise)),  # NaN: neither
            kept_sum=float(block[near].sum()),
            kept_count=int(np.count_nonzero(near)),
            row_medians=median(block, axis=1),
            # along the contiguous axis of a transposed copy: half the time of axis 0
            column_medians=median(np.ascontiguousarray(block.T), axis=1),
            patch_medians=patches,
        )


def stand_out(
    read_rows, shape: tuple[int, int], noise: float | None = None, workers: int = 1
) -> StandOut:
    """Pixels, columns, rows and patches of an image that stand out, and the mean of the
    rest, reading the image in blocks of :data:`CHUNK_ROWS` rows.

    A pixel stands out when it lies more than ``OUTLIER_SIGMAS`` (:mod:`masterbias.stats`)
    x ``noise`` from the median (``noise``: the clipped std of the image when not given;
    both from a regular grid of its pixels).  A column, a row or a patch stands out when
    its median (for a column, the median of its blocks' medians) lies beyond
    ``OUTLIER_SIGMAS`` of the spread of such medians, taken as the larger of their robust
    spread and their noise if the image were white: a few pixels hit by a cosmic ray move
    no median; a bad column, a row or a patch does.

    Parameters
    ----------
    read_rows : callable
        ``read_rows(first, end)`` returns rows ``first:end`` of the image; it is only
        called from the calling thread.
    shape : (rows, columns)
    noise : float, optional
    workers : int
        Threads that take the statistics of the blocks, read one after the other.
    """
    rows, columns = shape
    step = max(1, int(np.sqrt(rows * columns / 250_000)))
    sample = np.concatenate([
        np.asarray(read_rows(first, min(first + 1, rows)), dtype=np.float64)[:, ::step].ravel()
        for first in range(0, rows, step)
    ])  # fmt: skip
    sample = sample[np.isfinite(sample)]
    if sample.size < 2:
        return StandOut(float("nan"), float("nan"), float("nan"), 0, 0, 0, 0)
    centre = float(np.median(sample))
    noise = clipped_std(sample) if noise is None or not np.isfinite(noise) else noise
    blocks, pending = [], deque()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for first in range(0, rows, CHUNK_ROWS):
            block = np.asarray(read_rows(first, min(first + CHUNK_ROWS, rows)), np.float64)
            pending.append(pool.submit(_block_statistics, block, centre, noise))
            del block
            if len(pending) > workers:  # at most workers + 1 blocks in memory
                blocks.append(pending.popleft().result())
        blocks.extend(future.result() for future in pending)
    with np.errstate(invalid="ignore"):
        columns_profile = np.nanmedian(np.array([b.column_medians for b in blocks]), axis=0)
    kept = sum(b.kept_count for b in blocks)
    # a median of n values has the noise of MEDIAN_ERROR sigma / sqrt(n); a median of
    # block medians about 1.6 sigma / sqrt(n)
    return StandOut(
        noise=float(noise),
        centre=centre,
        mean=sum(b.kept_sum for b in blocks) / kept if kept else float("nan"),
        pixels=sum(b.pixels for b in blocks),
        columns=_outliers(columns_profile, 1.6 * noise / np.sqrt(rows)),
        rows=_outliers(
            np.concatenate([b.row_medians for b in blocks]),
            MEDIAN_ERROR * noise / np.sqrt(columns),
        ),
        patches=_outliers(
            np.concatenate([b.patch_medians for b in blocks]), MEDIAN_ERROR * noise / PATCH
        ),
    )


def master_statistics(read_rows, shape: tuple[int, int], noise: float, workers: int = 1) -> dict:
    """The mean and what stands out of one amplifier's part of a master (``noise``: the
    master's noise, measured; ``read_rows`` and ``workers`` as for :func:`stand_out`)."""
    usable = noise if np.isfinite(noise) and noise > 0 else None
    found = stand_out(read_rows, shape, usable, workers)
    return {"mean": found.mean, "pixels": found.pixels, "columns": found.columns,
            "rows": found.rows}  # fmt: skip
