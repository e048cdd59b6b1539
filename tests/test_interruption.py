"""Interrupted runs and full or read-only disks: no half-written product, same master."""

import os
import shutil
import signal
import subprocess
import threading
import time

import fitsio
import numpy as np
import pytest

from conftest import SNAKEMAKE, archive_config, base_config, flow_in, small_raw
from masterbias.synth import NightSpec, write_archive

pytestmark = pytest.mark.workflow


def night(tmp_path, n_bias=12):
    return small_raw(tmp_path / "raw", n_bias=n_bias, n_flat=0, n_light=0, seed=21)


def test_sigkill_mid_run_then_rerun_incomplete_gives_the_same_master(tmp_path):
    raw = night(tmp_path)
    reference = flow_in(tmp_path / "reference", base_config(raw))
    reference.run("--cores", "1")

    flow = flow_in(tmp_path / "killed", base_config(raw))
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
    flow = flow_in(tmp_path / "w", base_config(raw))
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
    flow = flow_in(tmp_path / "w", base_config(raw, out_dir=str(small_disk / "out")))
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
    flow = flow_in(tmp_path / "w", base_config(raw, out_dir=str(small_disk / "out")))
    text = flow.fail()
    line = next(line for line in text.splitlines() if line.startswith("masterbias: "))
    assert "config key 'out_dir'" in line and "Read-only file system" in line


#: Seconds a run may take to stop after a SIGTERM.
STOP_BOUND = 20

#: When SIGTERM is sent: after a line of Snakemake's output (None: after the start) and a
#: delay; together they fall on the planning, the frame jobs, the combines, the
#: summary, the history and its comparisons, the figures, and the moments the scheduler
#: holds its lock (selecting jobs, finishing them).
MOMENTS = (
    [(None, delay) for delay in (0.2, 0.6, 1.0, 1.5)]
    + [("Building DAG of jobs", delay) for delay in (0.0, 0.05)]
    + [("rule calibrate_frame:", delay) for delay in (0.0, 0.1, 0.3)]
    + [("Select jobs to execute", delay) for delay in (0.0, 0.002, 0.01)]
    + [("Finished jobid", delay) for delay in (0.0, 0.002, 0.005, 0.02)]
    + [("rule combine_biases:", delay) for delay in (0.0, 0.2)]
    + [("rule summarize_frames:", 0.1), ("rule plot_master_figures:", 0.3)]
    + [("checkpoint write_qc_tables:", delay) for delay in (0.0, 0.2)]
)


class Stopped:
    """One run of Snakemake, stopped with SIGTERM at a moment of its output."""

    def __init__(self, flow, trigger: str | None, delay: float):
        command = SNAKEMAKE + [
            "--snakefile", str(flow.snakefile), "--directory", str(flow.directory),
            "--configfile", str(flow.config_path), "--cores", "2", "--rerun-incomplete",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=flow.directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.seen = threading.Event() if trigger else None
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, args=(trigger,), daemon=True)
        self.reader.start()
        self.delay = delay

    def _read(self, trigger):
        for line in self.process.stderr:
            self.lines.append(line)
            if trigger and trigger in line:
                self.seen.set()

    def stop(self) -> float | None:
        """Send SIGTERM at the moment; seconds it took to exit, or None if it ended first."""
        if self.seen is not None:
            while not self.seen.wait(0.01):
                if self.process.poll() is not None:
                    return None
        time.sleep(self.delay)
        if self.process.poll() is not None:
            return None
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_BOUND)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"still running {STOP_BOUND} s after SIGTERM:\n"
                                 + "".join(self.lines[-40:])) from None  # fmt: skip
        self.reader.join(5)
        return time.monotonic() - sent


def masters_of(flow) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (flow.results / "master_bias").glob("*")}


def test_sigterm_at_any_moment_stops_the_run_and_it_resumes_to_the_same_masters(tmp_path):
    raw = tmp_path / "raw"
    nights = [NightSpec(f"2026-09-0{day}", afternoon=2, morning=1) for day in range(1, 5)]
    write_archive(raw, "small", nights, -70.74, seed=12)
    reference = flow_in(tmp_path / "reference", archive_config(raw))
    reference.run()
    flow = flow_in(tmp_path / "stopped", archive_config(raw))
    stops, pending = [], list(MOMENTS)
    for _ in range(3 * len(MOMENTS)):
        if not pending:
            break
        trigger, delay = pending[0]
        seconds = Stopped(flow, trigger, delay).stop()
        if seconds is None:  # the run ended first: start the archive again
            assert masters_of(flow) == masters_of(reference)
            shutil.rmtree(flow.results)
            continue
        stops.append((trigger, delay, seconds))
        pending.pop(0)
    assert len(stops) >= 20, stops
    flow.run("--rerun-incomplete")  # no --unlock needed: every stop released the locks
    assert masters_of(flow) == masters_of(reference)
    assert list(flow.results.rglob(".partial-*")) == []
