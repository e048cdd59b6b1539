"""Which master applies to a frame (masterbias.registry), and frames calibrated with it."""

import csv
import subprocess
import sys

import fitsio
import numpy as np
import pytest

from conftest import REPO, archive_config, decam_like_config, flow_in
from masterbias.registry import Choice, choose, validity
from masterbias.synth import NightSpec, write_archive, write_mosaic_night

CERRO_PACHON = -70.74


def master(night, verification="pass", mode=None, extensions=("",), valid=None):
    return {"group": night, "master": f"master_bias/{night}.fits", "night": night,
            "mode": mode or {}, "verification": verification, "sha256": "s",
            "extensions": list(extensions),
            "valid_from": valid[0] if valid else "",
            "valid_to": valid[1] if valid else ""}  # fmt: skip


def series(nights, failed=(), max_nights=90):
    """Masters of one mode, their validity from the rule."""
    good = [night not in failed for night in nights]
    ranges = validity(nights, good, max_nights)
    return [master(night, "pass" if ok else "fail: noisy", valid=valid)
            for night, ok, valid in zip(nights, good, ranges, strict=True)]  # fmt: skip


def test_the_validity_of_each_master_is_half_way_to_its_good_neighbours():
    nights = ["2026-01-10", "2026-01-14", "2026-01-15", "2026-01-20"]
    ranges = validity(nights, [True, True, False, True], 3)
    assert ranges == [
        ("2026-01-07", "2026-01-12"),  # the 12th is as near to both: the earlier
        ("2026-01-13", "2026-01-17"),  # the failed 15th covers nothing; its nights go over
        None,
        ("2026-01-18", "2026-01-23"),
    ]
    assert validity([None], [True], 3) == [("", "")]  # not grouped by night: always


@pytest.mark.parametrize(
    "night, expected, away, why",
    [
        ("2026-01-10", "2026-01-10", 0, "the master of its own night"),
        ("2026-01-12", "2026-01-10", -2, "2 nights earlier (its own night has no master)"),
        ("2026-01-13", "2026-01-14", 1, "1 nights later (its own night has no master)"),
        ("2026-01-15", "2026-01-14", -1, "(its own night's master failed its verification)"),
        ("2026-01-07", "2026-01-10", 3, "3 nights later"),
        ("2026-01-06", None, None, "(2026-01-10) is 4 nights away, beyond apply.max_nights"),
        ("2026-01-24", None, None, "(2026-01-20) is 4 nights away, beyond apply.max_nights"),
    ],
)
def test_own_night_else_nearest_good_ties_earlier_none_beyond_the_limit(night, expected, away,
                                                                        why):  # fmt: skip
    masters = series(["2026-01-10", "2026-01-14", "2026-01-15", "2026-01-20"],
                     failed={"2026-01-15"}, max_nights=3)  # fmt: skip
    choice = choose("f.fits", {}, night, None, masters)
    assert choice.night == expected and choice.nights_away == away
    assert why in choice.reason
    if expected:  # the validity written for the master holds the night
        row = next(row for row in masters if row["night"] == expected)
        assert row["valid_from"] <= night <= row["valid_to"]


def test_another_mode_a_missing_extension_and_no_good_master_are_said():
    masters = [master("2026-02-01", mode={"CCDSUM": "1 1"}, extensions=["S1", "S2"],
                      valid=("2026-01-01", "2026-03-01"))]  # fmt: skip
    other = choose("f.fits", {"CCDSUM": "2 2"}, "2026-02-01", None, masters)
    assert other == Choice("f.fits", None, None, None, None,
                           "no master of its mode (CCDSUM = '2 2')")  # fmt: skip
    wider = choose("f.fits", {"CCDSUM": "1 1"}, "2026-02-01", ["S1", "S2", "N1"], masters)
    assert wider.master is None and "its extension N1 is not in master_bias" in wider.reason
    masters[0]["verification"], masters[0]["valid_from"] = "fail: noisy", ""
    none = choose("f.fits", {"CCDSUM": "1 1"}, "2026-02-01", None, masters)
    assert none.master is None and "passed its verification" in none.reason


