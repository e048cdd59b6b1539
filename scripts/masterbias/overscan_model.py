"""Smooth models of the overscan level along the readout, fitted with iterative rejection.

IRAF's ccdproc fits the overscan vector with a function (Legendre or Chebyshev polynomial,
cubic spline) of chosen order, rejecting deviant points over a few iterations; the fitted
curve, not the noisy per-row values, is subtracted.  With few overscan pixels per row (or
few overscan rows per column) this removes most of the noise the correction would add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev, legendre

from .config import Settings

__all__ = ["OverscanModel", "fit_levels"]


@dataclass(frozen=True)
class OverscanModel(Settings):
    """A model of the overscan vector.

    Attributes
    ----------
    function : {'none', 'legendre', 'chebyshev', 'spline3'}
        ``none`` subtracts the per-row (per-column) values as they are.
    order : int
        Number of polynomial terms (IRAF's order: 1 is a constant), or of cubic spline
        pieces.
    low_reject, high_reject : float
        Rejection thresholds in units of the fit's rms residual.
    iterations : int
        Rejection passes; 0 for none.
    """

    section = ("overscan", "model")

    function: str
    order: int
    low_reject: float
    high_reject: float
    iterations: int

    @classmethod
    def from_config(cls, block: dict) -> OverscanModel:
        """From the config's ``overscan.model`` block (complete, as the schema fills it)."""
        return cls(
            function=block["function"],
            order=int(block["order"]),
            low_reject=float(block["low_reject"]),
            high_reject=float(block["high_reject"]),
            iterations=int(block["iterations"]),
        )

    def describe(self) -> str:
        if self.function == "none":
            return "per-line values"
        return (
            f"{self.function} fit of order {self.order}, rejecting beyond "
            f"-{self.low_reject}/+{self.high_reject} rms over {self.iterations} iterations"
        )


def _spline_basis(x: np.ndarray, pieces: int) -> np.ndarray:
    """Cubic B-spline basis on [0, 1] with ``pieces`` equal intervals (Cox-de Boor)."""
    degree = 3
    inner = np.linspace(0.0, 1.0, pieces + 1)
    knots = np.concatenate([[0.0] * degree, inner, [1.0] * degree])
    count = len(knots) - 1
    basis = np.zeros((x.size, count))
    for i in range(count):
        upper = (x < knots[i + 1]) | ((knots[i + 1] == 1.0) & (x == 1.0) & (knots[i] < 1.0))
        basis[:, i] = (knots[i] <= x) & upper
    for d in range(1, degree + 1):
        next_basis = np.zeros((x.size, count - d))
        for i in range(count - d):
            left = knots[i + d] - knots[i]
            right = knots[i + d + 1] - knots[i + 1]
            term = np.zeros(x.size)
            if left > 0:
                term += (x - knots[i]) / left * basis[:, i]
            if right > 0:
                term += (knots[i + d + 1] - x) / right * basis[:, i + 1]
            next_basis[:, i] = term
        basis = next_basis
    return basis


def _fit_once(x: np.ndarray, y: np.ndarray, keep: np.ndarray, model: OverscanModel):
    if model.function == "legendre":
        return legendre.Legendre.fit(x[keep], y[keep], model.order - 1, domain=[0, 1])(x)
    if model.function == "chebyshev":
        return chebyshev.Chebyshev.fit(x[keep], y[keep], model.order - 1, domain=[0, 1])(x)
    basis = _spline_basis(x, model.order)
    coefficients, *_ = np.linalg.lstsq(basis[keep], y[keep], rcond=None)
    return basis @ coefficients


def fit_levels(levels: np.ndarray, model: OverscanModel) -> tuple[np.ndarray, int]:
    """The model's curve through the per-line overscan ``levels``.

    Returns
    -------
    fitted : ndarray of float64
        The curve at every line (``levels`` unchanged for ``function='none'``).
    rejected : int
        How many lines the last fit left out.
    """
    levels = np.asarray(levels, dtype=np.float64)
    if model.function == "none":
        return levels, 0
    x = np.linspace(0.0, 1.0, levels.size) if levels.size > 1 else np.zeros(1)
    keep = np.isfinite(levels)
    fitted = _fit_once(x, levels, keep, model)
    for _ in range(model.iterations):
        residual = levels - fitted
        rms = np.sqrt(np.mean(residual[keep] ** 2))
        if rms == 0:
            break
        new_keep = np.isfinite(levels) & (residual >= -model.low_reject * rms)
        new_keep &= residual <= model.high_reject * rms
        if np.array_equal(new_keep, keep) or new_keep.sum() <= model.order:
            break
        keep = new_keep
        fitted = _fit_once(x, levels, keep, model)
    return fitted, int((~keep).sum())
