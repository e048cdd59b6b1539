"""Shared fixtures: synthetic nights, a Snakemake runner, and the real-data folder."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
REALDATA = REPO.parent / "shared" / "realdata"


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, with its mode: proof it was not touched."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            content = hashlib.sha256(path.read_bytes()).hexdigest()
            digests[str(path.relative_to(folder))] = f"{content} {path.stat().st_mode:o}"
    return digests


class Workflow:
    """A working directory with a config, and Snakemake run on it through its CLI."""

    def __init__(self, directory: Path, config: dict, snakefile: Path = REPO / "Snakefile"):
        self.directory = directory
        self.snakefile = snakefile
        self.config_path = directory / "config.yaml"
        self.config = config
        self.write_config()

    def write_config(self):
        self.config_path.write_text(yaml.safe_dump(self.config))

    @property
    def results(self) -> Path:
        return self.directory / self.config.get("out_dir", "results")

    @property
    def master(self) -> Path:
        return self.results / "master_bias.fits"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = SNAKEMAKE + [
            "--snakefile", str(self.snakefile),
            "--directory", str(self.directory),
            "--configfile", str(self.config_path),
            *args,
        ]  # fmt: skip
        if not any(arg.startswith("--cores") or arg == "-c" for arg in args):
            command += ["--cores", "2"]
        raw_dir = Path(self.directory, self.config.get("raw_dir", "."))
        before = folder_digest(raw_dir) if raw_dir.is_dir() else None
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.directory)
        if before is not None:  # whatever happened, the raw data are as they were
            assert folder_digest(raw_dir) == before, f"raw folder {raw_dir} changed"
        if check and done.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
            )
        return done

    def fail(self, *args: str) -> str:
        """Run, expect failure, and return what Snakemake printed."""
        done = self.run(*args, check=False)
        assert done.returncode != 0, f"snakemake {' '.join(args)} should have failed"
        return done.stdout + done.stderr

    def planned_jobs(self, *args: str) -> dict[str, int]:
        """Rule name -> number of jobs a run would execute now (from a dry run)."""
        done = self.run("--dry-run", *args)
        text = done.stdout + done.stderr
        if "Nothing to be done" in text:
            return {}
        table = text[text.index("Job stats:") :] if "Job stats:" in text else ""
        jobs = {}
        for line in table.splitlines()[3:]:
            match = re.match(r"^(\w+)\s+(\d+)\s*$", line)
            if match and match.group(1) != "total":
                jobs[match.group(1)] = int(match.group(2))
            elif jobs and not line.strip():
                break
        return jobs


#: The guide's rejection, in the first version's spelling (the default is ccdclip).
GUIDE_CLIPPING = {"sigma_clip": {"low": 5, "high": 5}}


#: The amplifiers of masterbias.synth's small DECam-like mosaic, from its headers.
DECAM_AMPLIFIERS = [
    {"name": "A", "light": "header:DATASECA", "overscan": "header:BIASSECA"},
    {"name": "B", "light": "header:DATASECB", "overscan": "header:BIASSECB"},
]


def decam_like_config(raw_dir: Path, **settings) -> dict:
    """The small DECam-like mosaic's biases, every extension, without a preset."""
    return {"raw_dir": str(raw_dir), "camera": None, "select": {"OBSTYPE": ["zero"]},
            "amplifiers": DECAM_AMPLIFIERS, **settings}  # fmt: skip


def base_config(raw_dir: Path, camera: str = "small", **overrides) -> dict:
    """A config for a synthetic camera of masterbias.synth: its clean overscan subtracted,
    its light area kept, everything else the defaults."""
    from masterbias.synth import CAMERAS

    model = CAMERAS[camera]
    config = {
        "raw_dir": str(raw_dir),
        "out_dir": "results",
        "camera": None,
        "overscan": {"method": "median", "region": model.clean_overscan},
        "trim": {"region": model.light},
    }
    config.update(overrides)
    return config


def archive_config(raw_dir: Path, **overrides) -> dict:
    """A config for an archive of the small camera (masterbias.synth.write_archive), one
    master per observing night."""
    return base_config(raw_dir, **{"group_by": ["night"], **overrides})


def small_raw(folder: Path, n_bias=5, n_flat=1, n_light=1, seed=11, compress=False) -> Path:
    """A night of the small camera written into ``folder``."""
    from masterbias.synth import write_night

    write_night(folder, "small", n_bias=n_bias, n_flat=n_flat, n_light=n_light, seed=seed,
                compress=compress)  # fmt: skip
    return folder


def flow_in(folder: Path, config: dict) -> Workflow:
    """A Workflow with ``config`` in a new working directory ``folder``."""
    folder.mkdir(parents=True)
    return Workflow(folder, config)


@pytest.fixture
def small_night(tmp_path):
    """Five small raw biases plus a flat and a light, uncompressed."""
    return small_raw(tmp_path / "raw")


@pytest.fixture
def flow(tmp_path, small_night):
    """A Workflow on the small night."""
    return flow_in(tmp_path / "work", base_config(small_night))


@pytest.fixture
def realdata():
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent (it is not part of a clone)")
    return REALDATA


def guide_combine(ccds):
    """The guide's ccdproc.combine call (the yardstick of the master bias)."""
    import warnings

    import ccdproc
    import numpy as np
    from astropy.stats import mad_std

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ccdproc.combine(
            ccds,
            method="average",
            sigma_clip=True,
            sigma_clip_low_thresh=5,
            sigma_clip_high_thresh=5,
            sigma_clip_func=np.ma.median,
            sigma_clip_dev_func=mad_std,
        )