#: The nights of the archive: frames on each; 07-02 has too few biases, 07-04 a master that
#: fails its verification (a noisy bias among four), none on 07-06 to 07-07, and a night
#: far from every master.
NIGHTS = [
    NightSpec("2026-07-01", afternoon=2, morning=1, flats=1, lights=1),
    NightSpec("2026-07-02", afternoon=1, morning=1, flats=1),
    NightSpec("2026-07-03", afternoon=2, morning=1, lights=1),
    NightSpec("2026-07-04", afternoon=3, morning=1, noisy=1, flats=1),
    NightSpec("2026-07-05", afternoon=2, morning=1),
    NightSpec("2026-07-08", afternoon=2, morning=1, lights=1),
]
#: Each frame's expected master (the lights of a night are in the next UT folder).
EXPECTED = {
    "20260701/flat_001.fits": "2026-07-01", "20260702/light_001.fits": "2026-07-01",
    "20260702/flat_001.fits": "2026-07-01",  # 07-02 has no master: 07-01 and 07-03 tie
    "20260704/light_001.fits": "2026-07-03",
    "20260704/flat_001.fits": "2026-07-03",  # 07-04's failed: 07-03 and 07-05 tie
    "20260709/light_001.fits": "2026-07-08",
    "20261101/light_001.fits": None,  # 115 nights from 07-08
}  # fmt: skip


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("applied")
    raw = tmp / "raw"
    write_archive(raw, "small", NIGHTS, CERRO_PACHON, seed=23)
    write_archive(raw, "small", [NightSpec("2026-10-31", 0, 0, lights=1)], CERRO_PACHON,
                  seed=24)  # fmt: skip
    config = archive_config(raw, select={"IMAGETYP": ["BIAS"]},
                            apply={"select": {"IMAGETYP": ["FLAT", "LIGHT"]}})  # fmt: skip
    flow = flow_in(tmp / "work", config)
    done = flow.run()
    return raw, flow, done.stdout + done.stderr


def test_each_frame_gets_the_expected_master_and_the_validity_agrees(applied):
    raw, flow, text = applied
    history = {row["group"]: row for row in csv.DictReader(open(flow.results / "calibrations.csv"))}
    assert history["2026-07-04"]["verification"].startswith("fail")
    assert history["2026-07-04"]["valid_from"] == "" and history["2026-07-02"]["skipped"]
    rows = {row["file"]: row for row in csv.DictReader(open(flow.results / "debiased.csv"))}
    chosen = {name: row["night"] or None for name, row in rows.items()}
    assert chosen == EXPECTED
    for name, row in rows.items():
        if row["master"]:
            valid = history[row["night"]]
            night = _night_of(raw / name)
            assert valid["valid_from"] <= night <= valid["valid_to"], name
            assert (flow.results / row["debiased"]).exists()
    far = rows["20261101/light_001.fits"]
    assert far["debiased"] == "" and "beyond apply.max_nights" in far["reason"]
    assert f"masterbias: {raw / '20261101/light_001.fits'}: no master: " in text


def _night_of(path):
    from masterbias.obstime import frame_night, header_longitude, observation_time
    from masterbias.rawfile import read_raw_header

    keywords = read_raw_header(path).keywords
    return frame_night(observation_time(keywords).iso, None, header_longitude(keywords)[0])


def test_debiased_pixels_are_raw_less_overscan_rows_less_master_trimmed(applied):
    raw, flow, _ = applied
    for name, night in EXPECTED.items():
        if night is None:
            continue
        data = fitsio.read(str(raw / name)).astype(np.float64)
        master = fitsio.read(str(flow.results / "master_bias" / f"{night}.fits"))
        levels = np.median(data[:, 67:80], axis=1)  # the clean overscan, [68:80,*]
        expected = (data[:, :64] - levels[:, np.newaxis] - master).astype(np.float32)
        debiased, header = fitsio.read(str(flow.results / "debiased" / name), header=True)
        np.testing.assert_array_equal(debiased, expected)
        assert header["MBFILE"] == f"master_bias/{night}.fits" and header["MBNIGHT"] == night


