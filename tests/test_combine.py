"""The combination: planted outliers, ccdproc's numbers, and bands equal to the whole."""

import warnings

import fitsio
import numpy as np
import pytest

from masterbias.combine import CombineSettings, combine_stack, reject_mask, sigma_clip_mask
from masterbias.config import parse_memory
from masterbias.errors import ConfigError, FrameError
from masterbias.stacking import plan_bands
from stacks import stack_and_combine

GUIDE = CombineSettings.default(method="average", reject="ccdproc", low=5.0, high=5.0)


def noisy_stack(n=7, rows=40, cols=30, seed=0):
    rng = np.random.default_rng(seed)
    pattern = rng.normal(0, 3, size=(rows, cols))
    return (pattern + rng.normal(0, 5, size=(n, rows, cols))).astype(np.float32)


def test_planted_outliers_are_rejected_and_left_out_of_the_mean():
    stack = noisy_stack().astype(np.float64)
    planted = [(0, 3, 4, 1000.0), (2, 10, 11, -800.0), (6, 39, 29, 500.0), (3, 3, 4, 700.0)]
    for frame, row, col, value in planted:
        stack[frame, row, col] = value
    band = combine_stack(stack, GUIDE)
    rejected = sigma_clip_mask(stack, 5.0, 5.0)
    for frame, row, col, _ in planted:
        assert rejected[frame, row, col]
        kept = np.delete(stack[:, row, col], np.flatnonzero(rejected[:, row, col]))
        assert band.data[row, col] == pytest.approx(kept.mean(), abs=1e-9)
        assert band.rejected[row, col] == rejected[:, row, col].sum()
    assert rejected[:, 3, 4].sum() >= 2  # two outliers at one pixel, both gone
    assert not band.mask.any()


@pytest.mark.parametrize("reject", ["ccdclip", "minmax"])
def test_pixels_that_lost_a_value_are_summed_as_masked_whole_frames_bit_for_bit(reject):
    # few pixels lose a value to ccdclip (redone one by one), every pixel to minmax
    stack = noisy_stack(n=9, rows=50, cols=40, seed=3)
    stack[2, 5, 6], stack[7, 5, 6], stack[4, 20, 30] = 900.0, -700.0, 400.0
    settings = CombineSettings.default(method="average", reject=reject, read_noise=5.0)
    band = combine_stack(stack, settings.for_frames(9))
    rejected = reject_mask(stack, settings.for_frames(9))
    assert rejected[2, 5, 6] and rejected[7, 5, 6] and rejected[4, 20, 30]
    assert np.array_equal(band.rejected, rejected.sum(axis=0))
    # the reference: every frame masked whole, summed frame by frame in float64
    even, odd, squares = np.zeros((3,) + stack.shape[1:])
    for index, frame in enumerate(stack):
        (even if index % 2 == 0 else odd)[...] += np.where(rejected[index], 0.0, frame)
    kept = (~rejected).sum(axis=0)
    mean = (even + odd) / kept
    for index, frame in enumerate(stack):
        deviation = frame - mean
        deviation[rejected[index]] = 0.0
        squares += deviation * deviation
    n_even, n_odd = (~rejected[0::2]).sum(axis=0), (~rejected[1::2]).sum(axis=0)
    assert np.array_equal(band.data, mean)
    assert np.array_equal(band.uncertainty, np.sqrt(squares / kept) / np.sqrt(kept))
    split = (even / n_even - odd / n_odd) / np.sqrt(1.0 / n_even + 1.0 / n_odd)
    assert np.array_equal(band.split, split)


def test_no_clipping_is_a_plain_mean_median_and_sum():
    stack = noisy_stack().astype(np.float64)
    for method, expected in [
        ("average", stack.mean(axis=0)),
        ("median", np.median(stack, axis=0)),
        ("sum", stack.sum(axis=0)),
    ]:
        band = combine_stack(stack, CombineSettings.default(method=method, reject="none"))
        np.testing.assert_allclose(band.data, expected, rtol=1e-12)
        assert band.rejected.sum() == 0


