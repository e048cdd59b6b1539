"""make bench: the workflow side by side with the guide's ccdproc code and IRAF.

Every peer runs as its own process tree (benchmarks/probes.py), alternating, several
times; the tables show the median wall time, the peak resident memory of the largest
process of the tree, and ratios from the same run (machines differ: compare ratios).

    python benchmarks/bench.py [--repeats 3] [--quick] [--only night archive ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import fitsio
import numpy as np
import yaml

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
PROBES = REPO / "benchmarks" / "probes.py"

#: The archive camera: 1024 x 1024 light pixels and 32 overscan columns, uint16.
ARCHIVE_CAMERA = CameraModel(
    "archive1k", rows=1024, columns=1056, light="[1:1024,*]", overscan="[1025:1056,*]",
    leak_columns=3,
)  # fmt: skip
ARCHIVE_LAYOUT = {"camera": None, "overscan": {"method": "median", "region": "[1028:1056,*]"},
                  "trim": {"region": "[1:1024,*]"}}  # fmt: skip
#: Siding Spring: a night's afternoon and morning biases fall on one UT date.
ARCHIVE_LONGITUDE = 149.07


@dataclass(frozen=True)
class Sizes:
    """How much data each table uses (``--quick``: a few minutes in all)."""

    night_biases: int
    combine_side: int
    scaling_side: int
    scale_counts: tuple[int, ...]
    archive_nights: int
    archive_frames: int
    mosaic: tuple[int, int, str]


FULL = Sizes(24, 4096, 2048, (250, 1000), 40, 10, (20, 8, "1GB"))
QUICK = Sizes(6, 1024, 512, (20, 80), 6, 5, (4, 2, "256MB"))


def probe(name: str, *args, cwd: Path | None = None) -> dict:
    """One probe (benchmarks/probes.py) in a fresh process: its JSON line."""
    done = subprocess.run([PYTHON, str(PROBES), name, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"probe {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(command: list, cwd: Path | None = None) -> dict:
    """Wall seconds and peak RSS (MB) of ``command`` run as its own process tree."""
    result = probe("measure", *command, cwd=cwd)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(map(str, command[:4]))} ... failed")
    return result


def measure_probe(name: str, *args) -> dict:
    return measure([PYTHON, PROBES, name, *args])


def workflow(out: Path, config: dict, *args: str, cores: int = 2) -> list:
    """The one way the bench runs the workflow: in ``out``, with ``config`` written to
    ``out/bench.yaml``, results in ``out/results``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench.yaml"
    path.write_text(yaml.safe_dump({"out_dir": "results", **config}))
    return [PYTHON, "-m", "snakemake", "--snakefile", REPO / "Snakefile", "--directory", out,
            "--configfile", path, "--cores", str(cores), "--quiet", "all", *args]  # fmt: skip


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def median_of(runs: list[dict]) -> dict:
    return {"seconds": statistics.median(run["seconds"] for run in runs),
            "peak_mb": max(run["peak_mb"] for run in runs)}  # fmt: skip


