"""The workflow through Snakemake's command line: products, ccdproc's numbers, reruns."""

import csv
import os
import shutil
import warnings

import fitsio
import numpy as np
import pytest

from conftest import GUIDE_CLIPPING, REPO, Workflow, base_config, folder_digest, guide_combine
from masterbias.sections import parse_section
from masterbias.synth import CAMERAS, write_night

pytestmark = pytest.mark.workflow

#: What one changed raw bias reruns: its frame, the master and the QC (and the figures of
#: the frame shown, when it is that frame: the first); a new one the summary too (a changed
#: one with the same header leaves the summary's rows as they are).
ONE_FRAME_RERUN = {
    "calibrate_frame": 1,
    "combine_biases": 1,
    "write_qc_tables": 1,
    "plot_master_figures": 1,
    "all": 1,
}


def test_night_to_master_equals_the_guides_ccdproc_code(flow, small_night):
    ccdproc = pytest.importorskip("ccdproc")
    from astropy.nddata import CCDData

    before = folder_digest(small_night)
    flow.config["combine"] = GUIDE_CLIPPING
    flow.write_config()
    flow.run()
    assert folder_digest(small_night) == before  # raw data untouched

    rows = list(csv.DictReader(open(flow.results / "summary.csv")))
    assert len(rows) == 7
    assert [row["selected"] for row in rows] == ["True"] * 5 + ["False"] * 2
    calibrated = sorted((flow.results / "calibrated").iterdir())
    assert [p.name for p in calibrated] == [f"small.{i:04d}.fits" for i in range(1, 6)]

    # the guide's code, file by file
    model = CAMERAS["small"]
    overscan = parse_section(model.clean_overscan, (model.rows, model.columns)).slices[1]
    reduced = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in sorted(small_night.glob("*.fits"))[:5]:
            ccd = CCDData.read(raw, unit="adu")
            ccd = ccdproc.subtract_overscan(ccd, overscan=ccd[:, overscan], median=True)
            ccd = ccdproc.trim_image(ccd[:, :64])
            ccd.data = ccd.data.astype(np.float32)
            reduced.append(ccd)
        for ours, theirs in zip(calibrated, reduced, strict=True):
            np.testing.assert_array_equal(fitsio.read(str(ours)), theirs.data)
        master = guide_combine(reduced)
        ours = CCDData.read(flow.master)
    np.testing.assert_array_equal(ours.mask, master.mask)
    np.testing.assert_allclose(ours.data, master.data, rtol=1.2e-7, atol=0)
    np.testing.assert_allclose(
        ours.uncertainty.array, master.uncertainty.array, rtol=1.2e-7, atol=0
    )
    assert ours.data.dtype == np.dtype(">f4") and str(ours.unit) == "adu"
    assert ours.header["NCOMBINE"] == 5
    assert [ours.header[f"IMCMB00{i}"] for i in range(1, 6)] == [p.name for p in calibrated]


def test_master_recovers_the_planted_bias_pattern(flow):
    from masterbias.synth import make_truth

    flow.run()
    master = fitsio.read(str(flow.master))
    truth = make_truth(CAMERAS["small"], 11).pattern[:, :64]
    residual = master - truth
    residual -= np.median(residual)
    # five frames of 4 ADU read noise: the master's noise is about 4 / sqrt(5) = 1.8 ADU
    assert np.std(residual) < 2.5
    assert np.abs(residual).max() < 12


def test_second_run_has_nothing_to_do(flow):
    flow.run()
    assert flow.planned_jobs() == {}


def test_replacing_one_raw_frame_reruns_that_frame_and_the_master(flow, small_night):
    flow.run()
    before = {p.name: p.stat().st_mtime_ns for p in (flow.results / "calibrated").iterdir()}
    other = write_night(small_night.parent / "other", "small", n_bias=2, n_light=0, n_flat=0,
                        seed=99, compress=False)  # fmt: skip
    shutil.copy(other[1], small_night / "small.0002.fits")  # same name, new content
    planned = flow.planned_jobs()
    assert planned == ONE_FRAME_RERUN
    flow.run()
    after = {p.name: p.stat().st_mtime_ns for p in (flow.results / "calibrated").iterdir()}
    assert sorted(name for name in before if after[name] != before[name]) == ["small.0002.fits"]


def test_a_frame_replaced_by_an_older_copy_is_redone(flow, small_night):
    """cp -p, rsync -a and tar x give a replaced frame its old modification time."""
    flow.run()
    frame = small_night / "small.0003.fits"
    before = os.stat(frame)
    other = write_night(small_night.parent / "other", "small", n_bias=3, n_light=0, n_flat=0,
                        seed=98, compress=False)  # fmt: skip
    shutil.copy(other[2], frame)
    os.utime(frame, ns=(before.st_atime_ns, before.st_mtime_ns - 10**11))  # 100 s older
    assert os.path.getsize(frame) == before.st_size
    assert flow.planned_jobs() == ONE_FRAME_RERUN
    flow.run()
    calibrated = fitsio.read(str(flow.results / "calibrated" / "small.0003.fits"))
    raw = fitsio.read(str(frame)).astype(np.float64)
    expected = raw[:, :64] - np.median(raw[:, 67:], axis=1)[:, None]
    np.testing.assert_array_equal(calibrated, expected.astype(np.float32))


def test_touch_alone_reruns_that_frame(flow, small_night):
    flow.run()
    (small_night / "small.0003.fits").touch()
    assert flow.planned_jobs() == ONE_FRAME_RERUN


