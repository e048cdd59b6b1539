"""Rejection before the combination: the default's quality targets on planted outliers, the
noise model, every algorithm on planted values, and the first version's settings."""

import sys

import fitsio
import numpy as np
import pytest

from conftest import REPO
from masterbias.combine import CombineSettings, auto_threshold, combine_stack
from masterbias.config import default_config
from masterbias.errors import ConfigError
from masterbias.noise import AmplifierRegions, difference_noise, measure_noise
from masterbias.rejection import clip_with_spread, minmax_mask, pooled_row_spread
from masterbias.sections import parse_section
from masterbias.stacking import plan_bands
from masterbias.synth import make_outlier_stack
from stacks import score_rejection, stack_and_combine

DEFAULT = CombineSettings.default()
WHOLE = AmplifierRegions(("1",), (parse_section("[1:400,1:500]", (500, 400)),))


def measured_noise(stack):
    """The noise model measured as the combine job does, from the frames in memory."""
    frames = stack
    model = measure_noise(
        lambda index, rows, cols: frames[index][rows, cols], len(frames), WHOLE, (500, 400)
    )
    return model


@pytest.mark.parametrize("frames", [3, 4, 6, 10, 25])
def test_default_rejects_every_planted_outlier_and_almost_nothing_else(frames):
    case = make_outlier_stack((500, 400), frames, seed=frames, sigma=4.0)
    model = measured_noise(case.stack)
    assert model.sigmas[0] == pytest.approx(case.sigma, rel=0.01)
    spread = model.spread(model.regions.labels(np.arange(500), np.arange(400)))
    band = combine_stack(case.stack, DEFAULT, spread)
    rejected = band.rejected_per_frame.sum()
    assert rejected == band.rejected.sum()
    mask = _mask(case.stack, DEFAULT, spread)
    score = score_rejection(case, mask, band.data)
    assert score.planted == 200
    assert score.missed == 0  # every outlier of 10-30 sigma, at any number of frames
    assert score.false_fraction <= 1e-4  # at most 0.01 % of the good values
    assert score.noise_ratio < 1.01  # within 1 % of sigma / sqrt(N)


@pytest.mark.parametrize("frames", [3, 7, 20, 50])
def test_the_default_threshold_from_n_touches_at_most_001_percent_of_clean_pixels(frames):
    """0.01 % of clean pixels with any value rejected, at every N: 4 sigma at every N
    touched 0.044 % at N = 7 (0.0063 % per value, times N)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from rejection_table import score

    result = score(frames, DEFAULT, seed=200 + frames, shape=(700, 700))
    assert result.touched_fraction <= 1e-4
    assert result.missed == 0 and result.planted == 490  # outliers of 10-30 sigma
    assert auto_threshold(frames) == pytest.approx(
        {3: 4.31, 7: 4.49, 20: 4.71, 50: 4.89}[frames], abs=0.005
    )
    if frames == 7:
        fixed = score(frames, CombineSettings.default(low=4.0, high=4.0), 207, (700, 700))
        assert fixed.touched_fraction > 3e-4  # the previous default


def test_outliers_of_exactly_10_sigma_among_3_frames_are_rejected_but_for_a_few_in_10000():
    case = make_outlier_stack((1000, 1000), 3, seed=9, amplitude=(10.0, 10.0))
    mask = _mask(case.stack, DEFAULT, case.sigma)
    missed = int((case.planted & ~mask).sum())
    assert case.planted.sum() == 1000 and missed <= 1  # 6e-5 each: 0.06 expected


def _mask(stack, settings, spread=None):
    from masterbias.combine import reject_mask

    return reject_mask(stack, settings, spread)


def test_the_guides_clipping_is_much_worse_with_few_frames():
    # the reason for the new default: six frames, per-pixel median/MAD at 5 sigma
    case = make_outlier_stack((500, 400), 6, seed=6)
    guide = CombineSettings.default(method="average", reject="ccdproc", low=5.0, high=5.0)
    band = combine_stack(case.stack, guide)
    score = score_rejection(case, _mask(case.stack, guide), band.data)
    assert score.false_fraction > 0.005 and score.missed > 0


def first(stack):
    """A literal stack written pixel by pixel, ``[row][column][frame]``, frames first."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(stack), -1, 0))


def last(mask):
    """A mask back as ``[row][column][frame]``."""
    return np.moveaxis(mask, 0, -1)


def test_a_10_sigma_outlier_among_three_values_goes_not_the_good_ones():
    stack = np.array([[[0.0, 1.0, 40.0], [0.5, 40.0, -1.0], [-40.0, 0.0, 0.3]]])
    rejected = last(clip_with_spread(first(stack), 4.0, 4.0, 4.0))
    np.testing.assert_array_equal(rejected[0], [[0, 0, 1], [0, 1, 0], [1, 0, 0]])


