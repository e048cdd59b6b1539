"""The combination stays within combine.mem_limit however many frames there are."""

import json
import subprocess
import sys

import fitsio
import numpy as np
import pytest

from conftest import REPO

MEASURE = """
import json, resource, sys
import fitsio
from masterbias.combine import CombineSettings
from masterbias.stacking import stack_and_combine
paths, output, limit, reject = json.loads(sys.argv[1])
guide = CombineSettings.default(method="average", reject="ccdproc", low=5.0, high=5.0)
settings = guide if reject == "ccdproc" else CombineSettings.default(reject=reject)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if limit:
    outcome = stack_and_combine(paths, output, settings, limit, 2, fitsio.FITSHDR())
    bands = len(outcome.plan.bands)
else:
    bands = 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kb": base, "peak_kb": peak, "bands": bands}))
"""

SIDE = 512
LIMIT = 16 * 2**20


def measure(paths, output, limit, reject="ccdclip"):
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps([paths, str(output), limit, reject])],
        capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO / "scripts")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
    # combination uses at most the limit, plus a few MB of band results and thread stacks
    for count, extra in growth.items():
        assert extra <= LIMIT + 8 * 2**20, f"{count} frames: {extra / 2**20:.1f} MB over idle"
    print({count: f"{extra / 2**20:.1f} MB" for count, extra in growth.items()})
    assert max(growth.values()) - min(growth.values()) <= 8 * 2**20, growth
