"""Interrupted runs and full or read-only disks: no half-written product, same master."""

import os
import signal
import subprocess
import time

import fitsio
import numpy as np
import pytest

from conftest import SNAKEMAKE, Workflow, base_config
from masterbias.synth import write_night

pytestmark = pytest.mark.workflow


def night(tmp_path, n_bias=12):
    raw = tmp_path / "raw"
    write_night(raw, "small", n_bias=n_bias, n_flat=0, n_light=0, seed=21, compress=False)
    return raw


def flow_in(folder, raw, **overrides):
    folder.mkdir(parents=True)
    return Workflow(folder, base_config(raw, **overrides))


def test_sigkill_mid_run_then_rerun_incomplete_gives_the_same_master(tmp_path):
    raw = night(tmp_path)
    reference = flow_in(tmp_path / "reference", raw)
    reference.run("--cores", "1")

    flow = flow_in(tmp_path / "killed", raw)
    command = SNAKEMAKE + [
        "--snakefile", str(flow.snakefile), "--directory", str(flow.directory),
        "--configfile", str(flow.config_path), "--cores", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=flow.directory, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    calibrated = flow.results / "calibrated"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [p for p in calibrated.glob("*.fits")] if calibrated.is_dir() else []
        if len(done) >= 4 or process.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the whole process group, jobs included
    process.wait()
    assert not flow.master.exists(), "the run finished before it could be interrupted"
    for path in calibrated.glob("*.fits"):  # whatever is there is whole
        assert fitsio.read(str(path)).shape == (64, 64)

    flow.run("--unlock")
    flow.run("--cores", "1", "--rerun-incomplete")
    assert flow.master.read_bytes() == reference.master.read_bytes()
    leftovers = [p.name for p in flow.results.rglob(".partial-*")]
    assert leftovers == []


def test_repeated_runs_give_the_same_master(tmp_path):
    raw = night(tmp_path, n_bias=5)
    flow = flow_in(tmp_path / "w", raw)
    flow.run()
    first = flow.master.read_bytes()
    flow.run("--forceall")
    assert flow.master.read_bytes() == first


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a few hundred kB (needs root: CI runs as root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_ends_with_a_clear_error_and_no_partial_products(tmp_path, small_disk):
    raw = night(tmp_path, n_bias=12)
    flow = flow_in(tmp_path / "w", raw, out_dir=str(small_disk / "out"))
    text = flow.fail("--keep-going")
    lines = [line for line in text.splitlines() if line.startswith("masterbias: ")]
    assert lines, text[-3000:]
    assert "cannot write:" in lines[0] and "bytes free)" in lines[0]
    assert str(small_disk / "out") in lines[0]
    out = small_disk / "out"
    assert list(out.rglob(".partial-*")) == []
    for path in out.rglob("*.fits"):  # every product present is whole
        data = fitsio.read(str(path))
        assert data.shape == (64, 64) and np.isfinite(data).all()


def test_a_read_only_out_dir_stops_before_any_job(tmp_path, small_disk):
    raw = night(tmp_path, n_bias=3)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    flow = flow_in(tmp_path / "w", raw, out_dir=str(small_disk / "out"))
    text = flow.fail()
    line = next(line for line in text.splitlines() if line.startswith("masterbias: "))
    assert "config key 'out_dir'" in line and "Read-only file system" in line


def test_two_runs_from_different_folders_on_one_out_dir(tmp_path):
    """Their temporary files never share a name: both finish, with the same master."""
    raw = night(tmp_path, n_bias=6)
    out = tmp_path / "shared-out"
    flows = [flow_in(tmp_path / name, raw, out_dir=str(out)) for name in ("a", "b")]
    runs = [
        subprocess.Popen(
            SNAKEMAKE + ["--snakefile", str(flow.snakefile), "--directory", str(flow.directory),
                         "--configfile", str(flow.config_path), "--cores", "1"],
            cwd=flow.directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for flow in flows
    ]  # fmt: skip
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    reference = flow_in(tmp_path / "alone", raw)
    reference.run("--cores", "1")
    assert (out / "master_bias.fits").read_bytes() == reference.master.read_bytes()
    assert list(out.rglob(".partial-*")) == []
