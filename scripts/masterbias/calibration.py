"""Calibrating one raw bias: overscan subtraction per amplifier, then trimming."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layout import FrameLayout
from .overscan import overscan_levels, overscan_noise, parallel_levels
from .overscan_model import fit_levels
from .stats import light_statistics

__all__ = ["AmplifierRecord", "CalibrationResult", "calibrate_frame", "readout_problem"]

#: Rows of the image made at a time: a block of a 2k-wide frame's float64 difference
#: (1 MB) stays in cache, and no frame-sized temporary array is made.
ROWS_PER_BLOCK = 64


@dataclass(frozen=True)
class AmplifierRecord:
    """What was done to one amplifier, for the header and the log.

    Attributes
    ----------
    name : str
    light : str
        FITS section of the raw pixels kept.
    output : str
        FITS section of the calibrated image they fill.
    overscan : str or None
        FITS section of the overscan used, in raw coordinates.
    level : float or None
        Median over rows of the per-row overscan level subtracted, ADU.
    level_min, level_max : float or None
        Range of the per-row levels, ADU: their spread is the row drift that a single
        number would have left in the frame.
    noise : float or None
        Robust standard deviation of the overscan about the row levels (read noise), ADU.
    parallel : str or None
        FITS section of the parallel overscan rows used, raw coordinates.
    parallel_level : float or None
        Median over columns of the per-column level subtracted, ADU.
    rejected_lines : int
        Rows the overscan model's fit left out as deviant (0 without a model).
    rows : ndarray of int or None
        Raw row numbers (1-based) of the kept light rows.
    row_levels : ndarray of float64 or None
        The serial overscan level subtracted from each of those rows, ADU.
    """

    name: str
    light: str
    output: str
    overscan: str | None = None
    level: float | None = None
    level_min: float | None = None
    level_max: float | None = None
    noise: float | None = None
    parallel: str | None = None
    parallel_level: float | None = None
    rejected_lines: int = 0
    rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    row_levels: np.ndarray | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        """One log line."""
        parallel = (
            f"; parallel overscan {self.parallel} level {self.parallel_level:.3f} ADU"
            if self.parallel is not None
            else ""
        )
        if self.overscan is None:
            return f"amplifier {self.name}: no serial overscan{parallel}; kept {self.light}"
        return (
            f"amplifier {self.name}: overscan {self.overscan} level {self.level:.3f} ADU "
            f"(rows {self.level_min:.3f}..{self.level_max:.3f}), noise {self.noise:.3f} ADU; "
            f"kept {self.light} -> {self.output}{parallel}"
        )


@dataclass(frozen=True)
class CalibrationResult:
    """A calibrated image, the record of how it was made, and its light statistics
    (:func:`masterbias.stats.light_statistics`).

    Attributes
    ----------
    image : ndarray
    method : str
        The overscan method.
    amplifiers : tuple of AmplifierRecord
    statistics : dict
    problem : str or None
        Why the readout cannot be used (:func:`readout_problem`), or None.
    blank : int
        Pixels that were BLANK in the raw image (NaN in the calibrated one).
    """

    image: np.ndarray
    method: str
    amplifiers: tuple[AmplifierRecord, ...]
    statistics: dict
    problem: str | None
    blank: int


#: A readout is dead or saturated when more than this fraction of an amplifier's light
#: pixels read 0 or the converter's largest value: a bias has a few such pixels at most.
BAD_FRACTION = 0.01


def readout_problem(data: np.ndarray, layout: FrameLayout) -> str | None:
    """Why a raw bias cannot be used, or None: an amplifier that read 0 (dead), the
    converter's largest value (saturated) or one value everywhere (flat), judged on a
    regular grid of its light pixels.

    Parameters
    ----------
    data : ndarray
        The raw image in its stored type (BZERO applied).
    layout : FrameLayout
    """
    from .stats import sample_grid

    top = np.iinfo(data.dtype).max if data.dtype.kind in "ui" else None
    for amp in layout.amplifiers:
        light = data[amp.light.slices]
        sample = light[sample_grid(light.shape)]
        name = f"amplifier {amp.name}: " if len(layout.amplifiers) > 1 else ""
        zero = np.count_nonzero(sample == 0) / sample.size
        if zero > BAD_FRACTION:
            return f"{name}{100 * zero:.3g} % of its pixels read 0 (a dead readout)"
        if top is not None:
            full = np.count_nonzero(sample == top) / sample.size
            if full > BAD_FRACTION:
                return (f"{name}{100 * full:.3g} % of its pixels read {top}, the largest "
                        "value (saturated)")  # fmt: skip
        finite = sample[np.isfinite(sample)]
        if finite.size and finite.min() == finite.max():
            return f"{name}every pixel reads {finite.min()} (a flat readout)"
    return None


@dataclass(frozen=True)
class _Correction:
    """What is subtracted from one amplifier: a level per light row and per light column
    (None: nothing that way)."""

    rows: np.ndarray | None
    columns: np.ndarray | None


def calibrate_frame(
    data: np.ndarray,
    layout: FrameLayout,
    dtype: np.dtype | str = np.float32,
    blank: np.ndarray | None = None,
) -> CalibrationResult:
    """Subtract each amplifier's overscan row by row, trim, and assemble the image.

    The arithmetic is ccdproc's: ``data - level[:, None]`` in the type numpy promotes to
    (float64 for integer raw data), then the light section, then the cast to ``dtype``.
    With the median this equals ``subtract_overscan(ccd, overscan=..., median=True)``
    followed by ``trim_image`` and ``astype(dtype)``, bit for bit.

    The image is made in blocks of :data:`ROWS_PER_BLOCK` rows, each amplifier's part of
    a block in float64 and cast, so that no frame-sized float64 temporary is made.

    Parameters
    ----------
    data : ndarray
        Raw image as stored (e.g. uint16 with BZERO applied).
    layout : FrameLayout
        Regions resolved for this frame.
    dtype : dtype
        Type of the calibrated image.
    blank : ndarray of bool, optional
        Pixels without a value (FITS BLANK): NaN in the calibrated image, and left out of
        the overscan levels.

    Returns
    -------
    CalibrationResult
    """
    if data.shape != layout.raw_shape:
        raise ValueError(f"image shape {data.shape} is not the layout's {layout.raw_shape}")
    problem = readout_problem(data, layout)
    count = 0
    if blank is not None and blank.any():
        count = int(np.count_nonzero(blank))
        data = data.astype(np.float64)
        data[blank] = np.nan
    records, corrections = [], []
    for amp in layout.amplifiers:
        if layout.overscan_method == "none" or (amp.overscan is None and amp.parallel is None):
            records.append(AmplifierRecord(amp.name, amp.light.fits, amp.output.fits))
            corrections.append(_Correction(None, None))
            continue
        record, correction = _measure_amplifier(
            data, amp, layout.overscan_method, layout.overscan_model
        )
        records.append(record)
        corrections.append(correction)

    rows, columns = layout.output_shape
    image = np.empty((rows, columns), dtype=dtype)
    for first in range(0, rows, ROWS_PER_BLOCK):
        end = min(first + ROWS_PER_BLOCK, rows)
        part = image[first:end]
        for amp, correction in zip(layout.amplifiers, corrections, strict=True):
            _apply(data, amp, correction, first, end, part)
    return CalibrationResult(
        image=image,
        method=layout.overscan_method,
        amplifiers=tuple(records),
        statistics=light_statistics(image),
        problem=problem,
        blank=count,
    )


def _measure_amplifier(data, amp, method, model) -> tuple[AmplifierRecord, _Correction]:
    """One amplifier's serial (per row) and parallel (per column) overscan levels."""
    light = amp.light
    record = {"name": amp.name, "light": light.fits, "output": amp.output.fits}
    row_levels = col_levels = None
    if amp.overscan is not None:
        measured = overscan_levels(data, amp.overscan, method)
        levels, rejected = fit_levels(measured, model)
        first = light.y1 - amp.overscan.y1
        row_levels = levels[first : first + light.shape[0]]
        record.update(
            overscan=amp.overscan.fits,
            level=float(np.median(row_levels)),
            level_min=float(row_levels.min()),
            level_max=float(row_levels.max()),
            noise=overscan_noise(data, amp.overscan, measured),
            rejected_lines=rejected,
            rows=np.arange(light.y1, light.y2 + 1, dtype=np.int32),
            row_levels=np.asarray(row_levels, dtype=np.float64),
        )
    if amp.parallel is not None:
        rows = data[amp.parallel.slices]
        if amp.overscan is not None:  # the parallel rows are corrected row by row first
            first = amp.parallel.y1 - amp.overscan.y1
            rows = rows - levels[first : first + rows.shape[0], np.newaxis]
        column_levels, _ = fit_levels(parallel_levels(rows, method), model)
        first = light.x1 - amp.parallel.x1
        col_levels = column_levels[first : first + light.shape[1]]
        record.update(parallel=amp.parallel.fits, parallel_level=float(np.median(col_levels)))
    return AmplifierRecord(**record), _Correction(row_levels, col_levels)


def _apply(data, amp, correction, first, end, block) -> None:
    """Rows ``first:end`` of the output image, this amplifier's part, into ``block``."""
    top, bottom = max(first, amp.output.y1 - 1), min(end, amp.output.y2)
    if top >= bottom:
        return
    # the same rows of the amplifier's light, counted from its first
    light = slice(top - (amp.output.y1 - 1), bottom - (amp.output.y1 - 1))
    raw_rows = slice(amp.light.y1 - 1 + light.start, amp.light.y1 - 1 + light.stop)
    corrected = data[raw_rows, amp.light.slices[1]]
    if correction.rows is not None:
        corrected = corrected - correction.rows[light, np.newaxis]
    if correction.columns is not None:
        corrected = corrected - correction.columns[np.newaxis, :]
    block[top - first : bottom - first, amp.output.slices[1]] = corrected
