"""Formatting and lint of the workflow and the package, as the README promises."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

BIN = Path(sys.executable).parent


def tool(name):
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (make test installs it)")
    return found


def test_snakefmt_formatted():
    done = subprocess.run(
        [tool("snakefmt"), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_clean():
    done = subprocess.run(
        [tool("ruff"), "check", "scripts", "tests", "benchmarks"], cwd=REPO, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
