"""An observatory's archive: one verified master per observing night, and the history."""

import csv
import os

import fitsio
import numpy as np
import pytest

from conftest import Workflow, archive_config
from masterbias.config import default_config
from masterbias.history import master_infos, write_history
from masterbias.planning import plan_run
from masterbias.products import group_slot, product
from masterbias.synth import Change, NightSpec, write_archive
from masterbias.task_calibrate import calibrate_file
from masterbias.task_combine import combine_files

CERRO_PACHON = -70.74
SIDING_SPRING = 149.07

#: Eight nights; the changes planted: the read noise up from the third night on, a new hot
#: column from the fifth, the bias level up from the seventh.
NIGHTS = [NightSpec(f"2026-03-{day:02d}") for day in range(1, 9)]
CHANGES = (
    Change(2, "read_noise", 1.2),
    Change(4, "column", 25.0, column=40),
    Change(6, "level", 30.0),
)
PLANTED = {"2026-03-03": "read_noise", "2026-03-05": "structure", "2026-03-07": "level"}


def reduce_in_process(raw, out, config):
    """What the workflow's jobs do, in this process: calibrate, combine, history."""
    from masterbias.layout import LayoutSpec

    config = default_config(**{**config, "out_dir": str(out)})
    plan = plan_run(config)
    layout = LayoutSpec.from_config(config).to_params()
    for name, frame in plan.biases.items():
        calibrate_file(frame.path, product(str(out), "calibrated", frame=name), layout, "all",
                       "float32")  # fmt: skip
    records, masters = {}, {}

    def path(kind, label, **values):
        return product(str(out), kind, group=group_slot(label), **values)

    for label in plan.masters:
        group = plan.groups[label]
        masters[label] = os.path.relpath(path("master", label), out)
        records[label] = path("combine_record", label)
        combine_files(
            [product(str(out), "calibrated", frame=name) for name in group.frames],
            {name: plan.biases[name].time.iso for name in group.frames},
            path("master", label), records[label], config["combine"], 10**8,
        )  # fmt: skip
    infos = [info.to_json() for info in master_infos(plan)]
    return write_history(infos, records, masters, str(out), str(out / "calibrations.csv"))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_flags_fall_on_the_planted_nights_and_nowhere_else(tmp_path, seed):
    raw = tmp_path / "raw"
    write_archive(raw, "small", NIGHTS, CERRO_PACHON, CHANGES, seed=seed)
    rows = reduce_in_process(raw, tmp_path / "out", archive_config(raw))
    flags = {row["group"]: row["flags"] for row in rows}
    assert flags == {night.date: PLANTED.get(night.date, "") for night in NIGHTS}
    assert all(row["verification"] == "pass" for row in rows)
    after = [row for row in rows if row["valid_from"] >= "2026-03-03"]
    assert min(row["read_noise_adu"] for row in after) > 5.0  # 4 ADU + 1.2, and the overscan
    # a night a master each: each covers its own night, the first back and the last on for
    # apply.max_nights (90)
    assert [(row["valid_from"], row["valid_to"]) for row in rows] == (
        [("2025-12-01", "2026-03-01")] + [(n.date, n.date) for n in NIGHTS[1:-1]]
        + [("2026-03-08", "2026-06-06")]
    )  # fmt: skip


def test_an_archive_of_nights_through_the_workflow(tmp_path):
    """UT-date folders with clashing names, afternoon and morning biases of a night in two
    of them, the old split DATE-OBS + UT form, frames with only DATE, a longitude from the
    configuration; a night with too few biases; then a new night."""
    raw = tmp_path / "raw"
    nights = [
        NightSpec("2026-05-10"),
        NightSpec("2026-05-11", time_form="split"),
        NightSpec("2026-05-12", time_form="date"),
        NightSpec("2026-05-13", afternoon=1, morning=1),
        NightSpec("2026-05-14", afternoon=3, morning=2),
    ]
    written = write_archive(raw, "small", nights, SIDING_SPRING, seed=7,
                            longitude_in_header=False)  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, archive_config(raw, night={"longitude": SIDING_SPRING}))
    done = flow.run()
    assert "masterbias: group '2026-05-13': no master: 2 bias(es)" in done.stdout + done.stderr
    masters = flow.results / "master_bias"
    assert sorted(p.name for p in masters.iterdir()) == [
        "2026-05-10.fits", "2026-05-11.fits", "2026-05-12.fits", "2026-05-14.fits",
    ]  # fmt: skip
    for night in ("2026-05-10", "2026-05-11", "2026-05-12", "2026-05-14"):
        header = fitsio.read_header(str(masters / f"{night}.fits"))
        combined = [header[f"IMCMB{i:03d}"] for i in range(1, header["NCOMBINE"] + 1)]
        assert combined == sorted(str(p.relative_to(raw)) for p in written[night])
        assert header["VERIFY"] == "pass"
    # a night's biases in two UT folders, their names clashing with other nights'
    assert {p.parent.name for p in written["2026-05-10"]} == {"20260510"}  # east: one UT day
    assert (flow.results / "calibrated" / "20260510" / "bias_001.fits").exists()
    history = list(csv.DictReader(open(flow.results / "calibrations.csv")))
    assert [row["group"] for row in history] == [
        "2026-05-10", "2026-05-11", "2026-05-12", "2026-05-13", "2026-05-14",
    ]  # fmt: skip
    skipped = history[3]
    assert skipped["skipped"].startswith("2 bias(es), fewer than combine.min_frames")
    # 05-13 has no master: its frames take the nearer one, 05-12 (the earlier of two as near)
    assert history[2]["valid_to"] == "2026-05-13" and history[-1]["valid_to"] == "2026-08-12"
    assert skipped["valid_from"] == skipped["valid_to"] == ""
    assert all(row["flags"] == "" for row in history)

    # the next night arrives: only its frames, its master and the tables (the history
    # compares it with the night before; its figures are drawn after the history chose it)
    before = {p: p.stat().st_mtime_ns for p in flow.results.rglob("*.fits")}
    write_archive(tmp_path / "next", "small", nights + [NightSpec("2026-05-15")],
                  SIDING_SPRING, seed=7, longitude_in_header=False)  # fmt: skip
    arriving = sorted((tmp_path / "next").rglob("*.fits"))
    new = [p for p in arriving if not (raw / p.relative_to(tmp_path / "next")).exists()]
    for path in new:
        (raw / path.relative_to(tmp_path / "next")).parent.mkdir(exist_ok=True)
        path.rename(raw / path.relative_to(tmp_path / "next"))
    assert flow.planned_jobs() == {
        "calibrate_frame": 8, "combine_biases": 1, "write_qc_tables": 1,
        "summarize_frames": 1, "all": 1,
    }  # fmt: skip
    flow.run()
    assert {p: p.stat().st_mtime_ns for p in before} == before
    log = (flow.results / "logs" / "write_qc_tables.log").read_text()
    assert "compared 1 masters with the one before (3 kept from earlier runs)" in log
    figures = flow.results / "qc" / "figures"
    # the night before keeps the figures it had as the latest: its master has not changed
    assert sorted(p.name for p in figures.iterdir() if p.is_dir()) == ["2026-05-14", "2026-05-15"]


