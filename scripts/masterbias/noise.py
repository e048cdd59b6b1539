"""The noise model of a set of calibrated biases: each amplifier's read noise, measured.

A bias differs from another bias of the same night by noise alone: the fixed pattern (hot
columns, structure, the bias level left after the overscan) cancels in their difference.
The robust, clipped standard deviation of the difference of two frames, divided by sqrt(2),
is the noise of one value, with everything the calibration added to it (the per-row
overscan estimate, the digitisation).  It is what ``ccdclip`` rejection divides by.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import keywords as kw
from .sections import Section, parse_section
from .stats import clipped_std, sample_grid

__all__ = ["AmplifierRegions", "NoiseModel", "difference_noise", "measure_noise"]

#: Pairs of frames the noise is measured on, at most: their median is good to a fraction
#: of a percent, and a night of hundreds of frames is not read twice.
MAX_PAIRS = 16


@dataclass(frozen=True)
class AmplifierRegions:
    """Where each amplifier's pixels are in a calibrated image.

    Attributes
    ----------
    names : tuple of str
    sections : tuple of Section
        In the calibrated image's coordinates.
    """

    names: tuple[str, ...]
    sections: tuple[Section, ...]

    @classmethod
    def from_header(cls, header, shape: tuple[int, int]) -> AmplifierRegions:
        """From the ``AMPSECn`` cards the calibration writes; one region for the whole
        image when there are none."""
        names, sections = [], []
        index = 1
        while kw.AMPSEC.read(header, index) is not None:
            sections.append(parse_section(kw.AMPSEC.read(header, index), shape))
            names.append(str(index))
            index += 1
        if not sections:
            return cls(("1",), (Section(1, shape[1], 1, shape[0]),))
        return cls(tuple(names), tuple(sections))

    def labels(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """The amplifier index (from 0; -1 for none) of each pixel of the grid
        ``rows x columns`` (0-based indices of the calibrated image)."""
        rows, columns = np.asarray(rows), np.asarray(columns)
        labels = np.full((rows.size, columns.size), -1, dtype=np.int16)
        for index, section in enumerate(self.sections):
            in_rows = (rows >= section.y1 - 1) & (rows < section.y2)
            in_columns = (columns >= section.x1 - 1) & (columns < section.x2)
            labels[np.ix_(in_rows, in_columns)] = index
        return labels


@dataclass(frozen=True)
class NoiseModel:
    """The noise of one calibrated value, per amplifier, ADU.

    Attributes
    ----------
    regions : AmplifierRegions
    sigmas : tuple of float
        One per region.
    source : str
        How the numbers were obtained (for the header and the log).
    pairs : tuple
        ``(first, second, sigmas)`` of each pair of frames measured (indices in the set),
        when measured from the frames.
    """

    regions: AmplifierRegions
    sigmas: tuple[float, ...]
    source: str
    pairs: tuple = ()

    def spread(self, labels: np.ndarray) -> np.ndarray:
        """The noise of each pixel, from its amplifier (:meth:`AmplifierRegions.labels`)."""
        table = np.append(np.asarray(self.sigmas, dtype=np.float64), np.nan)
        return table[labels]  # label -1 (no amplifier) picks the NaN: nothing is rejected

    def describe(self) -> list[str]:
        return [
            f"amplifier {name} {section.fits}: noise {sigma:.4f} ADU ({self.source})"
            for name, section, sigma in zip(
                self.regions.names, self.regions.sections, self.sigmas, strict=True
            )
        ]


def difference_noise(first: np.ndarray, second: np.ndarray) -> float:
    """The noise of one value from two frames: the clipped standard deviation of their
    difference / sqrt(2), ADU (:func:`masterbias.stats.clipped_std`).

    The clip leaves out an offset between the frames, cosmic rays and flickering pixels;
    the standard deviation of what is left (not the MAD) keeps the digitisation noise of
    integer data in.
    """
    difference = np.asarray(second, dtype=np.float64) - np.asarray(first, dtype=np.float64)
    return clipped_std(difference) / np.sqrt(2.0)


def measure_noise(
    read_grid, count: int, regions: AmplifierRegions, shape, workers: int = 1
) -> NoiseModel:
    """Each amplifier's noise: the median over consecutive pairs of frames (at most
    :data:`MAX_PAIRS`, spread through the set) of :func:`difference_noise`, on a regular
    grid of about SAMPLE_PIXELS pixels.

    Parameters
    ----------
    read_grid : callable
        ``read_grid(index, rows, columns)`` returns frame ``index`` at the grid given by
        two slices; it is only called from the calling thread.
    count : int
        Number of frames (at least 2).
    regions : AmplifierRegions
    shape : (rows, columns)
    workers : int
        Threads that measure the pairs, read one after the other.

    Returns
    -------
    NoiseModel
    """
    if count < 2:
        raise ValueError("the noise of a set of frames needs at least two frames")
    rows, columns = sample_grid(shape)
    labels = regions.labels(np.arange(shape[0])[rows], np.arange(shape[1])[columns])
    amplifiers = [labels == amp for amp in range(len(regions.names))]
    used = min(MAX_PAIRS, count - 1)
    firsts = sorted({k * (count - 1) // used for k in range(used)})

    def pair_noise(previous, current):
        return tuple(difference_noise(previous[amp], current[amp]) for amp in amplifiers)

    futures = []
    current, read = None, None
    workers = max(1, workers)
    with ThreadPoolExecutor(workers) as pool:
        for first in firsts:
            # a pair is read while the workers measure others, never further ahead: the
            # grids in memory are those of the pairs being measured
            if len(futures) >= workers:
                futures[-workers].result()
            # consecutive pairs share a frame: it is read once
            previous = current if read == first else read_grid(first, rows, columns)
            current, read = read_grid(first + 1, rows, columns), first + 1
            futures.append(pool.submit(pair_noise, previous, current))
        measured = [(first, first + 1, future.result())
                    for first, future in zip(firsts, futures, strict=True)]  # fmt: skip
    sigmas = tuple(float(np.nanmedian([pair[2][amp] for pair in measured]))
                   for amp in range(len(regions.names)))  # fmt: skip
    return NoiseModel(regions, sigmas, f"median of {len(measured)} frame differences",
                      tuple(measured))  # fmt: skip
