"""make bench: the workflow side by side with the guide's ccdproc code and IRAF.

Every peer runs as its own process tree, alternating, several times; the table shows the
median wall time, the peak resident memory of the largest process in the tree, and ratios.

    python benchmarks/bench.py [--repeats 3] [--quick] [--out benchmarks/results.md]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fitsio
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from masterbias.synth import (  # noqa: E402
    CAMERAS,
    CameraModel,
    MosaicModel,
    NightSpec,
    decam_ccd,
    write_archive,
    write_mosaic_night,
    write_night,
)

PYTHON = sys.executable
ENV = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))

#: Runs a command and reports its wall time and the peak RSS of its largest descendant.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
if done.returncode:
    sys.stderr.write(done.stderr.decode()[-3000:])
print(json.dumps({"seconds": wall, "peak_mb": peak, "rc": done.returncode}))
"""


def measure(command: list[str], cwd: Path | None = None) -> dict:
    done = subprocess.run(
        [PYTHON, "-c", MEASURE, *command], capture_output=True, text=True, cwd=cwd, env=ENV
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr}")
    return result


def median_of(runs: list[dict]) -> dict:
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "peak_mb": max(run["peak_mb"] for run in runs),
        "runs": len(runs),
    }


def table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def iraf_script(raw: Path, work: Path) -> str:
    """A bash command: gunzip (IRAF cannot read .gz), ccdproc, zerocombine."""
    names = sorted(p.name.removesuffix(".gz") for p in raw.glob("*.fits.gz"))
    (work / "in.lis").write_text("\n".join(f"plain/{n}" for n in names) + "\n")
    (work / "out.lis").write_text("\n".join(f"cal/{n}" for n in names) + "\n")
    (work / "bias.cl").write_text(
        "noao\nimred\nccdred\n"
        'ccdproc("@in.lis", output="@out.lis", ccdtype="", noproc=no, fixpix=no, '
        "overscan=yes, trim=yes, zerocor=no, darkcor=no, flatcor=no, illumcor=no, "
        'fringecor=no, readcor=no, scancor=no, biassec="[2056:2080,1:4128]", '
        'trimsec="[1:2048,1:4128]", function="median", interactive=no)\n'
        'zerocombine("@out.lis", output="Zero.fits", combine="average", reject="minmax", '
        'ccdtype="", process=no, delete=no)\n'
        "logout\n"
    )
    return (
        f"cd {work} && rm -rf plain cal Zero.fits && mkdir -p plain cal home && "
        f"for f in {raw}/*.fits.gz; do b=$(basename $f .gz); gunzip -c $f > plain/$b; done && "
        f"HOME={work}/home USER=${{USER:-bench}} irafcl < bias.cl > iraf.log 2>&1 && "
        "test -f Zero.fits"
    )


def decompress_once(raw: Path) -> dict:
    code = (
        "import gzip, glob, sys\n"
        f"for f in sorted(glob.glob('{raw}/*.gz')):\n"
        "    gzip.open(f).read()\n"
    )
    return measure([PYTHON, "-c", code])


