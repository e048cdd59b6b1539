"""The small programs `make bench` times, each in a fresh process of its own:

    python benchmarks/probes.py NAME ARGUMENT...

``measure`` runs any command and prints its wall time and the peak resident memory of its
largest process; the others are the steps measured against it (reading every file once,
decompressing once, a combine outside the workflow, one frame job profiled, header
discovery).  Each prints one JSON line.
"""

from __future__ import annotations

import cProfile
import glob
import gzip
import json
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]


def measure(*command: str) -> dict:
    """Wall time and the peak RSS (MB) of the largest process of ``command``'s tree."""
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode()[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "rc": done.returncode}


def read(paths: str) -> dict:
    """Every image HDU of every file (a JSON list) read once."""
    import fitsio

    for path in json.loads(paths):
        with fitsio.FITS(path) as fits:
            for hdu in fits:
                if hdu.get_exttype() == "IMAGE_HDU" and hdu.has_data():
                    hdu.read()
    return {}


def decompress(folder: str) -> dict:
    """Every .gz of ``folder`` decompressed once in memory (the floor of any reader)."""
    for path in sorted(glob.glob(f"{folder}/*.gz")):
        with gzip.open(path) as stream:
            stream.read()
    return {}


def combine(paths: str, output: str, mem_limit: str, workers: str) -> dict:
    """The primary images of calibrated frames combined as the workflow's combine does."""
    import fitsio

    from masterbias.combine import CombineSettings
    from stacks import stack_and_combine

    outcome = stack_and_combine(json.loads(paths), output, CombineSettings.default(),
                                int(mem_limit), int(workers), fitsio.FITSHDR())  # fmt: skip
    return {"band_rows": outcome.plan.band_rows}


def imports() -> dict:
    """What the combine imports (its memory at rest)."""
    import masterbias.stacking  # noqa: F401

    return {}


def frame_job(raw: str, output: str, layout: str) -> dict:
    """One frame job's call, profiled: seconds of its imports and of its steps."""
    start = time.perf_counter()
    from masterbias.task_calibrate import calibrate_file

    imported = time.perf_counter()
    profile = cProfile.Profile()
    profile.runcall(calibrate_file, raw, output, json.loads(layout), "all", "float32")
    done = time.perf_counter()
    stats = pstats.Stats(profile).stats

    def seconds(name, where):
        return sum(row[3] for (path, _, function), row in stats.items()
                   if function == name and path.endswith(where))  # fmt: skip

    return {
        "imports": imported - start,
        "calibrate_file": done - imported,
        "open_raw (read, SHA-256, gunzip to a temporary file)": seconds("open_raw", "fitsfile.py"),
        "fitsio read of the raw image": seconds("read", "image.py"),
        "calibration (overscan, subtraction, statistics)": seconds(
            "calibrate_frame", "calibration.py"
        ),
        "fitsio write of the calibrated image": seconds("write", "fitslib.py"),
    }


def discover(folder: str, cache: str) -> dict:
    """The raw frames of ``folder`` found and their headers read through a header cache."""
    from masterbias.discovery import HeaderCache, find_raw_files

    found = find_raw_files(folder)
    headers = HeaderCache(cache)
    for relpath in found.relpaths:
        headers.frame(folder, relpath)
    headers.save([str(Path(folder) / relpath) for relpath in found.relpaths])
    return {"frames": len(found.relpaths)}


PROBES = {"measure": measure, "read": read, "decompress": decompress, "combine": combine,
          "imports": imports, "frame_job": frame_job, "discover": discover}  # fmt: skip


def main(argv: list[str]) -> None:
    print(json.dumps(PROBES[argv[0]](*argv[1:])))


if __name__ == "__main__":
    main(sys.argv[1:])
