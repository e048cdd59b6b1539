"""Overscan subtraction and trimming of one frame: planted values and ccdproc's numbers."""

import warnings

import numpy as np
import pytest

from masterbias.calibration import calibrate_frame
from masterbias.errors import ConfigError, FrameError
from masterbias.layout import LayoutSpec
from masterbias.synth import CAMERAS, make_frame, make_truth, quantise

ROWS, COLS = 30, 40  # light area [1:32,*], overscan [33:40,*]


def planted_frame():
    """A uint16 frame whose overscan holds known per-row levels and whose light holds
    level + a known pattern."""
    rng = np.random.default_rng(3)
    levels = 1000 + np.arange(ROWS) * 3  # a row drift the per-row median must follow
    pattern = rng.integers(-20, 20, size=(ROWS, 32))
    frame = np.empty((ROWS, COLS), dtype=np.uint16)
    frame[:, :32] = levels[:, None] + pattern
    noise = np.array([-3, -1, 0, 0, 0, 0, 1, 5])  # median 0, mean 0.25
    frame[:, 32:] = levels[:, None] + rng.permuted(np.tile(noise, (ROWS, 1)), axis=1)
    return frame, levels, pattern


def spec(method="median", overscan="[33:40,*]", trim="[1:32,*]"):
    return LayoutSpec.default(overscan_method=method, overscan_region=overscan, trim_region=trim)


def test_per_row_median_is_removed_exactly():
    frame, levels, pattern = planted_frame()
    np.testing.assert_array_equal(np.median(frame[:, 32:], axis=1), levels)
    layout = spec().resolve({}, frame.shape, "planted.fits")
    result = calibrate_frame(frame, layout)
    assert result.image.dtype == np.float32
    assert result.image.shape == (ROWS, 32)
    np.testing.assert_array_equal(result.image, pattern.astype(np.float32))
    record = result.amplifiers[0]
    assert record.level == np.median(levels)
    assert (record.level_min, record.level_max) == (levels.min(), levels.max())
    assert record.overscan == "[33:40,1:30]" and record.light == "[1:32,1:30]"


def test_median_survives_a_bad_overscan_column_that_a_mean_does_not():
    frame, levels, pattern = planted_frame()
    frame[:, 39] = 300  # a dead last column, as on Lowell's NASA42
    median = calibrate_frame(frame, spec().resolve({}, frame.shape, "f")).image
    mean = calibrate_frame(frame, spec("mean").resolve({}, frame.shape, "f")).image
    np.testing.assert_array_equal(median, pattern.astype(np.float32))
    expected_mean = frame[:, :32] - frame[:, 32:].mean(axis=1)[:, None]
    np.testing.assert_array_equal(mean, expected_mean.astype(np.float32))
    assert np.all(mean > pattern + 50)


def test_trim_only_keeps_raw_values_of_the_light_area():
    frame, _, _ = planted_frame()
    layout = spec(method="none").resolve({}, frame.shape, "f")
    result = calibrate_frame(frame, layout)
    np.testing.assert_array_equal(result.image, frame[:, :32].astype(np.float32))
    assert result.amplifiers[0].overscan is None


def test_no_overscan_no_trim_is_the_raw_frame_as_float32():
    frame, _, _ = planted_frame()
    layout = spec(method="none", trim="none").resolve({}, frame.shape, "f")
    result = calibrate_frame(frame, layout)
    assert result.image.dtype == np.float32
    np.testing.assert_array_equal(result.image, frame.astype(np.float32))


def test_overscan_without_trim_keeps_the_whole_frame():
    frame, levels, _ = planted_frame()
    layout = spec(trim="none").resolve({}, frame.shape, "f")
    result = calibrate_frame(frame, layout)
    np.testing.assert_array_equal(result.image, (frame - levels[:, None]).astype(np.float32))


def test_float64_output_on_request():
    frame, _, pattern = planted_frame()
    result = calibrate_frame(frame, spec().resolve({}, frame.shape, "f"), np.float64)
    assert result.image.dtype == np.float64


def test_regions_from_the_header():
    frame, _, pattern = planted_frame()
    header = {"BIASSEC": "[ 33: 40,  1: 30]", "DATASEC": "[1:32,1:30]"}
    layout = spec(overscan="header", trim="header").resolve(header, frame.shape, "f")
    np.testing.assert_array_equal(calibrate_frame(frame, layout).image, pattern)
    header["TRIMSEC"] = "[2:31,1:30]"  # TRIMSEC wins over DATASEC
    layout = spec(overscan="header", trim="header").resolve(header, frame.shape, "f")
    assert layout.output_shape == (30, 30)


@pytest.mark.parametrize(
    "kwargs, header, message",
    [
        ({"overscan": "header"}, {}, "has no BIASSEC"),
        ({"trim": "header"}, {}, "has no TRIMSEC or DATASEC"),
        ({"overscan": "[33:41,*]"}, {}, "outside the image"),
        ({"overscan": "[33:40,1:10]"}, {}, "needs rows 1:30"),
        ({"overscan": "[30:40,*]"}, {}, "overlaps the light region"),
        ({"overscan": "header"}, {"BIASSEC": "[33:40"}, "header BIASSEC.*malformed"),
    ],
)
def test_bad_regions_name_the_file_and_the_reason(kwargs, header, message):
    with pytest.raises(FrameError, match=message) as caught:
        spec(**kwargs).resolve(header, (ROWS, COLS), "night/b1.fits")
    assert str(caught.value).startswith("night/b1.fits: ")


def test_overscan_method_needs_a_region():
    with pytest.raises(ConfigError, match="overscan.region"):
        spec(overscan="none").resolve({}, (ROWS, COLS), "f")


def test_layout_log_shows_fits_and_numpy_forms():
    lines = spec().resolve({}, (ROWS, COLS), "f").describe()
    assert "overscan (median) FITS [33:40,1:30] = numpy [0:30, 32:40]" in " ".join(lines)


@pytest.mark.parametrize("camera", ["small", "wide", "palomar_lfc"])
@pytest.mark.parametrize("median", [True, False])
def test_equals_ccdproc_cast_to_float32(camera, median):
    ccdproc = pytest.importorskip("ccdproc")
    from astropy.nddata import CCDData

    from masterbias.sections import parse_section

    model = CAMERAS[camera]
    raw = quantise(make_frame(model, make_truth(model, 5), np.random.default_rng(1)), "uint16")
    region = model.clean_overscan
    columns = parse_section(region, raw.shape).slices[1]
    light = parse_section(model.light, raw.shape)
    ccd = CCDData(raw, unit="adu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ccdproc.subtract_overscan(ccd, overscan=ccd[:, columns], median=median)
        expected = ccdproc.trim_image(expected[light.slices])
    method = "median" if median else "mean"
    result = calibrate_frame(raw, spec(method, region, light.fits).resolve({}, raw.shape, "f"))
    if median:
        np.testing.assert_array_equal(result.image, expected.data.astype(np.float32))
    else:
        expected32 = expected.data.astype(np.float32)
        np.testing.assert_allclose(result.image, expected32, rtol=0, atol=1e-4)