def bench_night(root: Path, n_bias: int, repeats: int) -> tuple[str, dict]:
    raw = root / "night"
    if not raw.is_dir():
        write_night(raw, "palomar_lfc", n_bias=n_bias, n_flat=0, n_light=0, seed=7)
    # (nested --config values reach the workflow as strings: a file instead)
    guide_clipping = root / "guide_clipping.yaml"
    guide_clipping.write_text("combine:\n  sigma_clip: {low: 5, high: 5}\n")
    peers = {
        "workflow (snakemake --cores 2)": lambda out: [
            PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(out), "--cores", "2", "--quiet", "all",
            "--config", f"raw_dir={raw}", "out_dir=results",
        ],
        "workflow, master only (no QC, no figures)": lambda out: [
            PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(out), "--cores", "2", "--quiet", "all",
            "--config", f"raw_dir={raw}", "out_dir=results", "--until", "combine_biases",
        ],
        "workflow, the guide's clipping": lambda out: [
            PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(out), "--cores", "2", "--quiet", "all",
            "--configfile", str(guide_clipping), "--config", f"raw_dir={raw}", "out_dir=results",
        ],
        "guide's ccdproc code": lambda out: [
            PYTHON, str(REPO / "benchmarks" / "guide_ccdproc.py"), str(raw), str(out / "cal"),
        ],
    }  # fmt: skip
    if shutil.which("irafcl"):
        peers["IRAF ccdproc + zerocombine"] = lambda out: ["bash", "-c", iraf_script(raw, out)]
    runs = {name: [] for name in peers}
    runs["floor: decompress inputs once"] = []
    for _ in range(repeats):
        for name, command in peers.items():
            out = root / "out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            runs[name].append(measure(command(out), cwd=out))
            if name == "workflow (snakemake --cores 2)":  # kept: its jobs' own accounts
                shutil.rmtree(root / "night-run", ignore_errors=True)
                shutil.copytree(out, root / "night-run", ignore=shutil.ignore_patterns("*.fits"))
            elif name.startswith("workflow, the guide"):
                shutil.copy(out / "results" / "master_bias.fits", root / "master_workflow.fits")
            elif name.startswith("guide"):
                shutil.copy(out / "cal" / "combined_bias.fit", root / "master_ccdproc.fits")
        runs["floor: decompress inputs once"].append(decompress_once(raw))
    results = {name: median_of(r) for name, r in runs.items()}
    ours = results["workflow (snakemake --cores 2)"]
    rows = []
    for name, result in results.items():
        ratio = result["seconds"] / ours["seconds"]
        rows.append((name, f"{result['seconds']:.1f}", f"{result['peak_mb']:.0f}",
                     f"{ratio:.2f}"))  # fmt: skip
    ours_master = fitsio.read(str(root / "master_workflow.fits"))
    theirs = fitsio.read(str(root / "master_ccdproc.fits"))
    agreement = float(np.max(np.abs(ours_master - theirs.astype(np.float32))))
    master = results["workflow, master only (no QC, no figures)"]["seconds"]
    ccdproc = results["guide's ccdproc code"]["seconds"]
    iraf = results.get("IRAF ccdproc + zerocombine", {}).get("seconds", float("nan"))
    jobs = job_seconds(root / "night-run")
    text = (
        f"{n_bias} raw biases of {CAMERAS['palomar_lfc'].rows} x "
        f"{CAMERAS['palomar_lfc'].columns} uint16 .fits.gz, median of {repeats} runs; "
        "ratio = peer's time / workflow's time (above 1: the workflow is faster)\n\n"
        + table(rows, ("peer", "wall s", "peak RSS MB", "time ratio"))
        + "\n\n"
        f"- whole workflow: {ccdproc / ours['seconds']:.2f}x faster than the guide's ccdproc "
        f"code (target 3.5x), {iraf / ours['seconds']:.2f}x IRAF's speed (target 1x)\n"
        f"- master only: {ccdproc / master:.2f}x faster than the guide's code, "
        f"{iraf / master:.2f}x IRAF's speed (target 1.5x)\n"
        f"- the QC tables and figures add {100 * (ours['seconds'] / master - 1):.0f} % to the "
        "master-only time (target 20 %)\n"
        "- master with the guide's clipping vs the guide's ccdproc master: max |difference| "
        f"= {agreement:.2e} ADU\n\n"
        "Jobs of one run of the whole workflow (Snakemake's benchmark files, mean s per job):\n\n"
        + table([(rule, f"{value:.2f}") for rule, value in jobs.items()], ("rule", "s"))
        + "\n\n"
        + combine_breakdown(root / "night-run")
        + "\n\n"
        + frame_job_breakdown(raw, root)
        + "\n"
    )
    return text, results