def write_frames(folder, stack):
    paths = []
    for index, frame in enumerate(stack):
        path = folder / f"cal{index:02d}.fits"
        fitsio.write(str(path), frame, header={"BUNIT": "adu"}, clobber=True)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize(
    "settings",
    [
        GUIDE,
        CombineSettings.default(method="median", reject="ccdproc", low=5.0, high=5.0),
        CombineSettings.default(method="sum", reject="ccdproc", low=5.0, high=5.0),
        CombineSettings.default(method="average", reject="ccdproc", low=3.0, high=2.0),
        CombineSettings.default(method="median", reject="none"),
        CombineSettings.default(method="average", reject="none"),
    ],
    ids=str,
)
def test_equals_ccdproc_combine(tmp_path, settings):
    ccdproc = pytest.importorskip("ccdproc")
    from astropy.nddata import CCDData
    from astropy.stats import mad_std

    stack = noisy_stack(n=6, seed=4)
    stack[1, 5, 5] = 900.0
    stack[4, 20, 7] = -400.0
    paths = write_frames(tmp_path, stack)
    header = fitsio.FITSHDR([{"name": "BUNIT", "value": "adu"}])
    stack_and_combine(paths, tmp_path / "master.fits", settings, 10**6, 2, header)
    ours = CCDData.read(tmp_path / "master.fits")

    clip = {}
    if settings.reject == "ccdproc":
        clip = dict(
            sigma_clip=True,
            sigma_clip_low_thresh=settings.low,
            sigma_clip_high_thresh=settings.high,
            sigma_clip_func=np.ma.median,
            sigma_clip_dev_func=mad_std,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ccdproc.combine(
            [CCDData(frame, unit="adu") for frame in stack], method=settings.method, **clip
        )
    np.testing.assert_array_equal(ours.mask, theirs.mask)
    if settings.reject == "ccdproc":
        assert ours.header["NREJECT"] >= 2
    expected = theirs.data.astype(np.float32)
    np.testing.assert_allclose(ours.data, expected, rtol=2 * np.finfo(np.float32).eps, atol=0)
    np.testing.assert_allclose(
        ours.uncertainty.array,
        theirs.uncertainty.array.astype(np.float32),
        rtol=2 * np.finfo(np.float32).eps,
    )
    assert type(ours.uncertainty).__name__ == "StdDevUncertainty"
    assert str(ours.unit) == "adu"


@pytest.mark.parametrize(
    "settings",
    [GUIDE, CombineSettings.default(method="median", reject="ccdproc", low=5.0, high=5.0)],
    ids=str,
)
def test_bands_of_any_height_equal_the_whole_image_bit_for_bit(tmp_path, settings):
    stack = noisy_stack(n=9, rows=37, cols=23, seed=8)
    stack[2, ::5, ::3] += 300.0
    paths = write_frames(tmp_path, stack)
    whole = combine_stack(stack, settings)
    per_row = plan_bands(9, (37, 23), 10**9, settings).row_bytes
    heights = set()
    for mem_limit, workers in [(per_row, 1), (per_row * 5, 2), (per_row * 7, 1), (10**9, 3)]:
        out = tmp_path / f"master_{mem_limit}_{workers}.fits"
        outcome = stack_and_combine(paths, out, settings, mem_limit, workers, fitsio.FITSHDR())
        heights.add(outcome.plan.band_rows)
        with fitsio.FITS(str(out)) as fits:
            np.testing.assert_array_equal(fits[0].read(), whole.data.astype(np.float32))
            np.testing.assert_array_equal(
                fits["UNCERT"].read(), whole.uncertainty.astype(np.float32)
            )
            np.testing.assert_array_equal(fits["MASK"].read(), whole.mask.astype(np.uint8))
            assert fits[0].read_header()["NREJECT"] == whole.rejected.sum()
    assert heights == {1, 2, 7, 37}  # one-row bands up to the whole image in one band


def test_frames_of_different_shapes_are_named(tmp_path):
    paths = write_frames(tmp_path, noisy_stack(n=3))
    fitsio.write(str(tmp_path / "odd.fits"), np.zeros((10, 10), np.float32), clobber=True)
    with pytest.raises(FrameError, match="odd.fits: calibrated image is 10 x 10"):
        stack_and_combine(
            paths + [str(tmp_path / "odd.fits")],
            tmp_path / "m.fits",
            GUIDE,
            10**6,
            1,
            fitsio.FITSHDR(),
        )
    assert not (tmp_path / "m.fits").exists()


def test_headers_that_grow_after_the_bands_are_written_move_the_master_intact(tmp_path):
    # the bands go into the file beside cfitsio: a header that grows afterwards makes
    # cfitsio move every data unit after it, which must carry the bands, not stale blocks
    from masterbias.keywords import Planes
    from masterbias.stacking import combine_extension

    stacks = {name: noisy_stack(n=4, rows=64, cols=64, seed=seed)
              for seed, name in enumerate(["S1", "S2"])}  # fmt: skip
    paths = []
    for index in range(4):
        path = tmp_path / f"cal{index}.fits"
        with fitsio.FITS(str(path), "rw", clobber=True) as fits:
            fits.write(None)
            for name, stack in stacks.items():
                fits.write(stack[index], extname=name)
        paths.append(str(path))
    none = CombineSettings.default(method="average", reject="none")
    output = tmp_path / "master.fits"
    with fitsio.FITS(str(output), "rw", clobber=True) as out:
        out.write(None)
        for name in stacks:
            combine_extension(paths, paths, name, out, str(output), Planes.of(name),
                              fitsio.FITSHDR(), none, 10**7, 2)  # fmt: skip
            for line in range(200):
                out[name].write_history(f"a header that grows by many blocks: {line}")
    for name, stack in stacks.items():
        expected = (stack.astype(np.float64).sum(axis=0) / 4).astype(np.float32)
        assert np.array_equal(fitsio.read(str(output), ext=name), expected)
        assert fitsio.read(str(output), ext=f"{name}_UNCERT").min() > 0


def _int_image(path):
    fitsio.write(str(path), np.zeros((40, 30), np.int16), clobber=True)


def _float64_image(path):
    fitsio.write(str(path), np.zeros((40, 30)), clobber=True)


def _cut_short(path):
    fitsio.write(str(path), np.zeros((40, 30), np.float32), clobber=True)
    with open(path, "r+b") as file:
        file.truncate(2880 + 1000)  # the header and part of the first rows


@pytest.mark.parametrize(
    "make, reason",
    [
        (_int_image, r"extension 0 is not an uncompressed, unscaled float image \(BITPIX 16"),
        (_float64_image, "calibrated image holds float64 but .*cal00.fits's holds float32"),
        (
            _cut_short,
            "extension 0 is truncated: the file ends at byte 3880, its image at byte 7680",
        ),
    ],
    ids=["integers", "float64 among float32", "cut short"],
)
def test_calibrated_frames_unlike_the_workflows_are_named(tmp_path, make, reason):
    paths = write_frames(tmp_path, noisy_stack(n=3))
    make(tmp_path / "odd.fits")
    with pytest.raises(FrameError, match="odd.fits: " + reason):
        stack_and_combine(paths + [str(tmp_path / "odd.fits")], tmp_path / "m.fits", GUIDE,
                          10**6, 1, fitsio.FITSHDR())  # fmt: skip
    assert not (tmp_path / "m.fits").exists()


@pytest.mark.parametrize(
    "text, size",
    [("512MB", 512 * 10**6), ("1.5GiB", int(1.5 * 2**30)), (1000, 1000), ("2 gb", 2 * 10**9)],
)
def test_memory_sizes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "12 parsecs", "-5MB", "0"])
def test_bad_memory_sizes_name_the_key(text):
    with pytest.raises(ConfigError, match="combine.mem_limit"):
        parse_memory(text)


def test_band_plan_fits_the_limit_or_says_why_not():
    plan = plan_bands(40, (4096, 4096), 512 * 10**6, GUIDE, workers=2)
    assert plan.band_bytes * plan.workers <= 512 * 10**6
    assert plan.bands[0] == (0, plan.band_rows) and plan.bands[-1][1] == 4096
    with pytest.raises(ConfigError, match="cannot hold one row of 40 frames"):
        plan_bands(40, (4096, 4096), 1000, GUIDE)
