"""The conda environment of the jobs pins what requirements.txt pins."""

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
