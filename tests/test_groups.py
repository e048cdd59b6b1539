"""group_by: one master per group of header values; without it, mixed shapes are an error."""

import csv

import fitsio
import pytest

from conftest import Workflow
from masterbias.synth import write_night

pytestmark = pytest.mark.workflow


@pytest.fixture
def mixed(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "small", n_bias=3, n_flat=0, n_light=0, seed=1, compress=False)
    write_night(raw, "wide", n_bias=4, n_flat=1, n_light=0, seed=2, compress=False)
    work = tmp_path / "work"
    work.mkdir()
    config = {
        "raw_dir": str(raw),
        "camera": None,
        "overscan": {"method": "median", "region": "header"},
        "trim": {"region": "header"},
    }
    return Workflow(work, config)


def test_one_master_per_group(mixed):
    mixed.config["group_by"] = ["CAMERA"]
    mixed.write_config()
    mixed.run()
    small = fitsio.read(str(mixed.results / "master_bias" / "small.fits"), header=True)
    wide = fitsio.read(str(mixed.results / "master_bias" / "wide.fits"), header=True)
    assert small[0].shape == (64, 64) and small[1]["NCOMBINE"] == 3
    assert wide[0].shape == (40, 128) and wide[1]["NCOMBINE"] == 4
    rows = list(csv.DictReader(open(mixed.results / "summary.csv")))
    assert [row["group"] for row in rows] == ["small"] * 3 + ["wide"] * 4 + [""]
    assert mixed.planned_jobs() == {}
    # a new frame in one group redoes only that group's master
    write_night(mixed.directory.parent / "more", "wide", n_bias=1, n_flat=0, n_light=0, seed=9,
                compress=False, prefix="late-")  # fmt: skip
    (mixed.directory.parent / "more" / "late-wide.0001.fits").rename(
        mixed.directory.parent / "raw" / "late.fits"
    )
    assert mixed.planned_jobs() == {
        "calibrate_frame": 1, "combine_biases": 1, "write_qc_tables": 1, "summarize_frames": 1,
        "plot_frame_figures": 1, "plot_master_figures": 1, "all": 1,
    }  # fmt: skip


def test_mixed_shapes_without_group_by_suggest_it(mixed):
    text = mixed.fail()
    line = next(line for line in text.splitlines() if line.startswith("masterbias: "))
    assert "small.0001.fits: image is 64 x 80 but most biases are 40 x 150" in line
    assert "group_by" in line


def test_a_group_with_too_few_frames_is_skipped_with_the_reason(mixed):
    mixed.config["group_by"] = ["CAMERA"]
    mixed.config["combine"] = {"min_frames": 4}
    mixed.write_config()
    done = mixed.run()
    line = "masterbias: group 'small': no master: 3 bias(es), fewer than combine.min_frames = 4"
    assert line in done.stdout + done.stderr
    assert sorted(p.name for p in (mixed.results / "master_bias").iterdir()) == ["wide.fits"]
    rows = list(csv.DictReader(open(mixed.results / "summary.csv")))
    assert rows[0]["group"] == "small" and rows[0]["reason"].startswith("no master: 3 bias(es)")
    mixed.config["combine"] = {"min_frames": 5}  # no group left: the run stops, saying why
    mixed.write_config()
    text = mixed.fail()
    assert "config key 'combine.min_frames': only 3 bias(es) selected in group 'small'" in text