def test_a_new_raw_bias_reruns_only_its_frame_and_the_master(flow, small_night):
    flow.run()
    (small_night / "extra").mkdir()
    write_night(small_night / "extra", "small", n_bias=1, n_flat=0, n_light=0, seed=5,
                compress=False, prefix="new-")  # fmt: skip
    shutil.move(small_night / "extra" / "new-small.0001.fits", small_night / "new.fits")
    planned = flow.planned_jobs()
    # new.fits is now first: its figures are drawn; a new file is a new row of the summary
    assert planned == dict(ONE_FRAME_RERUN, plot_frame_figures=1, summarize_frames=1)
    flow.run()
    assert fitsio.read_header(str(flow.master))["NCOMBINE"] == 6


def test_changing_the_overscan_region_reruns_every_frame(flow):
    flow.run()
    flow.config["overscan"]["region"] = "[70:80,*]"
    flow.write_config()
    assert flow.planned_jobs() == {
        "calibrate_frame": 5,
        "combine_biases": 1,
        "write_qc_tables": 1,
        "plot_frame_figures": 1,
        "plot_master_figures": 1,
        "all": 1,
    }


def test_changing_only_the_combination_reruns_only_the_combine(flow):
    flow.run()
    flow.config["combine"] = {"method": "median"}
    flow.write_config()
    assert flow.planned_jobs() == {
        "combine_biases": 1,
        "write_qc_tables": 1,
        "plot_master_figures": 1,
        "all": 1,
    }


def copy_workflow(destination):
    for name in ("Snakefile", "rules", "scripts", "config", "envs", "report", "profiles"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__py*"))
        else:
            shutil.copy(source, destination / name)
    return destination / "Snakefile"


@pytest.mark.parametrize(
    "module, expected",
    [
        (
            "combine.py",
            {"combine_biases": 1, "write_qc_tables": 1, "plot_master_figures": 1, "all": 1},
        ),
        (
            "overscan.py",
            {
                "calibrate_frame": 5,
                "combine_biases": 1,
                "write_qc_tables": 1,
                "plot_frame_figures": 1,
                "plot_master_figures": 1,
                "all": 1,
            },
        ),  # fmt: skip
        ("task_summary.py", {"summarize_frames": 1, "all": 1}),
    ],
)
def test_editing_the_science_code_reruns_the_jobs_it_affects(
    tmp_path, small_night, module, expected
):
    copy = tmp_path / "copy"
    copy.mkdir()
    snakefile = copy_workflow(copy)
    work = tmp_path / "w"
    work.mkdir()
    flow = Workflow(work, base_config(small_night), snakefile=snakefile)
    flow.run()
    with open(copy / "scripts" / "masterbias" / module, "a") as stream:
        stream.write("\n# an edit\n")
    assert flow.planned_jobs() == expected


def test_cores_and_memory_limits_give_the_same_master_bit_for_bit(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "strip", n_bias=5, n_flat=0, n_light=0, seed=4, compress=False)
    masters = []
    for cores, mem_limit in [("1", "10MB"), ("2", "1.3MB"), ("2", "2GB")]:
        work = tmp_path / f"w{cores}{mem_limit}"
        work.mkdir()
        flow = Workflow(work, base_config(raw, camera="strip", combine={"mem_limit": mem_limit}))
        flow.run("--cores", cores)
        log = (flow.results / "logs" / "combine_biases.log").read_text()
        masters.append((flow.master.read_bytes(), log))
    assert "16 bands of 1 rows" in masters[1][1]
    assert "1 bands of 16 rows" in masters[2][1]
    assert masters[0][0] == masters[1][0] == masters[2][0]
    # the limit is the job's memory, not a parameter of its product: changing it alone
    # reruns nothing
    flow.config["combine"]["mem_limit"] = "1.3MB"
    flow.write_config()
    assert flow.planned_jobs() == {}


@pytest.mark.parametrize(
    "overscan, trim",
    [({"method": "none"}, {"region": "[1:64,*]"}), ({"method": "none"}, {"region": "none"})],
)
def test_trim_only_and_raw_as_float32_run_end_to_end(tmp_path, small_night, overscan, trim):
    work = tmp_path / "w"
    work.mkdir()
    flow = Workflow(work, base_config(small_night, overscan=overscan, trim=trim))
    flow.run()
    raw = fitsio.read(str(small_night / "small.0001.fits"))
    calibrated = fitsio.read(str(flow.results / "calibrated" / "small.0001.fits"))
    width = 64 if trim["region"] != "none" else raw.shape[1]
    np.testing.assert_array_equal(calibrated, raw[:, :width].astype(np.float32))


def test_compressed_raw_frames_keep_their_names_without_gz(tmp_path):
    raw = tmp_path / "raw"
    write_night(raw, "wide", n_bias=3, n_flat=0, n_light=0, seed=2, compress=True)
    work = tmp_path / "w"
    work.mkdir()
    flow = Workflow(work, base_config(raw, camera="wide"))
    flow.run()
    names = sorted(p.name for p in (flow.results / "calibrated").iterdir())
    assert names == ["wide.0001.fits", "wide.0002.fits", "wide.0003.fits"]
    assert fitsio.read(str(flow.master)).shape == (40, 128)


def test_lint_is_clean(flow):
    done = flow.run("--lint")
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr


def test_no_clipping_from_the_config_is_the_plain_mean(flow):
    flow.config["combine"] = {"method": "average", "sigma_clip": None}
    flow.write_config()
    flow.run()
    frames = [fitsio.read(str(p)) for p in sorted((flow.results / "calibrated").iterdir())]
    expected = np.mean(np.array(frames, dtype=np.float64), axis=0).astype(np.float32)
    np.testing.assert_allclose(fitsio.read(str(flow.master)), expected, rtol=1e-6, atol=1e-5)
    assert fitsio.read_header(str(flow.master))["NREJECT"] == 0
