"""Bad files in raw_dir: each stops the run with one line naming the file and the reason."""

import gzip
import os

import fitsio
import numpy as np
import pytest

from conftest import Workflow, base_config
from masterbias.synth import write_night

pytestmark = pytest.mark.workflow


@pytest.fixture
def flow(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "small", n_bias=4, n_flat=0, n_light=0, seed=3, compress=True)
    work = tmp_path / "work"
    work.mkdir()
    return Workflow(work, base_config(raw))


def raw_dir(flow):
    return flow.directory / flow.config["raw_dir"]


def bias_header():
    return {"IMAGETYP": "BIAS", "EXPTIME": 0.0}


def one_line_with(text, *words):
    """The line the user sees: 'masterbias: <file>: <reason>'."""
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("masterbias: ") and all(word in line for word in words)
    ]
    assert lines, f"no line with {words} in:\n{text[-3000:]}"
    return lines[0]


def make_zero_bytes(folder):
    (folder / "zero.fits").write_bytes(b"")
    return "zero.fits", "file is empty"


def make_text_file(folder):
    (folder / "notes.fits").write_text("observing log, not FITS\n" * 300)
    return "notes.fits", "not a FITS file"


def make_no_image(folder):
    fitsio.write(str(folder / "table.fits"), None, header=bias_header())
    return "table.fits", "no 2-D image"


def make_other_shape(folder):
    fitsio.write(str(folder / "binned.fits"), np.zeros((32, 40), np.uint16), header=bias_header())
    return "binned.fits", "image is 32 x 40 but most biases are 64 x 80"


def make_truncated_header(folder):
    whole = gzip.compress(b"SIMPLE  =                    T" + b" " * 50 + b"BITPIX  = 16")
    (folder / "cut.fits.gz").write_bytes(whole)
    return "cut.fits.gz", "ends inside a FITS header"


@pytest.mark.parametrize(
    "make",
    [make_zero_bytes, make_text_file, make_no_image, make_other_shape, make_truncated_header],
)
def test_found_at_discovery_before_any_job(flow, make):
    name, reason = make(raw_dir(flow))
    text = flow.fail()
    line = one_line_with(text, name, reason)
    assert str(raw_dir(flow)) in line
    assert not flow.master.exists() and not (flow.results / "calibrated").exists()

    flow.config["exclude"] = [name]
    flow.write_config()
    flow.run()
    assert fitsio.read_header(str(flow.master))["NCOMBINE"] == 4


def test_truncated_gzip_fails_its_job_keeps_the_others_and_exclude_redoes_only_the_master(flow):
    folder = raw_dir(flow)
    packed = (folder / "small.0003.fits.gz").read_bytes()
    (folder / "small.0003.fits.gz").write_bytes(packed[: len(packed) // 2])
    text = flow.fail("--keep-going")
    one_line_with(text, "small.0003.fits.gz", "cannot read the image")
    calibrated = sorted(p.name for p in (flow.results / "calibrated").iterdir())
    assert calibrated == ["small.0001.fits", "small.0002.fits", "small.0004.fits"]
    assert not flow.master.exists()

    flow.config["exclude"] = ["small.0003.*"]
    flow.write_config()
    assert flow.planned_jobs() == {
        "combine_biases": 1,
        "qc_frames": 1,
        "plot_figures": 1,
        "summarize_frames": 1,
        "all": 1,
    }
    flow.run()
    assert fitsio.read_header(str(flow.master))["NCOMBINE"] == 3


def test_nan_pixels_fail_the_frame_with_the_count(flow):
    folder = raw_dir(flow)
    data = np.full((64, 80), 1000.0, np.float32)
    data[5, 6] = np.nan
    data[7, 8] = np.inf
    fitsio.write(str(folder / "float.fits"), data, header=bias_header())
    text = flow.fail("--keep-going")
    one_line_with(text, "float.fits", "2 pixels are NaN or infinite")


def test_a_keyword_the_config_needs_is_missing(flow):
    flow.config["overscan"]["region"] = "header"
    flow.write_config()
    folder = raw_dir(flow)
    data = fitsio.read(str(folder / "small.0002.fits.gz"))
    os.remove(folder / "small.0002.fits.gz")
    fitsio.write(str(folder / "small.0002.fits"), data, header=bias_header())
    line = one_line_with(flow.fail(), "small.0002.fits", "has no BIASSEC")
    assert "give the region in the config instead" in line


def test_a_section_outside_the_image(flow):
    flow.config["trim"]["region"] = "[1:64,1:65]"
    flow.write_config()
    line = one_line_with(flow.fail(), "config trim.region", "outside the image")
    assert "small.0001.fits.gz" in line and "y (rows) 1:64" in line


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    from masterbias import fitsfile
    from masterbias.errors import FrameError

    path = tmp_path / "locked.fits"
    fitsio.write(str(path), np.zeros((4, 4), np.uint16))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(fitsfile, "open", refuse, raising=False)
    with pytest.raises(FrameError, match="locked.fits: cannot read: .*Permission denied"):
        fitsfile.read_image_header(path)
