"""An archive's own faults: copies, frames and nights that vanish, odd dates and longitudes,
misspelt groups, one-frame nights, extensions in another order, two runs at once."""

import csv
import shutil
import subprocess
import time

import fitsio
import numpy as np
import pytest

from conftest import SNAKEMAKE, Workflow, archive_config, base_config, decam_like_config, flow_in
from masterbias.config import default_config, load_config
from masterbias.errors import ConfigError, FrameError
from masterbias.planning import plan_run
from masterbias.synth import NightSpec, write_archive, write_mosaic_night, write_night

CERRO_PACHON = -70.74


def night_run(tmp_path, n_bias: int, name: str):
    """A night of ``n_bias`` small uncompressed biases in ``tmp_path/raw``, and the workflow
    run on it in ``tmp_path/name``."""
    frames = write_night(tmp_path / "raw", "small", n_bias=n_bias, n_flat=0, n_light=0, seed=8,
                         compress=False)  # fmt: skip
    flow = flow_in(tmp_path / name, base_config(tmp_path / "raw"))
    flow.run()
    return frames, flow


def plan_of(raw, tmp_path, **settings):
    config = default_config(**archive_config(raw, **settings, out_dir=str(tmp_path / "out")))
    return plan_run(config)


def rewrite_header(path, **cards):
    data, header = fitsio.read(str(path), header=True)
    for key, value in cards.items():
        if value is None:
            header.delete(key)
        else:
            header[key] = value
    fitsio.write(str(path), data, header=header, clobber=True)


@pytest.mark.workflow
def test_copies_of_a_raw_frame_are_combined_once_and_said(tmp_path):
    frames, reference = night_run(tmp_path, 5, "reference")
    raw = tmp_path / "raw"
    # a copy beside the original and another in a second folder, both sorting after it
    shutil.copy(frames[1], raw / "small.0002_copy.fits")
    (raw / "zz").mkdir()
    shutil.copy(frames[1], raw / "zz" / "small.0002.fits")
    flow = flow_in(tmp_path / "work", base_config(raw))
    done = flow.run()
    header = fitsio.read_header(str(flow.master))
    assert header["NCOMBINE"] == 5
    assert [header[f"IMCMB{i:03d}"] for i in range(1, 6)].count("small.0002.fits") == 1
    with fitsio.FITS(str(flow.master)) as new, fitsio.FITS(str(reference.master)) as old:
        for hdu in range(4):  # the data and its planes, bit for bit
            assert new[hdu].read().tobytes() == old[hdu].read().tobytes()
    assert header["EXCL0002"] == "zz/small.0002.fits"
    rows = list(csv.DictReader(open(flow.results / "qc" / "rejections.csv")))
    copies = {row["file"]: row["left_out"] for row in rows if row["left_out"]}
    assert set(copies) == {"small.0002_copy.fits", "zz/small.0002.fits"}
    assert all(reason.startswith("a copy: the same raw bytes as small.0002.fits")
               for reason in copies.values())  # fmt: skip
    log = (flow.results / "logs" / "combine_biases.log").read_text()
    assert "left out zz/small.0002.fits: a copy" in log
    assert "left out" in done.stderr


@pytest.mark.workflow
def test_products_of_frames_and_nights_that_are_gone_are_removed(tmp_path):
    raw = tmp_path / "raw"
    nights = [NightSpec(f"2026-04-0{day}", afternoon=4, morning=0) for day in (1, 2, 3)]
    written = write_archive(raw, "small", nights, CERRO_PACHON, seed=4)
    flow = flow_in(tmp_path / "work", archive_config(raw))
    flow.run()
    out = flow.results
    calibrated = out / "calibrated"
    # a raw frame deleted: its calibrated frame goes with it
    gone = written["2026-04-01"][0]
    gone.unlink()
    done = flow.run()
    assert not (calibrated / gone.relative_to(raw)).exists()
    assert "masterbias: removed 1 products" in done.stderr
    # a UT folder renamed: its old calibrated frames go, the new ones are made
    folder = written["2026-04-02"][0].parent
    folder.rename(raw / "renamed")
    flow.run()
    assert not (calibrated / folder.name).exists()
    assert len(list((calibrated / "renamed").glob("*.fits"))) == 4
    # a longitude that moves every frame to the night before: the last night goes
    flow.config["night"] = {"longitude": CERRO_PACHON - 90}
    flow.write_config()
    flow.run()
    history = list(csv.DictReader(open(out / "calibrations.csv")))
    listed = {row["group"] for row in history}
    masters = {path.stem for path in (out / "master_bias").glob("*.fits")}
    figured = {path.name for path in (out / "qc" / "figures").iterdir() if path.is_dir()}
    records = {path.stem for path in (out / "qc" / "combine").glob("*.json")}
    assert listed == masters == records == {"2026-03-31", "2026-04-01", "2026-04-02"}
    assert figured == {"2026-04-02"}  # the latest night's figures; no others are current
    removed = (out / "logs" / "removed.log").read_text().split()
    assert "results/master_bias/2026-04-03.fits" in removed


