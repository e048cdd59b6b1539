"""Stacks for the tests and the benchmarks: calibrated frames combined outside a run, and
how well a rejection did on a stack of known truth (masterbias.synth.make_outlier_stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fitsio
import numpy as np

from masterbias.combine import CombineSettings
from masterbias.fitsfile import atomic_output, cfitsio_paths, check_fits_complete
from masterbias.keywords import Planes
from masterbias.stacking import CombinedExtension, combine_extension
from masterbias.synth import OutlierStack


def stack_and_combine(
    paths: list[str],
    output: str | Path,
    settings: CombineSettings,
    mem_limit: int,
    workers: int,
    header: fitsio.FITSHDR,
    log=None,
) -> CombinedExtension:
    """Combine the primary images of calibrated frames into a master bias FITS, written
    atomically: the data in the primary HDU, then ``UNCERT``, ``MASK``, ``REJECTED``
    (:func:`combine_extension`)."""
    if not paths:
        raise ValueError("no calibrated frames to combine")
    with cfitsio_paths(paths) as literal:
        with atomic_output(output, check=check_fits_complete) as temporary:
            with fitsio.FITS(str(temporary), "rw", clobber=True) as out:
                return combine_extension(literal, paths, 0, out, str(temporary),
                                         Planes.of(None), header, settings, mem_limit,
                                         workers, log)  # fmt: skip


@dataclass(frozen=True)
class RejectionScore:
    """How a rejection did on an :class:`OutlierStack`.

    Attributes
    ----------
    false_fraction : float
        Good values rejected / good values.
    touched_fraction : float
        Clean pixels (no outlier planted) with at least one value rejected / clean pixels.
    missed : int
        Planted outliers kept.
    planted : int
    noise_ratio : float
        Standard deviation of (master - truth) over sigma / sqrt(frames): 1 is ideal.
    """

    false_fraction: float
    touched_fraction: float
    missed: int
    planted: int
    noise_ratio: float


def score_rejection(case: OutlierStack, rejected: np.ndarray, master: np.ndarray) -> RejectionScore:
    """Score a rejection mask and the master made with it against the truth."""
    good = ~case.planted
    frames = case.stack.shape[0]
    residual = np.asarray(master, dtype=np.float64) - case.truth
    clean = ~case.planted.any(axis=0)
    return RejectionScore(
        false_fraction=float((rejected & good).sum() / good.sum()),
        touched_fraction=float((rejected.any(axis=0) & clean).sum() / clean.sum()),
        missed=int((case.planted & ~rejected).sum()),
        planted=int(case.planted.sum()),
        noise_ratio=float(np.std(residual) / (case.sigma / np.sqrt(frames))),
    )