def table(rows: list[tuple], header: tuple) -> str:
    """A Markdown table; a column headed "" is left out."""
    kept = [index for index, name in enumerate(header) if name]
    header, rows = [header[i] for i in kept], [[row[i] for i in kept] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def row(step: str, result: dict, per: int | None = None) -> tuple:
    each = f"{result['seconds'] / per:.3f}" if per else ""
    return step, f"{result['seconds']:.1f}", each, f"{result['peak_mb']:.0f}"


def job_seconds(results: Path) -> dict[str, float]:
    """Rule -> mean seconds of its jobs (Snakemake's benchmark files of one run)."""
    seconds: dict[str, list[float]] = {}
    for path in (results / "benchmarks").rglob("*.tsv"):
        rule = path.parent.name if path.parent.name != "benchmarks" else path.stem
        with open(path) as stream:
            seconds.setdefault(rule, []).append(
                float(next(csv.DictReader(stream, delimiter="\t"))["s"])
            )
    return {rule: statistics.mean(values) for rule, values in sorted(seconds.items())}


def once(raw: Path, write) -> Path:
    """``raw`` made by ``write(raw)`` unless an earlier bench left it complete."""
    if not (raw / ".complete").exists():
        shutil.rmtree(raw, ignore_errors=True)
        write(raw)
        (raw / ".complete").touch()
    return raw


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


def bench_night(root: Path, sizes: Sizes, repeats: int) -> str:
    """A night of LFC biases to a master: the workflow, the guide's code and IRAF."""
    camera = CAMERAS["palomar_lfc"]
    raw = once(root / f"night{sizes.night_biases}", lambda raw: write_night(
        raw, camera, n_bias=sizes.night_biases, n_flat=0, n_light=0, seed=7))  # fmt: skip
    base = {"raw_dir": str(raw)}
    guide = {**base, "combine": {"sigma_clip": {"low": 5, "high": 5}}}
    peers = {
        "workflow (snakemake --cores 2)": lambda out: workflow(out, base),
        "workflow, master only (no QC, no figures)": lambda out: workflow(
            out, base, "--until", "combine_biases"),
        "workflow, the guide's clipping": lambda out: workflow(out, guide),
        "guide's ccdproc code": lambda out: [
            PYTHON, REPO / "benchmarks" / "guide_ccdproc.py", raw, out / "cal"],
    }  # fmt: skip
    if shutil.which("irafcl"):
        peers["IRAF ccdproc + zerocombine"] = lambda out: ["bash", "-c", iraf_script(raw, out)]
    runs = {name: [] for name in [*peers, "floor: decompress inputs once"]}
    folders = {name: root / "night-out" / f"peer{index}" for index, name in enumerate(peers)}
    for _ in range(repeats):
        for name, command in peers.items():
            out = fresh(folders[name])
            runs[name].append(measure(command(out), cwd=out))
        runs["floor: decompress inputs once"].append(measure_probe("decompress", raw))
    results = {name: median_of(r) for name, r in runs.items()}
    ours = results["workflow (snakemake --cores 2)"]["seconds"]
    master = results["workflow, master only (no QC, no figures)"]["seconds"]
    ccdproc = results["guide's ccdproc code"]["seconds"]
    iraf = results.get("IRAF ccdproc + zerocombine", {}).get("seconds", float("nan"))
    ours_master = fitsio.read(
        str(folders["workflow, the guide's clipping"] / "results" / "master_bias.fits")
    )
    ccdproc_master = fitsio.read(
        str(folders["guide's ccdproc code"] / "cal" / "combined_bias.fit")
    ).astype(np.float32)  # ccdproc writes float64: compared as the float32 it rounds to
    rows = [(name, f"{r['seconds']:.1f}", f"{r['peak_mb']:.0f}", f"{r['seconds'] / ours:.2f}")
            for name, r in results.items()]  # fmt: skip
    whole_run = folders["workflow (snakemake --cores 2)"] / "results"
    return (
        f"{sizes.night_biases} raw biases of {camera.rows} x {camera.columns} uint16 "
        f".fits.gz, median of {repeats} runs; ratio = peer's time / workflow's time (above 1: "
        "the workflow is faster)\n\n"
        + table(rows, ("peer", "wall s", "peak RSS MB", "time ratio"))
        + f"\n\n- whole workflow: {ccdproc / ours:.2f}x faster than the guide's ccdproc code "
        f"(target 3.5x), {iraf / ours:.2f}x IRAF's speed (target 1x)\n"
        f"- master only: {ccdproc / master:.2f}x faster than the guide's code, "
        f"{iraf / master:.2f}x IRAF's speed (target 1.5x)\n"
        f"- the QC tables and figures add {100 * (ours / master - 1):.0f} % to the "
        "master-only time (target 20 %)\n"
        "- master with the guide's clipping vs the guide's ccdproc master: "
        f"max |difference| = {np.max(np.abs(ours_master - ccdproc_master)):.2e} ADU\n\n"
        "Jobs of one run of the whole workflow (Snakemake's benchmark files, mean s per job):"
        "\n\n"
        + table(
            [(rule, f"{s:.2f}") for rule, s in job_seconds(whole_run).items()], ("rule", "s")
        )  # fmt: skip
        + "\n\n"
        + frame_job_breakdown(raw, camera, root)
    )


def frame_job_breakdown(raw: Path, camera: CameraModel, work: Path) -> str:
    """Where a frame job's time goes: process start, imports, and the profiled steps of
    calibrate_file (fresh processes, median of 5)."""
    from masterbias.config import load_config
    from masterbias.layout import LayoutSpec

    config = load_config({"raw_dir": str(raw), "camera": "palomar_lfc"})
    layout = json.dumps(LayoutSpec.from_config(config).to_params())
    frame = sorted(raw.glob("*.fits.gz"))[0]
    runs = [probe("frame_job", frame, work / f"frame{index}.fits", layout) for index in range(5)]
    start = statistics.median(measure([PYTHON, "-c", "pass"])["seconds"] for _ in range(5))
    rows = [("Python start-up", f"{start:.3f}")]
    rows += [(step, f"{statistics.median(run[step] for run in runs):.3f}") for step in runs[0]]
    return table(rows, (f"step of one frame job ({camera.name}, .fits.gz)", "s"))


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


def bench_combine(root: Path, sizes: Sizes, repeats: int) -> str:
    """40 calibrated frames combined in bands within 512 MB, against reading them once."""
    side, limit = sizes.combine_side, 512 * 10**6
    paths = json.dumps(write_calibrated(root / f"cal{side}", 40, side))
    # the frames in the page cache for every peer, as in a workflow that has just written
    # them: partly read from this disk, a combine of 160 frames took 12-34 s, not 5
    probe("read", paths)
    combine = median_of([measure_probe("combine", paths, root / "m.fits", limit, 2)
                         for _ in range(repeats)])  # fmt: skip
    read = median_of([measure_probe("read", paths) for _ in range(repeats)])
    idle = measure_probe("imports")["peak_mb"]
    narrow = probe("combine", paths, root / "narrow.fits", limit // 8, 1)
    same = all(np.array_equal(fitsio.read(str(root / "m.fits"), ext=e),
                              fitsio.read(str(root / "narrow.fits"), ext=e))
               for e in (0, 1, 2))  # fmt: skip
    values = 40 * side * side
    rows = [row("combine (2 threads)", combine), row("read every file once", read),
            ("Python + numpy + dask + fitsio, idle", "", "", f"{idle:.0f}")]  # fmt: skip
    return (
        f"40 calibrated {side} x {side} float32 frames, mem_limit 512MB\n\n"
        + table(rows, ("step", "wall s", "", "peak RSS MB"))
        + f"\n\ncombine / read = {combine['seconds'] / read['seconds']:.1f} (target 3); "
        f"{1e9 * combine['seconds'] / values:.1f} ns per stacked value in all, "
        f"{1e9 * read['seconds'] / values:.1f} ns to read it; peak RSS over idle = "
        f"{combine['peak_mb'] - idle:.0f} MB (limit 488 MiB); bit-identical to a run in "
        f"bands of {narrow['band_rows']} rows (mem_limit 64MB, 1 thread): {same}"
    )


def bench_combine_scaling(root: Path, sizes: Sizes, repeats: int) -> str:
    """The combine's cost against the number of frames."""
    side, rows = sizes.scaling_side, []
    for count in (10, 40, 160):
        paths = json.dumps(write_calibrated(root / f"cal{side}", count, side))
        probe("read", paths)
        combine = measure_probe("combine", paths, root / "m.fits", 512 * 10**6, 2)
        read = measure_probe("read", paths)
        rows.append((count, *row("", combine, count)[1:], f"{read['seconds']:.1f}"))
    return f"{side} x {side} calibrated frames, mem_limit 512MB, one run each\n\n" + table(
        rows, ("frames", "combine s", "s per frame", "peak RSS MB", "read once s")
    )


def bench_scale(root: Path, sizes: Sizes, repeats: int) -> str:
    """One night of N raw 1024 x 1024 biases, end to end: linear in N?"""
    most = max(sizes.scale_counts)
    largest = once(root / f"scale{most}", lambda raw: write_night(
        raw, ARCHIVE_CAMERA, n_bias=most, n_flat=0, n_light=0, seed=31))  # fmt: skip
    rows = []
    for count in sizes.scale_counts:
        raw = fresh(root / f"scale-first{count}")  # the first `count` frames, hard-linked
        for path in sorted(largest.glob("*.fits.gz"))[:count]:
            os.link(path, raw / path.name)
        out = fresh(root / "scale-out")
        result = measure(workflow(out, {"raw_dir": str(raw), **ARCHIVE_LAYOUT}), cwd=out)
        jobs = job_seconds(out / "results")
        rows.append((count, *row("", result, count)[1:3], f"{jobs['calibrate_frame']:.3f}",
                     f"{jobs['combine_biases']:.1f}", f"{result['peak_mb']:.0f}"))  # fmt: skip
    return (
        f"{ARCHIVE_CAMERA.rows} x {ARCHIVE_CAMERA.columns} uint16 .fits.gz biases, one night, "
        "the whole workflow (QC and figures included), one run each\n\n"
        + table(
            rows,
            ("frames", "wall s", "s per frame", "frame job s (mean)", "combine s", "peak RSS MB"),
        )  # fmt: skip
    )


def bench_discovery(root: Path, sizes: Sizes, repeats: int) -> str:
    """1000 raw headers read, through the header cache, and by ccdproc."""
    folder = once(root / "headers1000", lambda folder: write_night(
        folder, ARCHIVE_CAMERA, n_bias=1000, n_flat=0, n_light=0, seed=2))  # fmt: skip
    cache = root / "headers.json"
    cache.unlink(missing_ok=True)
    cold = measure_probe("discover", folder, cache)
    warm = measure_probe("discover", folder, cache)
    ifc = measure([PYTHON, "-c", f"import ccdproc; ccdproc.ImageFileCollection({str(folder)!r})"])
    rows = [row("masterbias, no cache", cold), row("masterbias, cache warm", warm),
            row("ccdproc ImageFileCollection", ifc)]  # fmt: skip
    return "1000 raw .fits.gz (1056 x 1024 uint16), headers read (wall s, Python start-up " + (
        "included)\n\n" + table(rows, ("finder", "wall s", "", "peak RSS MB"))
    )


def archive_nights(first: date, count: int, frames: int) -> list[NightSpec]:
    return [NightSpec((first + timedelta(days=n)).isoformat(), afternoon=frames // 2,
                      morning=frames - frames // 2) for n in range(count)]  # fmt: skip


def bench_archive(root: Path, sizes: Sizes, repeats: int) -> str:
    """An archive of nights: what a night costs inside it, against the same frames as one
    night and against that night alone."""
    nights, frames = sizes.archive_nights, sizes.archive_frames
    specs = archive_nights(date(2026, 1, 1), nights + 1, frames)
    archive = once(root / f"archive{nights}x{frames}", lambda raw: write_archive(
        raw, ARCHIVE_CAMERA, specs[:nights], ARCHIVE_LONGITUDE, seed=12))  # fmt: skip
    tonight = once(root / f"tonight{frames}", lambda raw: write_archive(
        raw, ARCHIVE_CAMERA, specs[nights:], ARCHIVE_LONGITUDE, seed=13))  # fmt: skip
    raw = fresh(root / "archive-raw")  # the archive, hard-linked, tonight's folder added later
    linked = {"dirs_exist_ok": True, "copy_function": os.link,
              "ignore": shutil.ignore_patterns(".complete")}  # fmt: skip
    shutil.copytree(archive, raw, **linked)
    by_night = {**ARCHIVE_LAYOUT, "group_by": ["night"], "night": {"longitude": ARCHIVE_LONGITUDE}}
    out = fresh(root / "archive-out")
    full = measure(workflow(out, {"raw_dir": str(raw), **by_night}), cwd=out)
    plan = measure(workflow(out, {"raw_dir": str(raw), **by_night}, "--dry-run"), cwd=out)
    shutil.copytree(tonight, raw, **linked)
    nightly = measure(workflow(out, {"raw_dir": str(raw), **by_night}), cwd=out)
    alone_out = fresh(root / "tonight-out")
    alone = measure(workflow(alone_out, {"raw_dir": str(tonight), **by_night}), cwd=alone_out)
    one_out = fresh(root / "one-night-out")
    one_night = measure(workflow(one_out, {"raw_dir": str(archive), **ARCHIVE_LAYOUT}),
                        cwd=one_out)  # fmt: skip
    total = nights * frames
    rows = [
        row(f"{nights} nights x {frames} frames, end to end", full, total),
        row(f"the same {total} frames as one night", one_night, total),
        row("plan it again, nothing to do (--dry-run)", plan),
        row(f"the nightly run: one night of {frames} frames added", nightly, frames),
        row("that night alone, in an out_dir of its own", alone, frames),
    ]
    return (
        f"{ARCHIVE_CAMERA.rows} x {ARCHIVE_CAMERA.columns} uint16 .fits biases in UT-date "
        "folders, group_by: [night], snakemake --cores 2, one run each\n\n"
        + table(rows, ("run", "wall s", "s per frame", "peak RSS MB"))
        + f"\n\n- a night inside the archive / the same frames as one night: "
        f"{full['seconds'] / one_night['seconds']:.2f} (target 1.3)\n"
        f"- the nightly run / that night alone: {nightly['seconds'] / alone['seconds']:.2f} "
        "(target about 1)"
    )


def bench_mosaic(root: Path, sizes: Sizes, repeats: int) -> str:
    """A night of a mosaic camera of DECam's layout: CCDs of 2048 x 4096 light pixels (two
    amplifiers each), RICE-compressed .fits.fz, combined within a memory limit."""
    frames, ccds, limit = sizes.mosaic
    model = MosaicModel("decam8", 4146, 2160, tuple(
        decam_ccd(f"S{index}", index, 2048 * (index - 1) + 1, False, width=1024, height=4096,
                  overscan=50, prescan=6, parallel=50)
        for index in range(1, ccds + 1)
    ), {"OBSTYPE": "zero"})  # fmt: skip
    raw = once(root / f"mosaic{frames}x{ccds}", lambda raw: write_mosaic_night(
        raw, model, n_bias=frames, n_flat=0, seed=21))  # fmt: skip
    out = fresh(root / "mosaic-out")
    config = {"raw_dir": str(raw), "camera": "decam", "extensions": "all",
              "combine": {"mem_limit": limit}}  # fmt: skip
    whole = measure(workflow(out, config, "--until", "combine_biases"), cwd=out)

    def benchmark(path: Path) -> dict:
        with open(path) as stream:
            found = next(csv.DictReader(stream, delimiter="\t"))
        return {"seconds": float(found["s"]), "peak_mb": float(found["max_rss"])}

    results = out / "results"
    combine = benchmark(results / "benchmarks" / "combine_biases.tsv")
    frame_jobs = [benchmark(p) for p in (results / "benchmarks" / "calibrate_frame").glob("*")]
    summed = {"seconds": sum(job["seconds"] for job in frame_jobs),
              "peak_mb": max(job["peak_mb"] for job in frame_jobs)}  # fmt: skip
    read = measure_probe("read", json.dumps(sorted(map(str, results.glob("calibrated/*.fits")))))
    unpack = measure_probe("read", json.dumps(sorted(map(str, raw.glob("*.fz")))))
    idle = measure_probe("imports")["peak_mb"]
    rows = [
        row("workflow to the master (snakemake --cores 2)", whole),
        row(f"combine job ({ccds} extensions in row bands)", combine),
        row("read every calibrated extension once", read),
        row(f"{frames} frame jobs, summed", summed),
        row("decompress every raw .fz once", unpack),
        ("Python + numpy + dask + fitsio, idle", "", "", f"{idle:.0f}"),
    ]
    stack_gb = frames * ccds * 4096 * 2048 * 4 / 1e9
    return (
        f"{frames} exposures x {ccds} CCDs of DECam's layout (2160 x 4146 raw, 2048 x 4096 "
        f"calibrated, two amplifiers each), RICE .fits.fz; the stack is {stack_gb:.1f} GB of "
        f"float32, combine.mem_limit {limit}\n\n"
        + table(rows, ("step", "wall s", "", "peak RSS MB"))
        + f"\n\ncombine / read once = {combine['seconds'] / read['seconds']:.1f}; combine peak "
        f"RSS over idle = {combine['peak_mb'] - idle:.0f} MB; frame jobs / decompressing once "
        f"= {summed['seconds'] / unpack['seconds']:.1f}"
    )


SECTIONS = {
    "night": ("Raw night to master", bench_night),
    "combine": ("The combine against reading once", bench_combine),
    "scaling": ("The combine against the number of frames", bench_combine_scaling),
    "scale": ("A night of many frames", bench_scale),
    "discovery": ("Finding the frames", bench_discovery),
    "archive": ("An archive of nights", bench_archive),
    "mosaic": ("A mosaic night", bench_mosaic),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller data, one run each")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "masterbias-bench"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"))
    args = parser.parse_args(argv)
    root = Path(args.work)
    root.mkdir(parents=True, exist_ok=True)
    sizes, repeats = (QUICK, 1) if args.quick else (FULL, args.repeats)
    sections = [f"# Benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)"]
    for name in args.only:
        title, bench = SECTIONS[name]
        sections.append(f"## {title}\n\n{bench(root, sizes, repeats)}")
        print(sections[-1] + "\n", flush=True)
        Path(args.out).write_text("\n\n".join(sections) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
