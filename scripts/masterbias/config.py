"""The workflow configuration, read once: checked against its schema, completed, translated.

``config/schema.yaml`` is the one place that holds every setting's description, default and
allowed values.  :func:`load_config` is the one reading of a configuration: after it, code
reads keys directly (``config["combine"]["method"]``) and repeats no check the schema makes.
Mistakes end in one line that names the key, says what is wrong and what is allowed.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import ClassVar

from .errors import ConfigError

__all__ = [
    "Settings",
    "SCHEMA",
    "PRESETS",
    "load_config",
    "check_config",
    "default_config",
    "fill_defaults",
    "parse_memory",
    "schema_markdown",
]

_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
#: The schema and the folder of camera presets of this checkout.
SCHEMA = _CONFIG_DIR / "schema.yaml"
PRESETS = _CONFIG_DIR / "cameras"


@functools.cache
def _schema(path: str) -> dict:
    import yaml

    with open(path) as stream:
        return yaml.safe_load(stream)


def _dotted(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


#: A key's description in a message is its first sentence, cut to this many characters:
#: config/README.md has the whole of it.
_MEANING_CHARS = 100


def _allowed(schema: dict) -> str:
    """What a key may be, for a one-line message: its allowed values, or the first
    sentence of its description."""
    if "enum" in schema:
        return "allowed: " + ", ".join(repr(value) for value in schema["enum"])
    if "description" not in schema:
        return ""
    text = " ".join(schema["description"].split())
    first = re.split(r"(?<=;)\s|(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".;")
    if len(first) > _MEANING_CHARS:
        first = first[:_MEANING_CHARS].rsplit(" ", 1)[0] + " ..."
    return f"{first}; see config/README.md"


def fill_defaults(config: dict, schema: dict | str | Path = SCHEMA) -> dict:
    """Fill in the schema's defaults for every key the configuration leaves out, in place.

    Nested blocks get their own defaults; a block set to null (``reject_frames: null``)
    stays null.  (Snakemake's ``validate`` would try to fill a null block and fail.)
    """
    if not isinstance(schema, dict):
        schema = _schema(str(schema))

    def fill(instance, node):
        if not isinstance(instance, dict):
            return
        for key, sub in node.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                fill(instance[key], sub)

    fill(config, schema)
    return config


def default_config(**settings) -> dict:
    """The schema's defaults, with ``settings`` (top-level keys) on top: what a run gets
    when the configuration sets nothing else (for the package's own use and its tests)."""
    return _complete(copy.deepcopy(settings), SCHEMA)


def _complete(config: dict, schema) -> dict:
    """A checked configuration made complete, in place: the first version's
    ``sigma_clip`` translated, every default filled in, ``combine.mem_limit`` read as a
    number of bytes (the value the rest of the code uses)."""
    _translate_first_version(config)
    fill_defaults(config, schema)
    config["combine"]["mem_limit"] = parse_memory(config["combine"]["mem_limit"])
    return config


class Settings:
    """A record of settings read from one block of the configuration (``from_config``),
    whose defaults are the schema's, never its own: :meth:`default` gives the schema's
    defaults with some fields changed (for the package's own use and its tests)."""

    #: The keys leading to the block in the configuration.
    section: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def default(cls, **changes):
        from dataclasses import replace

        block = default_config()
        for key in cls.section:
            block = block[key]
        return replace(cls.from_config(block), **changes)


def check_config(config: dict, schema: dict | str | Path = SCHEMA) -> None:
    """Raise :class:`ConfigError` for the first problem of ``config`` against the schema.

    Raises
    ------
    ConfigError
        Naming the key (dotted, e.g. ``combine.mem_limit``), the problem, and what the
        schema allows there.
    """
    import jsonschema  # here, not at the top: job processes do not need it

    if not isinstance(schema, dict):
        schema = _schema(str(schema))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        key = _dotted(list(error.absolute_path) + unknown[:1])
        allowed = "known keys here: " + ", ".join(known) if known else ""
        raise ConfigError(key, f"is not a known setting; {allowed}")
    if error.validator == "required":
        missing = error.message.split("'")[1]
        meaning = _allowed(error.schema.get("properties", {}).get(missing, {}))
        raise ConfigError(_dotted(list(error.absolute_path) + [missing]), f"must be set: {meaning}")
    allowed = _allowed(error.schema)
    raise ConfigError(
        _dotted(error.absolute_path), f"{error.message}" + (f" ({allowed})" if allowed else "")
    )


def _nest_dotted_keys(config: dict) -> dict:
    """``{'combine.mem_limit': '2GB'}`` (from ``--config combine.mem_limit=2GB``) as
    ``{'combine': {'mem_limit': '2GB'}}``, merged into the block already there."""
    nested = {key: value for key, value in config.items() if "." not in str(key)}
    for key, value in config.items():
        if "." not in str(key):
            continue
        *parents, last = str(key).split(".")
        block = nested
        for part in parents:
            child = block.get(part)
            block[part] = dict(child) if isinstance(child, dict) else {}
            block = block[part]
        block[last] = value
    return nested


def _allowed_types(node: dict) -> set[str]:
    types = node.get("type", [])
    types = set(types) if isinstance(types, list) else {types} if types else set()
    for choice in node.get("oneOf", []) + node.get("anyOf", []):
        types |= _allowed_types(choice) | ({"string"} if "const" in choice else set())
    return types


def _typed_strings(config, node: dict):
    """Strings where the schema wants numbers, booleans or null, read as YAML.

    Snakemake reads ``--config 'combine={min_frames: 4, reject_frames: null}'`` with
    YAML's base loader, which gives strings only: ``'4'``, ``'null'``.
    """
    if isinstance(config, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, value in config.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else {})
            config[key] = _typed_strings(value, sub)
        return config
    if isinstance(config, list):
        items = node.get("items", {})
        return [_typed_strings(value, items if isinstance(items, dict) else {}) for value in config]
    types = _allowed_types(node)
    if isinstance(config, str) and types and "string" not in types:
        import yaml

        try:
            return yaml.safe_load(config)
        except yaml.YAMLError:
            return config
    return config


def _translate_first_version(config: dict) -> None:
    """``combine.sigma_clip`` (the first version's setting) as the ``reject`` it means.

    ``sigma_clip: {low: 5, high: 5}`` is the guide's clipping, exactly
    (``reject: {algorithm: ccdproc, low: 5, high: 5}``); ``sigma_clip: null`` no rejection.
    """
    combine = config.get("combine")
    if not isinstance(combine, dict) or "sigma_clip" not in combine:
        return
    if "reject" in combine:
        raise ConfigError(
            "combine.sigma_clip",
            "cannot be set together with combine.reject: sigma_clip is the first "
            "version's spelling of reject: {algorithm: ccdproc, low: .., high: ..}; keep one",
        )
    clip = combine.pop("sigma_clip")
    if clip is None:
        combine["reject"] = {"algorithm": "none"}
        return
    schema = _schema(str(SCHEMA))
    clip_schema = schema["properties"]["combine"]["properties"]["sigma_clip"]
    clip = fill_defaults(dict(clip), clip_schema)
    combine["reject"] = {"algorithm": "ccdproc", "low": clip["low"], "high": clip["high"]}


def load_config(config: dict, schema: str | Path = SCHEMA, cameras: str | Path = PRESETS) -> dict:
    """The one reading of a workflow configuration.

    Checks the configuration against the schema, puts its camera preset underneath it (key
    by key), checks the result, translates the first version's ``sigma_clip`` into
    ``reject``, fills in every default, and reads ``combine.mem_limit`` as a number of
    bytes (the value the rest of the code uses).

    Parameters
    ----------
    config : dict
        What the user gave (Snakemake's ``config``: config files and ``--config`` merged);
        dotted keys (``combine.mem_limit: 2GB``) are nested, and the strings Snakemake
        makes of ``--config 'combine={min_frames: 4}'`` are read as the schema's types.
    schema, cameras : path-like
        The schema and the folder of camera presets.

    Returns
    -------
    dict
        A new, complete configuration.

    Raises
    ------
    ConfigError
        For the first mistake, naming the key.
    """
    from .cameras import apply_camera

    given = _nest_dotted_keys(copy.deepcopy(dict(config)))
    _typed_strings(given, _schema(str(schema)))
    check_config(given, schema)
    merged = apply_camera(given, cameras)
    check_config(merged, schema)
    return _complete(merged, schema)


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})