@pytest.mark.workflow
def test_a_dry_run_lists_what_would_be_removed_and_removes_nothing(tmp_path):
    frames, flow = night_run(tmp_path, 4, "work")
    frames[0].unlink()
    done = flow.run("--dry-run")
    assert "raw frames or groups that are gone would be removed" in done.stdout + done.stderr
    assert (flow.results / "calibrated" / frames[0].name).exists()


def test_the_longitude_is_folded_the_same_way_from_the_config_and_the_header(tmp_path):
    raw = tmp_path / "raw"
    # 200 degrees east is 160 degrees west: the same meridian, the same nights
    nights = [NightSpec("2026-06-01"), NightSpec("2026-06-02")]
    write_archive(raw, "small", nights, -160.0, seed=5, longitude_in_header=False)
    east = plan_of(raw, tmp_path, night={"longitude": 200.0}).masters
    west = plan_of(raw, tmp_path, night={"longitude": -160.0}).masters
    assert east == west == ["2026-06-01", "2026-06-02"]
    # at 180 the configuration and a header saying 180 (or -180) agree
    for path in raw.rglob("*.fits"):
        rewrite_header(path, **{"OBSGEO-L": -180.0})
    from_header = plan_of(raw, tmp_path).masters
    assert plan_of(raw, tmp_path, night={"longitude": 180.0}).masters == from_header


def test_a_group_by_keyword_no_frame_has_is_named_with_the_closest_one(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "small", n_bias=4, n_flat=0, n_light=0, seed=1, compress=False)
    with pytest.raises(ConfigError, match="no selected bias has the keyword 'CAMERAA'.*"
                                          "did you mean 'CAMERA'"):  # fmt: skip
        plan_of(raw, tmp_path, group_by=["CAMERAA"])
    with pytest.raises(ConfigError, match="group_by.*non-unique"):
        load_config({"raw_dir": str(raw), "group_by": ["night", "night"]})
    with pytest.raises(ConfigError, match="lists 'CAMERA' more than once"):
        plan_of(raw, tmp_path, group_by=["CAMERA", "camera"])


def test_frames_without_the_group_by_keyword_are_said_not_silently_grouped(tmp_path):
    raw = tmp_path / "raw"
    frames = write_night(raw, "small", n_bias=6, n_flat=0, n_light=0, seed=1, compress=False)
    for path in frames[:3]:
        rewrite_header(path, CAMERA=None)
    plan = plan_of(raw, tmp_path, group_by=["CAMERA"])
    note = next(note for note in plan.notes if note.startswith("group_by CAMERA"))
    assert "3 of 6 biases have no CAMERA" in note and str(frames[0]) in note
    assert sorted(plan.masters) == ["no_CAMERA", "small"]


@pytest.mark.parametrize(
    "cards, said",
    [
        ({"DATE-OBS": "2026-02-30", "UT": "01:02:03"}, "DATE-OBS = '2026-02-30' is not a date"),
        ({"DATE-OBS": "2026-13-01", "UT": "01:02:03"}, "DATE-OBS = '2026-13-01' is not a date"),
        ({"DATE-OBS": "0001-01-01T00:00:00"}, "is not a time in the years 1950-2199"),
    ],
)
def test_an_impossible_date_is_one_line_naming_the_file_and_the_value(tmp_path, cards, said):
    raw = tmp_path / "raw"
    written = write_archive(raw, "small", [NightSpec("2026-02-27")], CERRO_PACHON, seed=6)
    # a flat with that date anywhere in raw_dir, even without group_by, stops nothing
    flat = raw / "flat.fits"
    shutil.copy(written["2026-02-27"][0], flat)
    rewrite_header(flat, IMAGETYP="FLAT", **cards)
    assert plan_of(raw, tmp_path, group_by=[]).masters == [""]
    assert plan_of(raw, tmp_path).masters == ["2026-02-27"]
    # a bias with it, grouped by night: the file, the value, the reason
    bias = written["2026-02-27"][0]
    rewrite_header(bias, **{"DATE-OBS": None, **cards})
    with pytest.raises(FrameError) as caught:
        plan_of(raw, tmp_path)
    assert str(bias) in str(caught.value) and said in str(caught.value)


