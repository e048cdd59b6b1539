"""An archive costs its changes: processed nights stay out of Snakemake's graph of jobs, and
every change still reruns exactly what it feeds (masterbias.seals)."""

import os
import re

import fitsio
import pytest

from conftest import archive_config, flow_in
from masterbias.synth import NightSpec, write_archive

pytestmark = pytest.mark.workflow

CERRO_PACHON = -70.74
NIGHTS = [NightSpec(f"2026-10-{day:02d}", afternoon=2, morning=1) for day in (1, 2, 3, 5, 6)]


def jobs_in_graph(flow) -> dict[str, int]:
    """Rule -> jobs in the graph Snakemake builds (run or not), from ``--dag``."""
    text = flow.run("--dag").stdout
    names = re.findall(r'label = "(\w+)', text)
    return {name: names.count(name) for name in set(names)}


def products(flow) -> dict[str, int]:
    """Every FITS product and record, with its modification time."""
    paths = [*flow.results.rglob("*.fits"), *(flow.results / "qc" / "combine").glob("*.json")]
    return {str(path.relative_to(flow.results)): path.stat().st_mtime_ns for path in paths}


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


@pytest.fixture
def archive(tmp_path):
    raw = tmp_path / "raw"
    written = write_archive(raw, "small", NIGHTS, CERRO_PACHON, seed=17)
    flow = flow_in(tmp_path / "work", archive_config(raw))
    flow.run()
    return flow, raw, written


def test_processed_nights_stay_out_of_the_graph(archive):
    flow, _, _ = archive
    assert flow.planned_jobs() == {}
    graph = jobs_in_graph(flow)
    # the latest night's jobs only (its figures are drawn), nothing of the four before it
    assert graph["calibrate_frame"] == 3 and graph["combine_biases"] == 1
    forced = flow.run("--dry-run", "--forceall").stdout
    assert re.search(r"calibrate_frame\s+15\b", forced)


def test_a_changed_frame_in_an_old_night_reruns_that_night_only(archive):
    flow, raw, written = archive
    before = products(flow)
    old = written["2026-10-02"][0]
    stamp = old.stat()
    data, header = fitsio.read(str(old), header=True)
    data[5, 5] += 100
    fitsio.write(str(old), data, header=header, clobber=True)
    os.utime(old, ns=(stamp.st_atime_ns, stamp.st_mtime_ns - 10**12))  # as rsync -a would
    assert flow.planned_jobs() == {
        "calibrate_frame": 1, "combine_biases": 1, "write_qc_tables": 1, "all": 1,
    }  # fmt: skip
    flow.run()
    relative = str(old.relative_to(raw))
    assert changed(before, products(flow)) == {
        f"calibrated/{relative}", "master_bias/2026-10-02.fits", "qc/combine/2026-10-02.json",
    }  # fmt: skip
    assert flow.planned_jobs() == {}


def test_a_night_inserted_between_two_reruns_it_and_the_comparison_after_it(archive):
    flow, raw, _ = archive
    before = products(flow)
    night = NightSpec("2026-10-04", afternoon=2, morning=1)
    write_archive(raw / "inserted", "small", [night], CERRO_PACHON, seed=17)
    assert flow.planned_jobs() == {
        "calibrate_frame": 3, "combine_biases": 1, "write_qc_tables": 1,
        "summarize_frames": 1, "all": 1,
    }  # fmt: skip
    flow.run()
    made = changed(before, products(flow))
    assert {name for name in made if name.startswith("master_bias")} == {
        "master_bias/2026-10-04.fits"
    }
    log = (flow.results / "logs" / "write_qc_tables.log").read_text()
    assert "compared 2 masters with the one before (3 kept from earlier runs)" in log


def test_settings_rerun_what_they_feed(archive):
    flow, _, _ = archive
    flow.config["combine"] = {"method": "median"}
    flow.write_config()
    assert flow.planned_jobs() == {"combine_biases": 5, "write_qc_tables": 1, "all": 1}
    flow.run()
    assert flow.planned_jobs() == {}
    flow.config["overscan"] = {"method": "mean", "region": flow.config["overscan"]["region"]}
    flow.write_config()
    assert flow.planned_jobs() == {
        "calibrate_frame": 15, "combine_biases": 5, "write_qc_tables": 1, "all": 1,
    }  # fmt: skip


def test_a_deleted_product_of_an_old_night_is_made_again(archive):
    flow, _, written = archive
    calibrated = sorted((flow.results / "calibrated" / "20261002").glob("*.fits"))[0]
    calibrated.unlink()
    assert flow.planned_jobs() == {
        "calibrate_frame": 1, "combine_biases": 1, "write_qc_tables": 1, "all": 1,
    }  # fmt: skip
    flow.run()
    (flow.results / "master_bias" / "2026-10-03.fits").unlink()
    assert flow.planned_jobs() == {"combine_biases": 1, "write_qc_tables": 1, "all": 1}
    flow.run()
    assert flow.planned_jobs() == {}
