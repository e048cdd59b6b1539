"""The per-frame job as a file task: header bookkeeping, output type, atomic writes."""

import logging

import fitsio
import numpy as np
import pytest

from masterbias import SOFTWARE
from masterbias.errors import FrameError
from masterbias.layout import LayoutSpec
from masterbias.task_calibrate import calibrate_file

LAYOUT = LayoutSpec.default(
    overscan_method="median", overscan_region="header", trim_region="[5:30,3:20]"
).to_params()


def calibrate(raw, out, layout=LAYOUT):
    calibrate_file(str(raw), str(out), layout, "all", "float32", logger=logging.getLogger("t"))


@pytest.fixture
def raw(tmp_path):
    rng = np.random.default_rng(1)
    data = (1000 + rng.normal(0, 3, size=(20, 40))).astype(np.uint16)
    header = [
        {"name": "IMAGETYP", "value": "BIAS"},
        {"name": "BIASSEC", "value": "[33:40,1:20]"},
        {"name": "DATASEC", "value": "[5:30,3:20]"},
        {"name": "CCDSEC", "value": "[1:26,1:18]"},
        {"name": "TRIMSEC", "value": "[5:30,3:20]"},
        {"name": "GAIN", "value": 1.5},
    ]
    path = tmp_path / "raw" / "b 1.fits"
    path.parent.mkdir()
    fitsio.write(str(path), data, header=header)
    return path, data


def test_calibrated_header_records_what_was_done(tmp_path, raw):
    path, data = raw
    out = tmp_path / "cal" / "b 1.fits"
    calibrate(path, out)
    image, header = fitsio.read(str(out), header=True)
    assert image.dtype == np.float32 and image.shape == (18, 26)
    expected = data[2:20, 4:30] - np.median(data[2:20, 32:40], axis=1)[:, None]
    np.testing.assert_array_equal(image, expected.astype(np.float32))
    assert header["BITPIX"] == -32 and "BZERO" not in header
    assert header["IMAGETYP"] == "BIAS" and header["GAIN"] == 1.5
    assert "BIASSEC" not in header and "TRIMSEC" not in header  # no stale sections
    assert header["DATASEC"] == "[1:26,1:18]" and header["CCDSEC"] == "[1:26,1:18]"
    assert (header["LTV1"], header["LTV2"]) == (-4.0, -2.0)
    assert header["OVSCMETH"] == "median" and header["OVSCSEC1"] == "[33:40,1:20]"
    assert header["CALSEC1"] == "[5:30,3:20]" and header["PROCSOFT"] == SOFTWARE
    levels = np.median(data[:, 32:40], axis=1)[2:20]
    assert header["OVSCLEV1"] == pytest.approx(np.median(levels), abs=1e-4)
    assert header["BUNIT"] == "adu" and header["RAWFILE"] == "b 1.fits"
    text = str(header)
    assert "HISTORY BIASSEC [33:40,1:20] removed: not in the trimmed image" in text
    assert "median of each row, per-line values, subtracted" in text.replace("\nHISTORY ", "")


def test_ccddata_reads_the_calibrated_frame(tmp_path, raw):
    from astropy.nddata import CCDData

    out = tmp_path / "cal.fits"
    calibrate(raw[0], out)
    ccd = CCDData.read(out)
    assert str(ccd.unit) == "adu" and ccd.shape == (18, 26)


def test_a_failed_calibration_leaves_no_output(tmp_path, raw):
    out = tmp_path / "cal" / "x.fits"
    bad = dict(LAYOUT, overscan_region="[33:41,*]")
    with pytest.raises(FrameError, match="b 1.fits: config overscan.region"):
        calibrate(raw[0], out, bad)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_nan_pixels_in_a_float_raw_frame_are_an_error(tmp_path):
    data = np.ones((10, 12), np.float32)
    data[3, 4] = np.nan
    path = tmp_path / "f.fits"
    fitsio.write(str(path), data)
    with pytest.raises(FrameError, match="f.fits: 1 pixels are NaN or infinite"):
        layout = dict(LAYOUT, overscan_method="none", trim_region="none")
        calibrate(path, tmp_path / "o.fits", layout)


def test_an_interrupted_write_leaves_nothing_behind(tmp_path, raw, monkeypatch):
    import masterbias.task_calibrate as task

    real = task.fitsio.FITS

    def write_half_then_fail(path, mode="r", **kwargs):
        if mode == "r":
            return real(path, mode, **kwargs)
        with open(path, "wb") as stream:
            stream.write(b"SIMPLE  = half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(task.fitsio, "FITS", write_half_then_fail)
    out = tmp_path / "cal" / "b.fits"
    with pytest.raises(FrameError, match="b.fits: cannot write: No space left on device"):
        calibrate(raw[0], out)
    assert list(out.parent.iterdir()) == []


def test_tile_compressed_fz_frame(tmp_path):
    from masterbias.discovery import HeaderCache

    rng = np.random.default_rng(3)
    data = (1000 + rng.normal(0, 3, size=(20, 40))).astype(np.uint16)
    path = tmp_path / "b.fits.fz"
    fitsio.write(str(path), data, header={"IMAGETYP": "BIAS", "BIASSEC": "[33:40,1:20]"},
                 compress="RICE", clobber=True)  # fmt: skip
    frame = HeaderCache(None).frame(str(tmp_path), "b.fits.fz")
    assert (frame.header.images[0].index, frame.shape) == (1, (20, 40))
    assert frame.keywords["IMAGETYP"] == "BIAS" and frame.calibrated == "b.fits"
    out = tmp_path / "b.fits"
    calibrate(path, out, dict(LAYOUT, trim_region="[1:32,*]"))
    expected = data[:, :32] - np.median(data[:, 32:], axis=1)[:, None]
    np.testing.assert_array_equal(fitsio.read(str(out)), expected.astype(np.float32))