def parse_memory(text: str | int | float) -> int:
    """Bytes from a size such as ``512MB``, ``1.5 GiB`` or a plain number of bytes.

    Raises
    ------
    ConfigError
        For anything else.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
        if match is None or match.group(2).upper() not in _UNITS:
            raise ConfigError(
                "combine.mem_limit",
                f"{text!r} is not a size like '512MB', '2GB' or '1.5GiB'",
            )
        value, unit = float(match.group(1)), match.group(2).upper()
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise ConfigError("combine.mem_limit", f"{text!r} must be more than zero")
    return size


def _markdown_rows(node: dict, prefix: str = "") -> list[str]:
    rows = []
    for key, sub in node.get("properties", {}).items():
        name = f"{prefix}{key}"
        types = sub.get("type", "")
        types = " or ".join(types) if isinstance(types, list) else types
        if "oneOf" in sub:
            types = " or ".join(f"`{one['const']}`" if "const" in one else one.get("type", "")
                                for one in sub["oneOf"])  # fmt: skip
        if "enum" in sub:
            types = " \\| ".join(f"`{value}`" for value in sub["enum"])
        if "default" in sub:
            default = f"`{_yaml_text(sub['default'])}`"
        else:
            default = "(required)" if key in node.get("required", ()) else ""
        text = " ".join(sub.get("description", "").split())
        rows.append(f"| `{name}` | {types} | {default} | {text} |")
        if sub.get("properties"):
            rows += _markdown_rows(sub, f"{name}.")
        items = sub.get("items", {})
        if isinstance(items, dict) and items.get("properties"):
            rows += _markdown_rows(items, f"{name}[].")
    return rows


def _yaml_text(value) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("...").strip()


def schema_markdown(schema: str | Path = SCHEMA) -> str:
    """``config/README.md``: every setting of the schema, its type, default and meaning."""
    tree = _schema(str(schema))
    lines = [
        "# Configuration",
        "",
        "<!-- Made from config/schema.yaml by `python -m masterbias.config`; do not edit. -->",
        "",
        " ".join(tree["description"].split()),
        "",
        "Give your settings in a YAML file (`snakemake --configfile my.yaml`), on the command",
        "line (`--config raw_dir=/data/night1 'combine={mem_limit: 2GB}'`), or as the",
        "`config:` of a parent workflow that uses this one as a module (docs/module.md). What",
        "you set goes over the camera preset (`camera`), key by key; the preset goes over the",
        "defaults below. `config/config.yaml` is the configuration of the demo night.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
        *_markdown_rows(tree),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print config/README.md, or check configuration files: ``python -m masterbias.config
    [--check FILE ...]``."""
    import argparse
    import sys

    import yaml

    parser = argparse.ArgumentParser(prog="python -m masterbias.config", description=main.__doc__)
    parser.add_argument("--check", nargs="+", metavar="FILE", help="configuration files")
    args = parser.parse_args(argv)
    if not args.check:
        sys.stdout.write(schema_markdown())
        return
    merged: dict = {}
    for path in args.check:
        try:
            with open(path) as stream:
                loaded = yaml.safe_load(stream) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or str(err)
            sys.exit(f"masterbias: {path}{where}: not valid YAML: {problem}")
        except OSError as err:
            sys.exit(f"masterbias: {path}: cannot read: {err.strerror}")
        if not isinstance(loaded, dict):
            sys.exit(f"masterbias: {path}: must hold keys at the top level")
        from .cameras import merge

        merged = merge(merged, loaded)
    try:
        load_config(merged)
    except ConfigError as err:
        sys.exit(f"masterbias: {err}")


if __name__ == "__main__":
    main()
