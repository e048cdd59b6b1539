"""The workflow on a real one-node SLURM cluster started by the test.

Skips where SLURM cannot be started (no root), with the reason; under CI (CI=true) that is
a failure instead, so CI proves the SLURM path on every run.
"""

import collections
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, Workflow, base_config, folder_digest, small_raw
from masterbias.synth import NightSpec, write_archive

pytestmark = pytest.mark.slurm

CLUSTER = REPO / "tests" / "slurm" / "local-cluster.sh"
SLURM_VENV = REPO / ".venv-slurm"


def unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"SLURM test cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        unavailable("starting slurmctld, slurmd and munged needs root")
    state = tmp_path_factory.mktemp("slurm-state")
    done = subprocess.run(["bash", str(CLUSTER), "start", str(state)], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    if done.returncode != 0:
        unavailable(f"the local SLURM cluster did not start: {done.stderr.strip()[-2000:]}")
    yield {"SLURM_CONF": str(state / "slurm.conf")}
    subprocess.run(["bash", str(CLUSTER), "stop", str(state)], check=False, timeout=120)


@pytest.fixture(scope="module")
def slurm_python():
    """A virtual environment with requirements-slurm.txt (the plugin stays out of .venv)."""
    python = SLURM_VENV / "bin" / "python"
    stamp = SLURM_VENV / ".installed"
    wanted = (REPO / "requirements-slurm.txt").read_text() + (REPO / "requirements.txt").read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", str(SLURM_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r",
             str(REPO / "requirements-slurm.txt")], check=True, timeout=900,
        )  # fmt: skip
        stamp.write_text(wanted)
    return python


def run_under_slurm(flow, python, cluster, *args):
    command = [
        str(python), "-m", "snakemake", "--snakefile", str(flow.snakefile),
        "--directory", str(flow.directory), "--configfile", str(flow.config_path),
        "--workflow-profile", str(REPO / "profiles" / "slurm"),
        # this test cluster has no accounting database (see tests/slurm/local-cluster.sh)
        "--slurm-status-command", "squeue", "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1", "--latency-wait", "5", *args,
    ]  # fmt: skip
    env = dict(os.environ, **cluster)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    return done.returncode, done.stdout + done.stderr


def slurm_job_ids(text):
    ids = re.findall(r"SLURM job ID (\d+)", text) + re.findall(r"SLURM jobid (\d+)", text)
    return sorted(set(ids), key=int)


def job_states(job_id, cluster):
    done = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True,
                          env=dict(os.environ, **cluster))  # fmt: skip
    return re.findall(r"JobState=(\w+)", done.stdout)


@pytest.fixture
def night(tmp_path):
    return small_raw(tmp_path / "raw", n_light=0, seed=8, compress=True)


def test_the_workflow_runs_under_slurm_and_gives_the_local_master(
    tmp_path, night, cluster, slurm_python, capsys
):
    local = tmp_path / "local"
    local.mkdir()
    reference = Workflow(local, base_config(night))
    reference.run("--cores", "2")

    work = tmp_path / "slurm"
    work.mkdir()
    flow = Workflow(work, base_config(night))
    before = folder_digest(night)
    code, text = run_under_slurm(flow, slurm_python, cluster)
    assert code == 0, text[-5000:]
    assert folder_digest(night) == before

    ids = slurm_job_ids(text)
    assert len(ids) >= 2, text[-3000:]
    for job_id in ids:
        states = job_states(job_id, cluster)
        assert states and set(states) == {"COMPLETED"}, (job_id, states)
    with capsys.disabled():
        print(f"\nSLURM jobs seen (all COMPLETED): {', '.join(ids)}")
    assert flow.master.read_bytes() == reference.master.read_bytes()


