"""The configuration is read once, against the schema, the one place of every default."""

import ast
import dataclasses
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from masterbias.combine import CombineSettings
from masterbias.config import SCHEMA, Settings, default_config, load_config, schema_markdown
from masterbias.errors import ConfigError
from masterbias.layout import LayoutSpec
from masterbias.overscan_model import OverscanModel

PACKAGE = REPO / "scripts" / "masterbias"


def schema_keys(node=None) -> set[str]:
    """Every setting's name anywhere in the schema."""
    node = yaml.safe_load(SCHEMA.read_text()) if node is None else node
    keys = set()
    for key, sub in node.get("properties", {}).items():
        keys.add(key)
        keys |= schema_keys(sub)
        if isinstance(sub.get("items"), dict):
            keys |= schema_keys(sub["items"])
    return keys


def test_config_readme_is_made_from_the_schema():
    made = subprocess.run(
        [sys.executable, "-m", "masterbias.config"], capture_output=True, text=True,
        cwd=REPO, env={"PYTHONPATH": str(REPO / "scripts")}, check=True,
    ).stdout  # fmt: skip
    assert made == schema_markdown()
    assert (REPO / "config" / "README.md").read_text() == made, (
        "config/README.md is stale: PYTHONPATH=scripts python -m masterbias.config "
        "> config/README.md"
    )
    for key in ("combine.reject.algorithm", "extensions", "amplifiers[].light"):
        assert f"| `{key}` |" in made


def test_no_default_is_written_in_code():
    """Settings records carry no defaults of their own, and no code reads a setting with
    a fallback (``block.get("key", 4)``): the schema's default is the only one."""
    for record in (CombineSettings, LayoutSpec, OverscanModel):
        assert issubclass(record, Settings)
        for field in dataclasses.fields(record):
            assert field.default is dataclasses.MISSING, (record.__name__, field.name)
            assert field.default_factory is dataclasses.MISSING, (record.__name__, field.name)
    keys = schema_keys()
    fallbacks = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault")
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in keys
                and not (isinstance(node.args[1], ast.Constant) and node.args[1].value is None)
            ):
                fallbacks.append(f"{path.name}:{node.lineno}: .get({node.args[0].value!r}, ...)")
    assert fallbacks == []


def test_the_schema_defaults_make_a_complete_run():
    config = default_config(raw_dir="raw")
    assert config["out_dir"] == "results" and config["camera"] is None
    assert config["combine"]["reject"]["algorithm"] == "ccdclip"
    assert config["overscan"]["model"]["function"] == "none"
    assert CombineSettings.default() == CombineSettings.from_config(config["combine"])
    assert LayoutSpec.default() == LayoutSpec.from_config(config)


def test_loading_nests_dotted_keys_puts_the_preset_under_and_translates_sigma_clip():
    loaded = load_config(
        {"raw_dir": "raw", "camera": "shane_kast_blue", "combine.mem_limit": "2GB",
         "combine": {"method": "median", "sigma_clip": {"low": 3}}, "select.OBSTYPE": ["BIAS"]}
    )  # fmt: skip
    assert loaded["combine"]["mem_limit"] == 2 * 10**9 and loaded["combine"]["method"] == "median"
    assert loaded["combine"]["reject"] == {"algorithm": "ccdproc", "low": 3, "high": 5,
                                           "nlow": 1, "nhigh": 1, "read_noise": None}  # fmt: skip
    assert "sigma_clip" not in loaded["combine"]
    assert loaded["select"] == {"OBSTYPE": ["BIAS"], "EXPTIME": {"max": 0}}  # preset's + ours
    assert [amp["name"] for amp in loaded["amplifiers"]] == ["A", "B"]  # from the preset


@pytest.mark.parametrize(
    "config, words",
    [
        ({}, "config key 'raw_dir': must be set"),
        ({"raw_dir": "r", "combine": {"mem_limit": "lots"}}, "'combine.mem_limit': 'lots' is not"),
        ({"raw_dir": "r", "combine.metod": "median"}, "'combine.metod': is not a known setting"),
        ({"raw_dir": "r", "extensions": "some"}, "'extensions'"),
        ({"raw_dir": "r", "camera": "hubble"}, "no preset 'hubble'"),
    ],
)
def test_mistakes_name_the_key(config, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_config(config)
