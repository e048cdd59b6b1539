"""Several amplifiers, serial and parallel overscans, on planted values."""

import numpy as np
import pytest

from masterbias.calibration import calibrate_frame
from masterbias.errors import FrameError
from masterbias.layout import LayoutSpec

ROWS, COLS = 40, 100  # two amplifiers: light 1-40 and 41-80, overscans 81-90 and 91-100


def two_amplifier_frame():
    rng = np.random.default_rng(5)
    pattern = rng.integers(-9, 10, size=(ROWS, 80)).astype(float)
    level_a = 500 + 2 * np.arange(ROWS)  # each amplifier drifts its own way
    level_b = 800 - 3 * np.arange(ROWS)
    frame = np.zeros((ROWS, COLS))
    frame[:, :40] = level_a[:, None] + pattern[:, :40]
    frame[:, 40:80] = level_b[:, None] + pattern[:, 40:]
    frame[:, 80:90] = level_a[:, None]
    frame[:, 90:100] = level_b[:, None]
    return frame.astype(np.uint16), pattern


AMPLIFIERS = (
    {"name": "A", "light": "[1:40,*]", "overscan": "[81:90,*]"},
    {"name": "B", "light": "[41:80,*]", "overscan": "[91:100,*]"},
)


def test_each_amplifier_is_corrected_by_its_own_overscan_and_assembled():
    frame, pattern = two_amplifier_frame()
    layout = LayoutSpec.default(overscan_method="median", amplifiers=AMPLIFIERS).resolve(
        {}, frame.shape, "kast.fits"
    )
    assert layout.output_shape == (ROWS, 80)
    result = calibrate_frame(frame, layout)
    np.testing.assert_array_equal(result.image, pattern.astype(np.float32))
    assert [amp.overscan for amp in result.amplifiers] == ["[81:90,1:40]", "[91:100,1:40]"]
    assert [amp.output for amp in result.amplifiers] == ["[1:40,1:40]", "[41:80,1:40]"]


def test_amplifiers_placed_in_any_order_land_where_their_light_was():
    frame, pattern = two_amplifier_frame()
    layout = LayoutSpec.default(overscan_method="median", amplifiers=AMPLIFIERS[::-1]).resolve(
        {}, frame.shape, "f"
    )
    np.testing.assert_array_equal(calibrate_frame(frame, layout).image, pattern)


def test_serial_then_parallel_overscan():
    rng = np.random.default_rng(6)
    pattern = rng.integers(-5, 6, size=(30, 50)).astype(float)
    rows = 100 + 4 * np.arange(36)  # per-row level, also in the overscan rows
    cols = 7 * np.sin(np.arange(56) / 5.0)  # per-column level, also in the prescan
    frame = rows[:, None] + cols[None, :]
    frame[:30, :50] += pattern
    frame = frame + 1000
    # serial prescan columns 51-56 carry the row level plus their own column level
    spec = LayoutSpec.default(overscan_method="mean", amplifiers=(
        {"light": "[1:50,1:30]", "overscan": "[51:56,*]", "parallel_overscan": "[1:50,31:36]"},
    ))  # fmt: skip
    layout = spec.resolve({}, frame.shape, "efosc.fits")
    image = calibrate_frame(frame, layout, np.float64).image
    # rows: mean of the prescan = row + mean(prescan column levels); columns: what is left
    # in the overscan rows, column by column; together they remove rows + cols exactly
    np.testing.assert_allclose(image, pattern, atol=1e-9)
    record = calibrate_frame(frame, layout).amplifiers[0]
    assert record.parallel == "[1:50,31:36]" and record.overscan == "[51:56,1:36]"


def test_parallel_overscan_alone():
    rng = np.random.default_rng(7)
    pattern = rng.integers(-5, 6, size=(30, 20)).astype(float)
    cols = 500 + 3 * np.arange(20)
    frame = np.tile(cols, (40, 1)).astype(float)
    frame[:30] += pattern
    amplifier = {"light": "[1:20,1:30]", "parallel_overscan": "[*,32:40]"}
    spec = LayoutSpec.default(overscan_method="median", amplifiers=(amplifier,))
    image = calibrate_frame(frame, spec.resolve({}, frame.shape, "alfosc.fits")).image
    np.testing.assert_array_equal(image, pattern)


@pytest.mark.parametrize(
    "amplifiers, message",
    [
        (({"light": "[1:40,*]"}, {"light": "[50:80,*]"}), "do not tile the rectangle"),
        (({"light": "[1:40,*]"}, {"light": "[30:80,*]"}), "do not tile the rectangle"),
        (({"light": "[1:40,1:30]", "overscan": "[81:90,1:20]"},), "need a per-row correction"),
        (({"light": "[1:40,1:30]", "parallel_overscan": "[1:30,35:40]"},), "needs columns 1:40"),
        (({"light": "[1:40,*]", "overscan": "[30:50,*]"},), "overlaps its light"),
    ],
)
def test_layout_mistakes_name_the_file(amplifiers, message):
    with pytest.raises(FrameError, match=message) as caught:
        LayoutSpec.default(overscan_method="median", amplifiers=amplifiers).resolve(
            {}, (ROWS, COLS), "night/x.fits"
        )
    assert str(caught.value).startswith("night/x.fits: ")