def test_a_time_just_before_noon_stays_in_the_night_before(tmp_path):
    raw = tmp_path / "raw"
    written = write_archive(raw, "small", [NightSpec("2026-07-01", morning=3)], 0.0, seed=7)
    for path in written["2026-07-01"]:
        rewrite_header(path, **{"DATE-OBS": "2026-07-02T11:59:59.9996"})
    plan = plan_of(raw, tmp_path)
    assert plan.masters == ["2026-07-01"]
    assert {frame.time.iso for frame in plan.biases.values()} == {"2026-07-02T11:59:59.999"}


@pytest.mark.workflow
def test_a_night_of_one_frame_with_min_frames_one(tmp_path):
    raw = tmp_path / "raw"
    nights = [NightSpec("2026-08-01", afternoon=1, morning=0), NightSpec("2026-08-02")]
    write_archive(raw, "small", nights, CERRO_PACHON, seed=9)
    flow = flow_in(tmp_path / "work", archive_config(raw, combine={"min_frames": 1}))
    flow.run()
    master = flow.results / "master_bias" / "2026-08-01.fits"
    calibrated = flow.results / "calibrated" / "20260801" / "bias_001.fits"
    assert np.array_equal(fitsio.read(str(master)), fitsio.read(str(calibrated)))
    history = {row["group"]: row for row in csv.DictReader(open(flow.results / "calibrations.csv"))}
    assert history["2026-08-01"]["verification"].startswith("unverified: a master of one frame")
    assert history["2026-08-02"]["verification"] == "pass"


def test_the_memory_check_uses_the_output_type_before_any_frame_job(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "strip", n_bias=40, n_flat=0, n_light=0, seed=2, compress=False)
    config = base_config(raw, camera="strip", combine={"mem_limit": "3.5MB"},
                         out_dir=str(tmp_path / "out"))  # fmt: skip
    plan_run(default_config(**config))  # float32: a row of 40 frames fits
    config["output_dtype"] = "float64"
    with pytest.raises(ConfigError, match="combine.mem_limit.*cannot hold one row of 40 "
                                          "frames of 8000 columns"):  # fmt: skip
        plan_run(default_config(**config))


@pytest.mark.workflow
def test_mosaic_extensions_in_another_order_are_matched_by_name(tmp_path):
    raw = tmp_path / "raw"
    paths = write_mosaic_night(raw, "decam_like", n_bias=3, n_flat=0, seed=4, compress=False)
    config = decam_like_config(raw)
    reference = flow_in(tmp_path / "reference", config)
    reference.run()
    with fitsio.FITS(str(paths[1])) as fits:
        hdus = [(hdu.read(), hdu.read_header(), hdu.get_extname()) for hdu in fits]
    with fitsio.FITS(str(paths[1]), "rw", clobber=True) as fits:
        for data, header, name in [hdus[0], *reversed(hdus[1:])]:
            fits.write(data, header=header, extname=name or None)
    flow = flow_in(tmp_path / "work", config)
    flow.run()
    with fitsio.FITS(str(flow.master)) as new, fitsio.FITS(str(reference.master)) as old:
        assert [hdu.get_extname() for hdu in new] == [hdu.get_extname() for hdu in old]
        for label in ("S1", "S2", "N1", "N2"):
            assert np.array_equal(new[label].read(), old[label].read())


@pytest.mark.workflow
def test_a_second_run_on_one_out_dir_is_refused_whatever_its_folder(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "small", n_bias=12, n_flat=0, n_light=0, seed=21, compress=False)
    out = tmp_path / "shared-out"
    first, second = (flow_in(tmp_path / name, base_config(raw, out_dir=str(out)))
                     for name in ("a", "b"))  # fmt: skip
    same = Workflow(first.directory, first.config)
    command = SNAKEMAKE + ["--snakefile", str(first.snakefile), "--directory",
                           str(first.directory), "--configfile", str(first.config_path),
                           "--cores", "1"]  # fmt: skip
    running = subprocess.Popen(command, cwd=first.directory, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        lock = out / ".masterbias.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for other in (second, same):
            text = other.fail()
            line = next(line for line in text.splitlines()
                        if line.startswith("masterbias: out_dir"))  # fmt: skip
            assert f"is in use by another run (pid {running.pid} on host" in line
            assert "wait for it to end" in line and ".masterbias.lock" in line
        assert second.run("--dry-run").returncode == 0  # a dry run only says so
    finally:
        assert running.wait(timeout=300) == 0
    assert second.planned_jobs() == {}
    reference = flow_in(tmp_path / "alone", base_config(raw))
    reference.run("--cores", "1")
    assert (out / "master_bias.fits").read_bytes() == reference.master.read_bytes()
