"""The combination stays within combine.mem_limit however many frames there are."""

import json
import subprocess
import sys

import fitsio
import numpy as np
import pytest

from conftest import REPO
from masterbias.resources import PROCESS_MB

#: The package and tests/stacks.py.
PATHS = {"PYTHONPATH": f"{REPO / 'scripts'}:{REPO / 'tests'}"}

#: The peak memory of this process itself (VmHWM), in kB: ru_maxrss would carry the peak of
#: the process it was forked from (pytest's, when the whole suite runs).
PEAK_KB = """
def peak_kb():
    import re
    return int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read())[1])
"""

MEASURE = """
import json, sys
import dask, fitsio
from masterbias.combine import CombineSettings
from stacks import stack_and_combine
paths, output, limit, reject = json.loads(sys.argv[1])
guide = CombineSettings.default(method="average", reject="ccdproc", low=5.0, high=5.0)
settings = guide if reject == "ccdproc" else CombineSettings.default(reject=reject)
{PEAK_KB}base = peak_kb()
if limit:
    outcome = stack_and_combine(paths, output, settings, limit, 2, fitsio.FITSHDR())
    bands = len(outcome.plan.bands)
else:
    bands = 0
peak = peak_kb()
print(json.dumps({"base_kb": base, "peak_kb": peak, "bands": bands}))
""".replace("{PEAK_KB}", PEAK_KB)

SIDE = 512
LIMIT = 16 * 2**20
#: Beyond the bands: measured 16-20 MB with frames of 512 x 512 and two threads.
FIXED = 24 * 2**20


def measure(paths, output, limit, reject="ccdclip"):
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps([paths, str(output), limit, reject])],
        capture_output=True, text=True, cwd=REPO, env=PATHS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_job_process_before_it_holds_an_image_fits_in_process_mb():
    """The model of every job's memory (masterbias.resources) starts from PROCESS_MB: what a
    job process holds once it has imported what it runs with (the combine's dask too)."""
    code = ("import dask, masterbias.task_calibrate, masterbias.task_combine, masterbias.stacking"
            + PEAK_KB + "print(peak_kb())")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=PATHS,
                          check=True)  # fmt: skip
    peak_mb = int(done.stdout) * 1024 / 10**6
    assert peak_mb <= PROCESS_MB, f"{peak_mb:.0f} MB"


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    paths = []
    for index in range(60):
        path = folder / f"f{index:02d}.fits"
        fitsio.write(str(path), rng.normal(0, 5, (SIDE, SIDE)).astype(np.float32))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("reject", ["ccdclip", "ccdproc", "avsigclip", "minmax"])
def test_peak_memory_is_the_limit_plus_a_fixed_overhead_whatever_the_number_of_frames(
    frames, tmp_path, reject
):
    idle = measure(frames[:2], tmp_path / "idle.fits", 0)["peak_kb"]
    growth = {}
    for count in (10, 30, 60):
        result = measure(frames[:count], tmp_path / f"m{count}.fits", LIMIT, reject)
        assert result["bands"] > 1
        growth[count] = (result["peak_kb"] - idle) * 1024
    # all 60 frames in memory would be 60 MB as float32 and 120 MB as float64: the
    # combination's bands use at most the limit, and the rest (the noise measurement's
    # grids, the verification's blocks of rows, the threads) a fixed amount, whatever the
    # number of frames
    for count, extra in growth.items():
        assert extra <= LIMIT + FIXED, f"{count} frames: {extra / 2**20:.1f} MB over idle"
    assert max(growth.values()) - min(growth.values()) <= 8 * 2**20, growth
