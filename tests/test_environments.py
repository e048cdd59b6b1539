"""The run environment holds what the README's commands need; the conda environment of the
jobs pins what requirements.txt pins."""

import re

import yaml

from conftest import REPO

#: conda-forge names of the PyPI packages the jobs import
CONDA_NAMES = {"dask": "dask-core", "isal": "python-isal"}


def pip_pins():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def conda_pins(path):
    pins = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*=+\s*([^\s]+)$", str(entry))
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_conda_environments_pin_the_pip_versions():
    pip = pip_pins()
    for env in sorted((REPO / "envs").glob("*.yaml")):
        conda = conda_pins(env)
        for name in ("numpy", "fitsio", "isal", "dask"):
            conda_name = CONDA_NAMES.get(name, name)
            assert conda.get(conda_name) == pip[name], (env.name, name, conda, pip)
        python = conda["python"]
        assert python.startswith("3.11")


def test_the_run_environment_can_write_the_report():
    """`make report` runs `snakemake --report` with requirements.txt alone: every package of
    snakemake's "reports" extra is pinned there, at the version installed here."""
    from importlib.metadata import requires, version

    needed = [re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower()
              for r in requires("snakemake") if 'extra == "reports"' in r]  # fmt: skip
    assert needed
    pins = pip_pins()
    for name in needed:
        assert pins.get(name) == version(name), (name, pins.get(name))