def test_a_failing_job_under_slurm_names_the_file_and_a_rerun_submits_only_what_is_missing(
    tmp_path, night, cluster, slurm_python, capsys
):
    work = tmp_path / "slurm"
    work.mkdir()
    flow = Workflow(work, base_config(night))
    broken = night / "small.0003.fits.gz"
    original = broken.read_bytes()
    damaged = bytearray(original)
    damaged[-40:-20] = bytes(20)  # the pixels' compressed stream, not the header
    broken.write_bytes(bytes(damaged))

    code, text = run_under_slurm(flow, slurm_python, cluster)
    assert code != 0
    found = re.search(r"masterbias: \S*small\.0003\.fits\.gz: the \.gz is damaged", text)
    assert found, text[-5000:]
    done_before = sorted(p.name for p in (flow.results / "calibrated").glob("*.fits"))
    assert "small.0003.fits" not in done_before
    # the first frame's figures are drawn as soon as it is calibrated: maybe already
    shown_done = (flow.results / "qc" / "figures" / "raw_vs_calibrated.png").exists()
    # the summary is made from the headers: it may be there already
    summarized = (flow.results / "summary.csv").exists()

    broken.write_bytes(original)  # fixed: the same bytes as before
    shutil.rmtree(work / ".snakemake" / "slurm_logs", ignore_errors=True)
    code, text = run_under_slurm(flow, slurm_python, cluster)
    assert code == 0, text[-5000:]
    submitted = re.findall(r"(?:rule|checkpoint) (\w+):\n", text.replace("local", ""))
    expected = ["calibrate_frame"] * (5 - len(done_before))
    expected += ["combine_biases", "write_qc_tables", "plot_master_figures", "all"]
    expected += [] if shown_done else ["plot_frame_figures"]
    expected += [] if summarized else ["summarize_frames"]
    assert sorted(submitted) == sorted(expected), text[-3000:]
    with capsys.disabled():
        print(f"\nSLURM rerun after the fix: {', '.join(slurm_job_ids(text))}")


def test_an_archive_with_its_frame_jobs_grouped_under_slurm(tmp_path, cluster, slurm_python,
                                                            capsys):  # fmt: skip
    """docs/archives.md: frame jobs grouped into a few allocations."""
    raw = tmp_path / "archive"
    nights = [NightSpec(f"2026-04-0{day}") for day in (1, 2, 3)]
    write_archive(raw, "small", nights, -70.74, seed=4)  # 24 frames in 4 UT folders
    settings = {"group_by": ["night"], "night": {"longitude": -70.74}}
    local = tmp_path / "local"
    local.mkdir()
    reference = Workflow(local, base_config(raw, **settings))
    reference.run("--cores", "2")

    work = tmp_path / "slurm"
    work.mkdir()
    flow = Workflow(work, base_config(raw, **settings))
    # a group job asks for what its members need when they run side by side; --cores and
    # --resources cap that to what one node of this test cluster has (members run in turn)
    code, text = run_under_slurm(
        flow, slurm_python, cluster, "--groups", "calibrate_frame=frames",
        "--group-components", "frames=12", "--cores", "2", "--resources", "mem_mb=1000",
    )  # fmt: skip
    assert code == 0, text[-5000:]
    ids = slurm_job_ids(text)
    kinds = collections.Counter(re.findall(r"SLURM jobid \d+ \(log: \S*/slurm_logs/(\w+)/", text))
    # the 24 frames in allocations of up to 12, the 3 combines, and the figures of the
    # latest night only (figures: auto; none of these quiet nights is flagged)
    expected = {"group_frames_calibrate_frame": 2, "rule_combine_biases": 3,
                "rule_plot_frame_figures": 1, "rule_plot_master_figures": 1}  # fmt: skip
    assert kinds == expected and len(ids) == 7, (kinds, ids, text[-3000:])
    for job_id in ids:
        assert set(job_states(job_id, cluster)) == {"COMPLETED"}, job_id
    for night in nights:
        name = f"master_bias/{night.date}.fits"
        assert (flow.results / name).read_bytes() == (reference.results / name).read_bytes()
    with capsys.disabled():
        print(f"\nSLURM archive jobs (frames grouped by 12): {', '.join(ids)}")