def test_rejection_goes_one_value_at_a_time_and_keeps_two():
    # two outliers at one pixel of five values: both go; then with two values left
    # nothing more can be told apart
    stack = np.array([[[0.0, 0.5, -0.5, 100.0, 60.0]]])
    np.testing.assert_array_equal(
        last(clip_with_spread(first(stack), 1.0, 4.0, 4.0))[0, 0],
        [False, False, False, True, True],
    )
    pair = np.array([[[0.0, 100.0]]])
    assert not clip_with_spread(first(pair), 1.0, 4.0, 4.0).any()


def test_one_sided_thresholds_and_non_finite_values():
    stack = np.array([[[0.0, 0.2, -0.1, -30.0, 0.1], [0.0, np.nan, 0.1, 30.0, -0.2]]])
    only_high = last(clip_with_spread(first(stack), 1.0, None, 4.0))
    np.testing.assert_array_equal(only_high[0, 0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(only_high[0, 1], [0, 1, 0, 1, 0])


def test_pooled_spread_is_per_amplifier_and_ignores_outliers():
    rng = np.random.default_rng(2)
    stack = rng.normal(0, 1, (20, 300, 8))
    stack[:, 150:] *= 5.0  # the right amplifier is five times noisier
    stack[rng.random(stack.shape) < 0.002] += 1000.0  # 1.6 % of the pixels hit
    labels = np.zeros((20, 300), dtype=np.int16)
    labels[:, 150:] = 1
    spread = pooled_row_spread(first(stack), labels)
    assert np.allclose(spread[:, :150], 1.0, rtol=0.1)
    assert np.allclose(spread[:, 150:], 5.0, rtol=0.1)
    assert (spread[3, :150] == spread[3, 0]).all()


def test_avsigclip_meets_the_targets_with_ten_frames():
    case = make_outlier_stack((500, 400), 10, seed=11)
    settings = CombineSettings.default(reject="avsigclip")
    band = combine_stack(case.stack, settings)
    score = score_rejection(case, _mask(case.stack, settings), band.data)
    assert score.missed == 0 and score.false_fraction <= 1e-4 and score.noise_ratio < 1.01


def test_minmax_drops_the_extremes_of_every_pixel():
    stack = first([[[3.0, 1.0, 2.0, 9.0, 5.0], [np.nan, 7.0, 1.0, 4.0, 2.0]]])
    np.testing.assert_array_equal(last(minmax_mask(stack, 1, 1))[0, 0], [0, 1, 0, 1, 0])
    np.testing.assert_array_equal(last(minmax_mask(stack, 1, 1))[0, 1], [1, 1, 1, 0, 0])
    band = combine_stack(stack, CombineSettings.default(reject="minmax", nlow=1, nhigh=2))
    assert band.data[0, 0] == pytest.approx(2.5)  # 2 and 3 kept
    assert minmax_mask(first([[[1.0, 2.0]]]), 3, 3).sum() == 1  # one value always stays


def test_difference_noise_keeps_the_digitisation_and_drops_cosmic_rays():
    rng = np.random.default_rng(5)
    pattern = rng.normal(100, 30, 200_000)
    first = np.round(pattern + rng.normal(0, 1.0, pattern.size))
    second = np.round(pattern + rng.normal(0, 1.0, pattern.size) + 7.0)  # another level
    second[::500] += 3000.0
    assert difference_noise(first, second) == pytest.approx(np.sqrt(1 + 1 / 12), rel=0.01)


def test_noise_model_per_amplifier_from_the_header(tmp_path):
    rng = np.random.default_rng(9)
    header = {"AMPSEC1": "[1:50,1:40]", "AMPSEC2": "[51:100,1:40]"}
    regions = AmplifierRegions.from_header(header, (40, 100))
    assert [s.fits for s in regions.sections] == ["[1:50,1:40]", "[51:100,1:40]"]
    frames = rng.normal(0, 1, (5, 40, 100)) * np.where(np.arange(100) < 50, 2.0, 6.0)
    model = measure_noise(lambda i, r, c: frames[i][r, c], 5, regions, (40, 100))
    assert model.sigmas == pytest.approx((2.0, 6.0), rel=0.08)
    spread = model.spread(model.regions.labels(np.arange(10, 12), np.arange(100)))
    assert spread.shape == (2, 100) and spread[0, 49] == model.sigmas[0]
    assert spread[1, 50] == model.sigmas[1]
    whole = AmplifierRegions.from_header({}, (40, 100))
    assert whole.labels(np.arange(40), np.arange(100)).min() == 0


def test_the_first_versions_settings_mean_what_they_meant():
    def settings(combine):
        return CombineSettings.from_config(default_config(combine=combine)["combine"])

    v1 = settings({"method": "average", "sigma_clip": {"low": 5, "high": 5}})
    assert (v1.reject, v1.low, v1.high) == ("ccdproc", 5, 5)
    assert settings({"sigma_clip": {}}) == v1  # the first version's defaults: 5 and 5
    off = settings({"method": "median", "sigma_clip": None})
    assert off.reject == "none"
    default = settings({"method": "average", "reject": {"algorithm": "ccdclip"}})
    assert default == CombineSettings.default()
    with pytest.raises(ConfigError, match="cannot be set together"):
        settings({"sigma_clip": None, "reject": {"algorithm": "none"}})


@pytest.mark.parametrize(
    "settings",
    [
        DEFAULT,
        CombineSettings.default(reject="avsigclip"),
        CombineSettings.default(reject="minmax"),
    ],
    ids=lambda s: s.reject,
)
def test_bands_of_any_height_give_the_same_master(tmp_path, settings):
    case = make_outlier_stack((37, 23), 7, seed=4, outlier_fraction=0.05)
    paths = []
    for index in range(7):
        path = tmp_path / f"c{index}.fits"
        header = {"AMPSEC1": "[1:12,1:37]", "AMPSEC2": "[13:23,1:37]"}
        fitsio.write(str(path), case.stack[index], header=header)
        paths.append(str(path))
    results = []
    row = plan_bands(7, (37, 23), 10**9, settings).row_bytes
    for mem_limit, workers in [(row, 1), (row * 5, 2), (10**9, 1)]:
        out = tmp_path / f"m{mem_limit}.fits"
        stack_and_combine(paths, out, settings, mem_limit, workers, fitsio.FITSHDR())
        with fitsio.FITS(str(out)) as fits:
            results.append([fits[0].read(), fits["UNCERT"].read(), fits["REJECTED"].read()])
            header = fits[0].read_header()
    for other in results[1:]:
        for ours, theirs in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(ours, theirs)
    assert results[0][2].sum() == header["NREJECT"] > 0
    if settings.needs_noise_model:
        assert header["RDNOISE1"] == pytest.approx(case.sigma, rel=0.2)
        assert "RDNOISE2" in header


@pytest.mark.workflow
def test_the_workflow_rejects_a_cosmic_ray_by_default(tmp_path, small_night):
    from conftest import Workflow, base_config

    biases = sorted(
        path for path in small_night.iterdir()
        if fitsio.read_header(str(path)).get("IMAGETYP") == "BIAS"
    )  # fmt: skip
    hit = biases[2]
    data, header = fitsio.read(str(hit), header=True)
    data[10, 20] += 3000  # a cosmic ray in the light area of one frame
    fitsio.write(str(hit), data, header=header, clobber=True)

    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, base_config(small_night))  # the default rejection
    flow.run()
    with fitsio.FITS(str(flow.master)) as fits:
        master, head = fits[0].read(), fits[0].read_header()
        rejected = fits["REJECTED"].read()
    assert head["REJECT"] == "ccdclip" and 3.8 < head["RDNOISE1"] < 4.8
    assert rejected[10, 20] == 1
    # the cosmic ray, and noise peaks beyond 4 sigma: ~1.5 of the 20480 values expected
    assert rejected.sum() <= 1 + 8
    calibrated = [fitsio.read(str(flow.results / "calibrated" / p.name)) for p in biases]
    others = [frame[10, 20] for frame in calibrated[:2] + calibrated[3:]]
    assert master[10, 20] == pytest.approx(np.mean(others, dtype=np.float64), abs=1e-3)
    # the overscan levels each frame had subtracted, row by row, for the plots
    table = fitsio.read(str(flow.results / "calibrated" / biases[0].name), ext="OVERSCAN")
    assert len(table) == 64 and list(table["ROW"][:2]) == [1, 2]
    assert np.isclose(
        np.median(table["LEVEL"]),
        fitsio.read_header(str(flow.results / "calibrated" / biases[0].name))["OVSCLEV1"],
        atol=1e-3,
    )


def test_a_long_night_is_measured_on_a_few_pairs_read_once():
    rng = np.random.default_rng(1)
    frames = rng.normal(0, 3.0, (100, 30, 40))
    reads = []

    def read_grid(index, rows, cols):
        reads.append(index)
        return frames[index][rows, cols]

    regions = AmplifierRegions.from_header({}, (30, 40))
    model = measure_noise(read_grid, 100, regions, (30, 40))
    assert model.source == "median of 16 frame differences"
    assert len(reads) == 32 and model.sigmas[0] == pytest.approx(3.0, rel=0.05)
    reads.clear()
    measure_noise(read_grid, 5, regions, (30, 40))
    assert reads == [0, 1, 2, 3, 4]
