"""Bad files in raw_dir: each stops the run with one line naming the file and the reason."""

import csv
import gzip
import os
import subprocess

import fitsio
import numpy as np
import pytest

from conftest import base_config, flow_in, small_raw
from masterbias.synth import write_night

pytestmark = pytest.mark.workflow


@pytest.fixture
def gz_flow(tmp_path):
    """A Workflow on a night of four small biases, .fits.gz."""
    raw = small_raw(tmp_path / "raw", n_bias=4, n_flat=0, n_light=0, seed=3, compress=True)
    return flow_in(tmp_path / "work", base_config(raw))


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
def test_found_at_discovery_before_any_job(gz_flow, make):
    name, reason = make(raw_dir(gz_flow))
    text = gz_flow.fail()
    line = one_line_with(text, name, reason)
    assert str(raw_dir(gz_flow)) in line
    assert not gz_flow.master.exists() and not (gz_flow.results / "calibrated").exists()

    gz_flow.config["exclude"] = [name]
    gz_flow.write_config()
    gz_flow.run()
    assert fitsio.read_header(str(gz_flow.master))["NCOMBINE"] == 4


def test_a_truncated_gzip_is_named_before_any_job(gz_flow):
    folder = raw_dir(gz_flow)
    packed = (folder / "small.0003.fits.gz").read_bytes()
    (folder / "small.0003.fits.gz").write_bytes(packed[: len(packed) // 2])
    text = gz_flow.fail()
    one_line_with(text, "small.0003.fits.gz", "the file is cut short (truncated)")
    assert not (gz_flow.results / "calibrated").exists()


def test_corrupt_gzip_data_fail_its_job_keeps_the_others_and_exclude_redoes_only_the_master(
    gz_flow,
):
    folder = raw_dir(gz_flow)
    packed = bytearray((folder / "small.0003.fits.gz").read_bytes())
    packed[len(packed) - 40 : len(packed) - 20] = bytes(20)  # the data, not the header
    (folder / "small.0003.fits.gz").write_bytes(bytes(packed))
    text = gz_flow.fail("--keep-going")
    one_line_with(text, "small.0003.fits.gz", "the .gz is damaged or cut short")
    calibrated = sorted(p.name for p in (gz_flow.results / "calibrated").iterdir())
    assert calibrated == ["small.0001.fits", "small.0002.fits", "small.0004.fits"]
    assert not gz_flow.master.exists()

    gz_flow.config["exclude"] = ["small.0003.*"]
    gz_flow.write_config()
    assert gz_flow.planned_jobs() == {
        "combine_biases": 1,
        "write_qc_tables": 1,
        "plot_master_figures": 1,
        "summarize_frames": 1,
        "all": 1,
    }
    gz_flow.run()
    assert fitsio.read_header(str(gz_flow.master))["NCOMBINE"] == 3


def test_nan_pixels_fail_the_frame_with_the_count(gz_flow):
    folder = raw_dir(gz_flow)
    data = np.full((64, 80), 1000.0, np.float32)
    data[5, 6] = np.nan
    data[7, 8] = np.inf
    fitsio.write(str(folder / "float.fits"), data, header=bias_header())
    text = gz_flow.fail("--keep-going")
    one_line_with(text, "float.fits", "2 pixels are NaN or infinite")


def test_a_keyword_the_config_needs_is_missing(gz_flow):
    gz_flow.config["overscan"]["region"] = "header"
    gz_flow.write_config()
    folder = raw_dir(gz_flow)
    data = fitsio.read(str(folder / "small.0002.fits.gz"))
    os.remove(folder / "small.0002.fits.gz")
    fitsio.write(str(folder / "small.0002.fits"), data, header=bias_header())
    line = one_line_with(gz_flow.fail(), "small.0002.fits", "has no BIASSEC")
    assert "give the region in the config instead" in line


def test_a_section_outside_the_image(gz_flow):
    gz_flow.config["trim"]["region"] = "[1:64,1:65]"
    gz_flow.write_config()
    line = one_line_with(gz_flow.fail(), "config trim.region", "outside the image")
    assert "small.0001.fits.gz" in line and "y (rows) 1:64" in line


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    from masterbias import rawfile
    from masterbias.errors import FrameError

    path = tmp_path / "locked.fits"
    fitsio.write(str(path), np.zeros((4, 4), np.uint16))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rawfile, "open", refuse, raising=False)
    with pytest.raises(FrameError, match="locked.fits: cannot read: .*Permission denied"):
        rawfile.read_raw_header(path)


def replace_frame(folder, name, data, **keywords):
    """Rewrite a raw bias with other pixels (and header keywords) under the same name."""
    header = dict(bias_header(), DATE_OBS="2026-11-23T02:00:00", **keywords)
    header["DATE-OBS"] = header.pop("DATE_OBS")
    for path in folder.glob(name + "*"):
        path.unlink()
    fitsio.write(str(folder / f"{name}.fits"), data, header=header)


def test_a_dead_readout_is_left_out_with_the_reason_at_any_number_of_frames(gz_flow):
    folder = raw_dir(gz_flow)
    replace_frame(folder, "small.0002", np.zeros((64, 80), np.uint16))
    gz_flow.run()
    header = fitsio.read_header(str(gz_flow.master))
    assert header["NCOMBINE"] == 3 and header["EXCL0001"] == "small.0002.fits"
    rows = {row["file"]: row for row in csv.DictReader(open(gz_flow.results / "qc/rejections.csv"))}
    assert rows["small.0002.fits"]["left_out"].startswith("unusable readout: 100 % of its pixels")
    assert "(a dead readout)" in rows["small.0002.fits"]["left_out"]
    master = fitsio.read(str(gz_flow.master))
    assert np.all(np.isfinite(master)) and abs(float(np.median(master))) < 20


def test_saturated_and_flat_readouts_are_flagged_and_a_night_of_them_stops(gz_flow):
    folder = raw_dir(gz_flow)
    for index, value in enumerate((65535, 1234, 0, 0), start=1):
        replace_frame(folder, f"small.000{index}", np.full((64, 80), value, np.uint16))
    text = gz_flow.fail()
    line = one_line_with(text, "every frame of this master was left out")
    assert "saturated" in line and "a flat readout" in line and "a dead readout" in line


def test_blank_pixels_are_masked_not_used(gz_flow):
    folder = raw_dir(gz_flow)
    data = fitsio.read(str(next(folder.glob("small.0001*"))))
    data[10, 5:15] = 0  # what the camera wrote where it had no value (BLANK = -32768 stored)
    replace_frame(folder, "small.0001", data, BLANK=-32768)
    gz_flow.run()
    calibrated = fitsio.read(str(gz_flow.results / "calibrated" / "small.0001.fits"))
    assert np.isnan(calibrated[10, 5:15]).all() and np.isfinite(calibrated[11]).all()
    header = fitsio.read_header(str(gz_flow.results / "calibrated" / "small.0001.fits"))
    assert header["CALBLANK"] == 10
    master = fitsio.read(str(gz_flow.master))
    calibrated = gz_flow.results / "calibrated"
    others = [fitsio.read(str(calibrated / f"small.000{i}.fits")) for i in (2, 3, 4)]
    expected = np.mean(np.array(others, dtype=np.float64)[:, 10, 5:15], axis=0)
    np.testing.assert_allclose(master[10, 5:15], expected, rtol=1e-6)


def test_a_wrong_checksum_fails_that_frame_with_the_reason(gz_flow):
    folder = raw_dir(gz_flow)
    path = next(folder.glob("small.0003*"))
    data = fitsio.read(str(path))
    path.unlink()
    with fitsio.FITS(str(folder / "small.0003.fits"), "rw", clobber=True) as fits:
        fits.write(data, header=bias_header())
        fits[0].write_checksum()
    raw = bytearray((folder / "small.0003.fits").read_bytes())
    raw[-100] ^= 1  # one bit of one pixel
    (folder / "small.0003.fits").write_bytes(bytes(raw))
    line = one_line_with(gz_flow.fail("--keep-going"), "small.0003.fits", "CHECKSUM/DATASUM")
    assert "corrupt or altered" in line


def test_non_ascii_header_bytes_are_read_as_question_marks_and_reported(gz_flow):
    folder = raw_dir(gz_flow)
    path = next(folder.glob("small.0004*"))
    data = fitsio.read(str(path))
    path.unlink()
    header = [{"name": "IMAGETYP", "value": "BIAS"},
              {"name": "CCDTEMP", "value": -110.0, "comment": "detector in C"}]  # fmt: skip
    fitsio.write(str(folder / "small.0004.fits"), data, header=header)
    raw = (folder / "small.0004.fits").read_bytes()
    at = raw.index(b"detector in C")
    (folder / "small.0004.fits").write_bytes(raw[: at + 12] + b"\xb0" + raw[at + 13 :])
    done = gz_flow.run()
    one_line_with(done.stdout + done.stderr, "small.0004.fits", "non-ASCII bytes")
    assert fitsio.read_header(str(gz_flow.master))["NCOMBINE"] == 4


def test_continue_cards_are_read_whole_for_selection(gz_flow):
    folder = raw_dir(gz_flow)
    long_name = "morning bias sequence for the spectrograph, taken with the dome closed"
    path = next(folder.glob("small.0001*"))
    data = fitsio.read(str(path))
    path.unlink()
    fitsio.write(str(folder / "small.0001.fits"), data,
                 header=[{"name": "IMAGETYP", "value": "BIAS"},
                         {"name": "OBJECT", "value": long_name}])  # fmt: skip
    assert b"CONTINUE" in (folder / "small.0001.fits").read_bytes()
    gz_flow.config["select"] = {"OBJECT": [long_name]}
    gz_flow.config["combine"] = {"min_frames": 1}
    gz_flow.write_config()
    assert gz_flow.planned_jobs()["calibrate_frame"] == 1  # the whole string matched


def test_group_values_that_differ_in_punctuation_make_different_masters(tmp_path):
    raw = tmp_path / "raw"
    for index, value in enumerate(["1 1", "1,1", "1_1"]):
        write_night(raw, "small", n_bias=3, n_flat=0, n_light=0, seed=index, prefix=f"g{index}-",
                    compress=False)  # fmt: skip
        for path in raw.glob(f"g{index}-*"):
            data, header = fitsio.read(str(path), header=True)
            header["CCDSUM"] = value
            fitsio.write(str(path), data, header=header, clobber=True)
    flow = flow_in(tmp_path / "work", base_config(raw, group_by=["CCDSUM"]))
    flow.run()
    masters = sorted((flow.results / "master_bias").iterdir())
    assert len(masters) == 3
    combined = {fitsio.read_header(str(path))["IMCMB001"][:3] for path in masters}
    assert combined == {"g0-", "g1-", "g2-"}


def test_a_deleted_calibrated_frame_is_made_again(gz_flow):
    gz_flow.run()
    (gz_flow.results / "calibrated" / "small.0002.fits").unlink()
    assert gz_flow.planned_jobs()["calibrate_frame"] == 1
    gz_flow.run()
    assert (gz_flow.results / "calibrated" / "small.0002.fits").exists()


def test_the_master_header_describes_the_master_not_its_first_frame(gz_flow):
    gz_flow.run()
    header = fitsio.read_header(str(gz_flow.master))
    for name in ("CALMED", "CALRMS", "CALGRAD", "RAWFILE", "RAWSUM", "OVSCLEV1", "OVSCRMS1"):
        assert name not in header, name
    frames = [
        fitsio.read_header(str(p)) for p in sorted((gz_flow.results / "calibrated").iterdir())
    ]
    times = sorted(f"{h['DATE-OBS']}.000" for h in frames)
    assert (header["DATE-OBS"], header["DATE-BEG"], header["DATE-END"]) == (
        times[0], times[0], times[-1])  # fmt: skip
    assert header["RDNOISE1"] > 3


def test_large_raw_frames_replaced_with_older_times_are_redone(tmp_path):
    """rsync -a and cp -p give a replaced frame the modification time of its source."""
    from masterbias.synth import CameraModel

    camera = CameraModel("big", rows=280, columns=2100, light="[1:2048,*]",
                         overscan="[2049:2100,*]", leak_columns=3)  # fmt: skip
    raw, other = tmp_path / "raw", tmp_path / "other"
    write_night(raw, camera, n_bias=4, n_flat=0, n_light=0, seed=1, compress=False)
    write_night(other, camera, n_bias=4, n_flat=0, n_light=0, seed=2, compress=False)
    config = base_config(raw, overscan={"method": "median", "region": camera.clean_overscan},
                         trim={"region": camera.light})  # fmt: skip
    flow = flow_in(tmp_path / "work", config)
    flow.run()
    first = flow.master.read_bytes()
    replaced = raw / "big.0002.fits"
    assert replaced.stat().st_size > 10**6
    old = replaced.stat().st_mtime_ns
    subprocess.run(["cp", "-p", str(other / "big.0002.fits"), str(replaced)], check=True)
    os.utime(replaced, ns=(old - 10**12, old - 10**12))  # older than every product
    planned = flow.planned_jobs()
    assert planned["calibrate_frame"] == 1 and planned["combine_biases"] == 1
    flow.run()
    assert flow.master.read_bytes() != first
    calibrated = fitsio.read(str(flow.results / "calibrated" / "big.0002.fits"))
    new = fitsio.read(str(replaced)).astype(np.float64)
    expected = new[:, :2048] - np.median(new[:, 2051:], axis=1)[:, None]
    np.testing.assert_array_equal(calibrated, expected.astype(np.float32))