def write_calibrated(folder: Path, count: int, side: int, seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pattern = rng.normal(0, 2, (side, side)).astype(np.float32)
    paths = []
    for index in range(count):
        path = folder / f"cal{index:03d}.fits"
        if not path.exists():
            frame = pattern + rng.standard_normal((side, side), dtype=np.float32) * 5
            fitsio.write(str(path), frame, clobber=True)
        paths.append(str(path))
    return paths


COMBINE = """
import json, sys, fitsio
from masterbias.combine import CombineSettings
from masterbias.stacking import stack_and_combine
paths, output, limit, workers = json.loads(sys.argv[1])
settings = CombineSettings.default()
outcome = stack_and_combine(paths, output, settings, limit, workers, fitsio.FITSHDR())
"""

READ_ONCE = """
import json, sys, fitsio
for path in json.loads(sys.argv[1]):
    fitsio.read(path)
"""


def bench_combine(root: Path, count: int, side: int, repeats: int, one_band: bool):
    paths = write_calibrated(root / f"cal{side}", count, side)
    limit = 512 * 10**6
    # the frames in the page cache for every peer, as in a workflow that has just written
    # them: partly read from this disk, the combine of 160 frames took 12-34 s, not 5
    measure([PYTHON, "-c", READ_ONCE, json.dumps(paths)])
    combine = [
        measure([PYTHON, "-c", COMBINE, json.dumps([paths, str(root / "m.fits"), limit, 2])])
        for _ in range(repeats)
    ]
    read = [measure([PYTHON, "-c", READ_ONCE, json.dumps(paths)]) for _ in range(repeats)]
    idle = measure([PYTHON, "-c", "import masterbias.stacking"])
    result = {
        "combine": median_of(combine),
        "read": median_of(read),
        "idle_mb": idle["peak_mb"],
    }
    if one_band:
        whole = 40 * side * side * 18 + 10**9
        measure([PYTHON, "-c", COMBINE, json.dumps([paths, str(root / "one.fits"), whole, 1])])
        same = all(
            np.array_equal(fitsio.read(str(root / "m.fits"), ext=e),
                           fitsio.read(str(root / "one.fits"), ext=e))
            for e in (0, 1, 2)
        )  # fmt: skip
        result["same_as_one_band"] = same
    return result


def bench_discovery(root: Path, count: int) -> str:
    folder = root / "thousand"
    if not folder.is_dir():
        folder.mkdir()
        one = write_night(root / "one", CAMERAS["small"], n_bias=1, n_flat=0, n_light=0)[0]
        big = root / "one" / "big.fits"
        pixels = np.random.default_rng(0).integers(0, 3000, (1024, 1024), dtype=np.uint16)
        fitsio.write(str(big), pixels, header=fitsio.read_header(str(one)), clobber=True)
        packed = gzip.compress(big.read_bytes(), compresslevel=1)
        for index in range(count):
            (folder / f"frame{index:04d}.fits.gz").write_bytes(packed)
    cache = root / "headers.json"
    cache.unlink(missing_ok=True)
    code = (
        "import os\n"
        "from masterbias.discovery import HeaderCache, find_raw_files, read_frames\n"
        f"folder = {str(folder)!r}; cache = HeaderCache({str(cache)!r})\n"
        "found = find_raw_files(folder); read_frames(folder, found.relpaths, cache)\n"
        "cache.save([os.path.join(folder, relpath) for relpath in found.relpaths])\n"
    )
    cold = measure([PYTHON, "-c", code])
    warm = measure([PYTHON, "-c", code])
    ifc = measure([PYTHON, "-c", f"import ccdproc; ccdproc.ImageFileCollection({str(folder)!r})"])
    rows = [
        ("masterbias, no cache", f"{cold['seconds']:.2f}"),
        ("masterbias, cache warm", f"{warm['seconds']:.2f}"),
        ("ccdproc ImageFileCollection", f"{ifc['seconds']:.2f}"),
    ]
    return (
        f"{count} raw .fits.gz (1024 x 1024 uint16, 1.4 MB each), headers read and "
        "cached (wall s, including Python start-up)\n\n" + table(rows, ("finder", "wall s"))
    )


#: The archive's camera: 1024 x 1024 light pixels and 32 overscan columns, uint16.
ARCHIVE_CAMERA = CameraModel(
    "archive1k", rows=1024, columns=1056, light="[1:1024,*]", overscan="[1025:1056,*]",
    leak_columns=3,
)  # fmt: skip
#: Siding Spring: a night's afternoon and morning biases fall on one UT date.
ARCHIVE_LONGITUDE = 149.07


def bench_archive(root: Path, nights: int, frames: int) -> str:
    """An archive of ``nights`` nights of ``frames`` biases: end to end, planning, then one
    night added."""
    from datetime import date, timedelta

    raw = root / f"archive{nights}x{frames}"
    first = date(2026, 1, 1)
    specs = [NightSpec((first + timedelta(days=n)).isoformat(), afternoon=frames // 2,
                       morning=frames - frames // 2) for n in range(nights + 1)]  # fmt: skip
    if not (raw / ".complete").exists():
        shutil.rmtree(raw, ignore_errors=True)
        write_archive(raw, ARCHIVE_CAMERA, specs[:nights], ARCHIVE_LONGITUDE, seed=12)
        (raw / ".complete").touch()
    shutil.rmtree(raw / specs[nights].date.replace("-", ""), ignore_errors=True)
    config = root / "archive.yaml"
    config.write_text(
        f"raw_dir: {raw}\ncamera: null\ngroup_by: [night]\n"
        f"night: {{longitude: {ARCHIVE_LONGITUDE}}}\n"
        "overscan: {method: median, region: '[1028:1056,*]'}\ntrim: {region: '[1:1024,*]'}\n"
    )
    out = root / "archive-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()

    def snakemake(*args):
        return [PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                "--directory", str(out), "--configfile", str(config), "--quiet", *args]  # fmt: skip

    full = measure(snakemake("--cores", "2", "all"), cwd=out)
    plan = measure(snakemake("--cores", "2", "--dry-run"), cwd=out)
    extra = root / "extra-night"
    shutil.rmtree(extra, ignore_errors=True)
    write_archive(extra, ARCHIVE_CAMERA, specs[nights:], ARCHIVE_LONGITUDE, seed=13)
    for path in extra.rglob("*.fits"):
        target = raw / path.relative_to(extra)
        target.parent.mkdir(exist_ok=True)
        shutil.move(path, target)
    added = measure(snakemake("--cores", "2", "all"), cwd=out)
    total = nights * frames
    rows = [
        (f"{nights} nights x {frames} frames, end to end (snakemake --cores 2)",
         f"{full['seconds']:.0f}", f"{full['seconds'] / total:.3f}", f"{full['peak_mb']:.0f}"),
        ("plan it again, nothing to do (snakemake --dry-run: headers cached, DAG)",
         f"{plan['seconds']:.1f}", "", f"{plan['peak_mb']:.0f}"),
        (f"one night ({frames} frames) added: only its jobs and the history",
         f"{added['seconds']:.1f}", f"{added['seconds'] / frames:.3f}",
         f"{added['peak_mb']:.0f}"),
    ]  # fmt: skip
    return (
        f"{ARCHIVE_CAMERA.rows} x {ARCHIVE_CAMERA.columns} uint16 .fits biases in UT-date "
        f"folders, group_by: [night]; one run each\n\n"
        + table(rows, ("run", "wall s", "s per frame", "peak RSS MB"))
    )


def bench_mosaic(root: Path, frames: int, ccds: int, limit: str) -> str:
    """A night of a mosaic camera of DECam's layout: ``ccds`` CCDs of 2048 x 4096 light
    pixels (two amplifiers each), RICE-compressed .fits.fz, combined within ``limit``."""
    model = MosaicModel("decam8", 4146, 2160, tuple(
        decam_ccd(f"S{index}", index, 2048 * (index - 1) + 1, False, width=1024, height=4096,
                  overscan=50, prescan=6, parallel=50)
        for index in range(1, ccds + 1)
    ), {"OBSTYPE": "zero"})  # fmt: skip
    raw = root / f"mosaic{frames}x{ccds}"
    if not (raw / ".complete").exists():
        shutil.rmtree(raw, ignore_errors=True)
        write_mosaic_night(raw, model, n_bias=frames, n_flat=0, seed=21)
        (raw / ".complete").touch()
    out = root / "mosaic-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = root / "mosaic.yaml"
    config.write_text(f"raw_dir: {raw}\ncamera: decam\nextensions: all\n"
                      f"combine: {{mem_limit: {limit}}}\n")  # fmt: skip
    whole = measure([PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                     "--directory", str(out), "--configfile", str(config), "--cores", "2",
                     "--quiet", "all", "--until", "combine_biases"], cwd=out)  # fmt: skip

    def benchmark(path: Path) -> dict:
        with open(path) as stream:
            row = list(csv.DictReader(stream, delimiter="\t"))[0]
        return {"seconds": float(row["s"]), "peak_mb": float(row["max_rss"])}

    combine = benchmark(out / "results" / "benchmarks" / "combine_biases.tsv")
    frame_jobs = [
        benchmark(p) for p in (out / "results" / "benchmarks" / "calibrate_frame").glob("*")
    ]
    calibrated = sorted(str(p) for p in (out / "results" / "calibrated").glob("*.fits"))
    read_code = (
        "import json, sys, fitsio\nfor path in json.loads(sys.argv[1]):\n"
        "    with fitsio.FITS(path) as f:\n"
        "        [hdu.read() for hdu in f if hdu.get_exttype() == 'IMAGE_HDU']\n"
    )
    read = measure([PYTHON, "-c", read_code, json.dumps(calibrated)])
    unpack = measure(
        [PYTHON, "-c", read_code, json.dumps(sorted(str(p) for p in raw.glob("*.fz")))]
    )
    idle = measure([PYTHON, "-c", "import masterbias.stacking"])["peak_mb"]
    stack_gb = frames * ccds * 4096 * 2048 * 4 / 1e9
    frame_seconds = sum(job["seconds"] for job in frame_jobs)

    def row(step, result):
        return step, f"{result['seconds']:.1f}", f"{result['peak_mb']:.0f}"

    summed = {"seconds": frame_seconds, "peak_mb": max(job["peak_mb"] for job in frame_jobs)}
    rows = [
        row("workflow to the master (snakemake --cores 2)", whole),
        row(f"combine job ({ccds} extensions in row bands)", combine),
        row("read every calibrated extension once", read),
        row(f"{frames} frame jobs, summed", summed),
        row("decompress every raw .fz once", unpack),
        ("Python + numpy + dask + fitsio, idle", "", f"{idle:.0f}"),
    ]
    return (
        f"{frames} exposures x {ccds} CCDs of DECam's layout (2160 x 4146 raw, 2048 x 4096 "
        f"calibrated, two amplifiers each), RICE .fits.fz; the stack is {stack_gb:.1f} GB of "
        f"float32, combine.mem_limit {limit}\n\n"
        + table(rows, ("step", "wall s", "peak RSS MB"))
        + f"\n\ncombine / read once = {combine['seconds'] / read['seconds']:.1f}; combine peak "
        f"RSS over idle = {combine['peak_mb'] - idle:.0f} MB; frame jobs / decompressing once "
        f"= {frame_seconds / unpack['seconds']:.1f}\n"
    )


#: One frame job in a fresh process, profiled: where its time goes.
FRAME_PROFILE = """
import cProfile, json, pstats, sys, time
start = time.perf_counter()
from masterbias.task_calibrate import calibrate_file
imported = time.perf_counter()
raw, output, layout = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
profile = cProfile.Profile()
profile.runcall(calibrate_file, raw, output, layout, "all", "float32")
done = time.perf_counter()
stats = pstats.Stats(profile).stats
def seconds(name, where):
    return sum(row[3] for (path, _, function), row in stats.items()
               if function == name and path.endswith(where))
print(json.dumps({
    "imports": imported - start, "calibrate_file": done - imported,
    "open_raw (read, SHA-256, gunzip to a temporary file)": seconds("open_raw", "fitsfile.py"),
    "fitsio read of the raw image": seconds("read", "image.py"),
    "calibration (overscan, subtraction, statistics)": seconds("calibrate_frame", "calibration.py"),
    "fitsio write of the calibrated image": seconds("write", "fitslib.py"),
}))
"""


def frame_job_breakdown(raw: Path, work: Path) -> str:
    """Where a frame job's time goes: process start, imports, and the profiled steps of
    calibrate_file on one LFC frame (fresh processes, median of 5)."""
    from masterbias.config import load_config
    from masterbias.layout import LayoutSpec

    config = load_config({"raw_dir": str(raw), "camera": "palomar_lfc"})
    layout = json.dumps(LayoutSpec.from_config(config).to_params())
    frame = sorted(raw.glob("*.fits.gz"))[0]
    runs = []
    for index in range(5):
        output = work / f"frame{index}.fits"
        done = subprocess.run([PYTHON, "-c", FRAME_PROFILE, str(frame), str(output), layout],
                              capture_output=True, text=True, env=ENV, check=True)  # fmt: skip
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        output.unlink()
    start = statistics.median(measure([PYTHON, "-c", "pass"])["seconds"] for _ in range(5))
    rows = [("Python start-up", f"{start:.3f}")]
    rows += [(step, f"{statistics.median(run[step] for run in runs):.3f}") for step in runs[0]]
    return table(rows, ("step of one frame job (LFC, .fits.gz)", "s"))


def combine_breakdown(out: Path) -> str:
    """The combine job's own account of its time (its log), and its total (Snakemake's
    benchmark file)."""
    log = (out / "results" / "logs" / "combine_biases.log").read_text()
    with open(out / "results" / "benchmarks" / "combine_biases.tsv") as stream:
        total = float(list(csv.DictReader(stream, delimiter="\t"))[0]["s"])
    lines = [line.split(" INFO ", 1)[-1] for line in log.splitlines()
             if " in " in line and " s" in line and ("noise measured" in line
             or "bands read" in line or "verified" in line)]  # fmt: skip
    return (
        f"combine job, {total:.2f} s in all (start-up, headers and writing included):\n\n"
        + "\n".join(f"- {line}" for line in lines)
    )


def job_seconds(out: Path) -> dict[str, float]:
    """Rule -> mean seconds of its jobs (Snakemake's benchmark files of one run)."""
    seconds: dict[str, list[float]] = {}
    for path in (out / "results" / "benchmarks").rglob("*.tsv"):
        rule = path.parent.name if path.parent.name != "benchmarks" else path.stem
        with open(path) as stream:
            seconds.setdefault(rule, []).append(
                float(next(csv.DictReader(stream, delimiter="\t"))["s"])
            )
    return {rule: statistics.mean(values) for rule, values in sorted(seconds.items())}


#: The scale camera: 1024 x 1024 light pixels and 32 overscan columns, uint16, .fits.gz.
SCALE_CONFIG = (
    "camera: null\noverscan: {method: median, region: '[1028:1056,*]'}\n"
    "trim: {region: '[1:1024,*]'}\n"
)


def bench_scale(root: Path, counts: tuple[int, ...]) -> str:
    """One night of ``counts`` raw 1024 x 1024 biases, end to end: linear in N?"""
    largest = root / f"scale{max(counts)}"
    if not (largest / ".complete").exists():
        shutil.rmtree(largest, ignore_errors=True)
        write_night(largest, ARCHIVE_CAMERA, n_bias=max(counts), n_flat=0, n_light=0, seed=31)
        (largest / ".complete").touch()
    rows = []
    for count in counts:
        raw = root / f"scale{count}"
        if raw != largest:  # the first `count` frames, hard-linked
            shutil.rmtree(raw, ignore_errors=True)
            raw.mkdir()
            for path in sorted(largest.glob("*.fits.gz"))[:count]:
                os.link(path, raw / path.name)
        config = root / "scale.yaml"
        config.write_text(f"raw_dir: {raw}\n" + SCALE_CONFIG)
        out = root / "scale-out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        result = measure([PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(out), "--configfile", str(config), "--cores", "2",
                          "--quiet", "all"], cwd=out)  # fmt: skip
        jobs = job_seconds(out)
        rows.append((count, f"{result['seconds']:.1f}", f"{result['seconds'] / count:.3f}",
                     f"{jobs['calibrate_frame']:.3f}", f"{jobs['combine_biases']:.1f}",
                     f"{result['peak_mb']:.0f}"))  # fmt: skip
    return (
        f"{ARCHIVE_CAMERA.rows} x {ARCHIVE_CAMERA.columns} uint16 .fits.gz biases (1024 x 1024 "
        "calibrated), one night, the whole workflow (snakemake --cores 2, QC and figures "
        "included), one run each\n\n"
        + table(
            rows,
            ("frames", "wall s", "s per frame", "frame job s (mean)", "combine s", "peak RSS MB"),
        )  # fmt: skip
    )


def bench_job_overhead(root: Path) -> str:
    walls = {}
    for count in (4, 24):
        raw = root / f"tiny{count}"
        if not raw.is_dir():
            write_night(raw, "small", n_bias=count, n_flat=0, n_light=0, compress=False)
        out = root / f"tinyout{count}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        region = "[68:80,*]"
        walls[count] = measure([
            PYTHON, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
            str(out), "--cores", "1", "--quiet", "all", "--config", f"raw_dir={raw}",
            f"overscan={{method: median, region: '{region}'}}", "trim={region: '[1:64,*]'}",
        ])["seconds"]  # fmt: skip
    per_job = (walls[24] - walls[4]) / 20
    return (
        f"Snakemake per-job cost (tiny frames, --cores 1): {walls[4]:.1f} s for 4 frames, "
        f"{walls[24]:.1f} s for 24: {per_job:.2f} s per frame job"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller data, one run each")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "masterbias-bench"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"))
    parser.add_argument("--only-night", action="store_true", help="only the raw-night table")
    parser.add_argument("--only-archive", action="store_true", help="only the archive table")
    parser.add_argument("--only-mosaic", action="store_true", help="only the mosaic table")
    parser.add_argument("--only-scale", action="store_true", help="only the many-frames table")
    args = parser.parse_args(argv)
    root = Path(args.work)
    root.mkdir(parents=True, exist_ok=True)
    repeats = 1 if args.quick else args.repeats
    sections = [f"# Benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n"]
    nights = 10 if args.quick else 100
    mosaic = (4, 2, "256MB") if args.quick else (20, 8, "1GB")
    if args.only_mosaic:
        sections.append("## A mosaic night\n\n" + bench_mosaic(root, *mosaic))
        print(sections[-1], flush=True)
        Path(args.out).write_text("\n\n".join(sections) + "\n")
        return
    if args.only_scale:
        counts = (20, 80) if args.quick else (250, 1000)
        sections.append("## A night of many frames\n\n" + bench_scale(root, counts))
        print(sections[-1], flush=True)
        Path(args.out).write_text("\n\n".join(sections) + "\n")
        return
    if args.only_archive:
        sections.append("## An archive of nights\n\n" + bench_archive(root, nights, 10))
        print(sections[-1], flush=True)
        Path(args.out).write_text("\n\n".join(sections) + "\n")
        return

    text, _ = bench_night(root, 6 if args.quick else 24, repeats)
    sections.append("## Raw night to master\n\n" + text)
    print(sections[-1], flush=True)
    if args.only_night:
        Path(args.out).write_text("\n\n".join(sections) + "\n")
        return

    side = 1024 if args.quick else 4096
    big = bench_combine(root, 40, side, repeats, one_band=True)
    sections.append(
        f"## Combine of 40 calibrated {side} x {side} float32 frames, mem_limit 512MB\n\n"
        + table(
            [
                (
                    "combine (2 threads)",
                    f"{big['combine']['seconds']:.1f}",
                    f"{big['combine']['peak_mb']:.0f}",
                ),
                (
                    "read every file once",
                    f"{big['read']['seconds']:.1f}",
                    f"{big['read']['peak_mb']:.0f}",
                ),
                ("Python + numpy + dask + fitsio, idle", "", f"{big['idle_mb']:.0f}"),
            ],
            ("step", "wall s", "peak RSS MB"),
        )  # fmt: skip
        + f"\n\ncombine / read = {big['combine']['seconds'] / big['read']['seconds']:.1f} "
        f"(target 3); {1e9 * big['combine']['seconds'] / (40 * side * side):.1f} ns per stacked "
        f"value in all, {1e9 * big['read']['seconds'] / (40 * side * side):.1f} ns to read it; "
        f"peak RSS over idle = {big['combine']['peak_mb'] - big['idle_mb']:.0f} MB "
        f"(limit 488 MiB); bit-identical to a one-band run: {big['same_as_one_band']}\n"
    )
    print(sections[-1], flush=True)

    rows = []
    scale_side = 512 if args.quick else 2048
    for count in (10, 40, 160):
        result = bench_combine(root, count, scale_side, 1, one_band=False)
        rows.append((count, f"{result['combine']['seconds']:.1f}",
                     f"{result['combine']['seconds'] / count:.3f}",
                     f"{result['combine']['peak_mb']:.0f}",
                     f"{result['read']['seconds']:.1f}"))  # fmt: skip
    sections.append(
        f"## Combine cost against the number of frames ({scale_side} x {scale_side}, "
        "mem_limit 512MB)\n\n"
        + table(rows, ("frames", "combine s", "s per frame", "peak RSS MB", "read once s"))
    )
    print(sections[-1], flush=True)

    counts = (20, 80) if args.quick else (250, 1000)
    sections.append("## A night of many frames\n\n" + bench_scale(root, counts))
    print(sections[-1], flush=True)
    sections.append("## Finding the frames\n\n" + bench_discovery(root, 1000))
    print(sections[-1], flush=True)
    sections.append("## Per-job overhead\n\n" + bench_job_overhead(root))
    print(sections[-1], flush=True)
    sections.append("## An archive of nights\n\n" + bench_archive(root, nights, 10))
    print(sections[-1], flush=True)
    sections.append("## A mosaic night\n\n" + bench_mosaic(root, *mosaic))
    print(sections[-1], flush=True)
    Path(args.out).write_text("\n\n".join(sections) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