def test_a_frame_without_a_usable_time_is_named_with_the_keywords_tried(tmp_path):
    raw = tmp_path / "raw"
    written = write_archive(raw, "small", NIGHTS[:1], CERRO_PACHON, seed=2)
    path = written["2026-03-01"][0]
    data, header = fitsio.read(str(path), header=True)
    header.delete("DATE-OBS")
    fitsio.write(str(path), data, header=header, clobber=True)
    with pytest.raises(Exception, match="no usable time in DATE-OBS") as caught:
        plan_run(default_config(**archive_config(raw, out_dir=str(tmp_path / "out"))))
    assert str(path) in str(caught.value) and "'exclude'" in str(caught.value)


def test_without_a_longitude_nights_are_taken_in_ut_with_a_warning(tmp_path):
    raw = tmp_path / "raw"
    write_archive(raw, "small", NIGHTS[:2], CERRO_PACHON, seed=3, longitude_in_header=False)
    plan = plan_run(default_config(**archive_config(raw, out_dir=str(tmp_path / "out"))))
    assert any("their night is the UT date of (time - 12 h)" in note for note in plan.notes)
    # local 16:00 at -70.74 is 20:43 UT: taken in UT, afternoon and morning still meet
    assert plan.masters == ["2026-03-01", "2026-03-02"]


def test_the_verification_catches_a_master_noisier_than_its_frames(tmp_path):
    rng = np.random.default_rng(5)
    pattern = rng.normal(0, 10, (200, 150))
    paths, frames = [], {}
    for index in range(8):
        # two frames carry pattern noise that the frame pairs measured do not all see
        extra = rng.normal(0, 8.0, pattern.shape) if index in (5, 7) else 0.0
        image = (pattern + rng.normal(0, 4.0, pattern.shape) + extra).astype(np.float32)
        path = tmp_path / f"f{index}.fits"
        fitsio.write(str(path), image)
        paths.append(str(path))
        frames[path.name] = None
    combine = default_config()["combine"]
    combine["reject_frames"] = None
    record = combine_files(paths[:5], dict(list(frames.items())[:5]), str(tmp_path / "good.fits"),
                           str(tmp_path / "good.json"), combine, 10**8)  # fmt: skip
    check = record["extensions"][0]["verification"][0]
    assert check["passed"] and check["noise"] == pytest.approx(4.0 / np.sqrt(5), rel=0.05)
    assert check["expected_noise"] == pytest.approx(4.0 / np.sqrt(5), rel=0.03)
    record = combine_files(paths, frames, str(tmp_path / "bad.fits"), str(tmp_path / "bad.json"),
                           combine, 10**8)  # fmt: skip
    check = record["extensions"][0]["verification"][0]
    assert not check["passed"] and "the frames differ by more than read noise" in check["reason"]
    assert fitsio.read_header(str(tmp_path / "bad.fits"))["VERIFY"] == "fail"


def test_two_masters_of_quiet_nights_show_no_structure():
    """The difference of two masters of quiet 1024 x 1024 nights: digitised frames make
    their averages multiples of 0.1 ADU, and the per-row overscan levels give each row an
    offset; nothing in it stands out, night after night."""
    from masterbias.verification import stand_out

    flagged = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        rows = rng.normal(0.0, 0.42, (1024, 1))
        difference = np.round((rng.normal(0.0, 1.8, (1024, 1024)) + rows) / 0.1) * 0.1
        found = stand_out(lambda first, end, d=difference: d[first:end], difference.shape)
        if found.columns or found.rows or found.patches:
            flagged.append((seed, found))
    assert flagged == []
