"""Overscan models: fits along the readout with iterative rejection, on planted curves."""

import numpy as np
import pytest

from masterbias.calibration import calibrate_frame
from masterbias.config import default_config
from masterbias.layout import LayoutSpec
from masterbias.overscan_model import OverscanModel, fit_levels

ROWS = 400


def planted(seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, ROWS)
    curve = 1000 + 8 * x - 5 * x**2
    levels = curve + rng.normal(0, 0.5, ROWS)
    levels[[17, 150, 321]] += [40.0, -35.0, 60.0]  # lines hit by something
    return curve, levels


@pytest.mark.parametrize("function", ["legendre", "chebyshev"])
def test_polynomial_fit_follows_the_curve_and_rejects_the_bad_lines(function):
    curve, levels = planted()
    fitted, rejected = fit_levels(levels, OverscanModel.default(function=function, order=3))
    assert rejected >= 3
    assert np.max(np.abs(fitted - curve)) < 0.25  # noise 0.5 per line, 400 lines
    plain, _ = fit_levels(levels, OverscanModel.default(function=function, order=3, iterations=0))
    assert np.max(np.abs(plain - curve)) > np.max(np.abs(fitted - curve))


def test_legendre_and_chebyshev_span_the_same_polynomials():
    _, levels = planted(1)
    a, _ = fit_levels(levels, OverscanModel.default(function="legendre", order=4))
    b, _ = fit_levels(levels, OverscanModel.default(function="chebyshev", order=4))
    np.testing.assert_allclose(a, b, atol=1e-8)


def test_cubic_spline_follows_a_wiggle_a_low_polynomial_cannot():
    x = np.linspace(0, 1, ROWS)
    curve = 1000 + 3 * np.sin(2 * np.pi * 2 * x)
    levels = curve + np.random.default_rng(2).normal(0, 0.3, ROWS)
    spline, _ = fit_levels(levels, OverscanModel.default(function="spline3", order=8))
    line, _ = fit_levels(levels, OverscanModel.default(function="legendre", order=2))
    assert np.max(np.abs(spline - curve)) < 0.3
    assert np.max(np.abs(line - curve)) > 2


def test_order_one_is_a_constant_and_none_keeps_the_values():
    _, levels = planted(3)
    constant, _ = fit_levels(levels, OverscanModel.default(function="legendre", order=1))
    assert np.ptp(constant) < 1e-9
    same, rejected = fit_levels(levels, OverscanModel.default(function="none"))
    assert same is not None and rejected == 0
    np.testing.assert_array_equal(same, levels)


def test_a_model_in_the_calibration_subtracts_the_smooth_curve():
    curve, levels = planted(4)
    frame = np.zeros((ROWS, 60))
    frame[:, :40] = curve[:, None] + 7.0  # light: level + a flat 7 ADU
    frame[:, 40:] = levels[:, None]  # overscan columns all at the row's measured level
    model = {"function": "legendre", "order": 3}
    spec = LayoutSpec.from_config(default_config(
        overscan={"method": "median", "region": "[41:60,*]", "model": model},
        trim={"region": "[1:40,*]"},
    ))  # fmt: skip
    layout = spec.resolve({}, frame.shape, "f")
    image = calibrate_frame(frame, layout, np.float64).image
    assert np.max(np.abs(image - 7.0)) < 0.3
    assert calibrate_frame(frame, layout).amplifiers[0].rejected_lines >= 3