def test_the_command_prints_each_files_master_and_says_why_not(applied):
    raw, flow, _ = applied
    files = [str(raw / "20260704/flat_001.fits"), str(raw / "20261101/light_001.fits")]
    done = subprocess.run(
        [sys.executable, "-m", "masterbias.registry", str(flow.results), *files],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "scripts")},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == f"{files[0]}\tmaster_bias/2026-07-03.fits\n"
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"masterbias: {files[1]}: no master: the nearest good master")


@pytest.mark.workflow
def test_a_night_that_gets_a_master_redoes_the_frames_it_now_serves_and_no_other(applied):
    raw, flow, _ = applied
    debiased = flow.results / "debiased"
    before = {str(p.relative_to(debiased)): p.stat().st_mtime_ns for p in debiased.rglob("*.fits")}
    # a third bias for 07-02: it has a master now, and its flat takes it
    write_archive(raw / "late", "small", [NightSpec("2026-07-02", afternoon=1, morning=0)],
                  CERRO_PACHON, seed=25)  # fmt: skip
    flow.run()
    after = {str(p.relative_to(debiased)): p.stat().st_mtime_ns for p in debiased.rglob("*.fits")}
    assert sorted(name for name in after if after[name] != before.get(name)) == [
        "20260702/flat_001.fits"
    ]
    rows = {row["file"]: row for row in csv.DictReader(open(flow.results / "debiased.csv"))}
    assert rows["20260702/flat_001.fits"]["night"] == "2026-07-02"
    assert rows["20260702/light_001.fits"]["night"] == "2026-07-01"


def test_a_mosaic_frame_is_debiased_extension_by_extension(tmp_path):
    raw = tmp_path / "raw"
    paths = write_mosaic_night(raw, "decam_like", n_bias=3, n_flat=1, seed=6, compress=False)
    flow = flow_in(
        tmp_path / "work", decam_like_config(raw, apply={"select": {"OBSTYPE": ["dome flat"]}})
    )
    flow.run()
    flat = paths[-1]
    with fitsio.FITS(str(flow.results / "debiased" / flat.name)) as debiased, \
            fitsio.FITS(str(flow.results / "calibrated" / paths[0].name)) as calibrated, \
            fitsio.FITS(str(flow.master)) as master:  # fmt: skip
        for label in ("S1", "S2", "N1", "N2"):
            assert debiased[label].read_header()["MBFILE"] == "master_bias.fits"
            assert debiased[label].read().shape == calibrated[label].read().shape
            assert np.median(debiased[label].read()) > 1000  # the flat's light, bias gone
            assert np.median(master[label].read()) < 50


def test_a_lower_case_group_by_key_still_matches_frames_to_their_masters(tmp_path):
    """The history keys a master's mode as a frame's mode is read: by the header keyword."""
    from masterbias.config import default_config
    from masterbias.history import master_infos
    from masterbias.planning import plan_run
    from masterbias.registry import frame_facts, rule_of

    raw = tmp_path / "raw"
    write_archive(raw, "small", [NightSpec("2026-05-01")], -70.74, seed=2)
    config = default_config(**archive_config(raw, group_by=["night", "filter"],
                                             out_dir=str(tmp_path / "out")))  # fmt: skip
    plan = plan_run(config)
    (info,) = master_infos(plan)
    frame = next(iter(plan.biases.values()))
    facts = frame_facts(frame.keywords, [], frame.time, frame.longitude[0], rule_of(config))
    assert dict(info.mode) == facts["mode"] and list(facts["mode"]) == ["FILTER"]
