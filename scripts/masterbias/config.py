"""Checking the workflow configuration against its schema, with messages a user can act on.

Snakemake's own validation reports the whole instance and schema; this names the key, says
what is wrong and what is allowed, in one line.
"""

from __future__ import annotations

import copy
import re

from .errors import ConfigError

__all__ = ["check_config", "fill_defaults", "parse_memory"]


def _dotted(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _allowed(schema: dict) -> str:
    if "enum" in schema:
        return "allowed: " + ", ".join(repr(value) for value in schema["enum"])
    if "description" in schema:
        return schema["description"].strip()
    return ""


def fill_defaults(config: dict, schema_path: str) -> dict:
    """Fill in the schema's defaults for every key the configuration leaves out.

    Nested blocks get their own defaults; a block set to null (``sigma_clip: null``) stays
    null.  (Snakemake's ``validate`` would try to fill a null block and fail.)
    """
    import yaml

    with open(schema_path) as stream:
        schema = yaml.safe_load(stream)

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


def check_config(config: dict, schema_path: str) -> None:
    """Raise :class:`ConfigError` for the first problem of ``config`` against the schema.

    Raises
    ------
    ConfigError
        Naming the key (dotted, e.g. ``combine.mem_limit``), the problem, and what the
        schema allows there.
    """
    import jsonschema  # here, not at the top: job scripts import parse_memory only
    import yaml

    with open(schema_path) as stream:
        schema = yaml.safe_load(stream)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        combine = config.get("combine") or {}
        if "sigma_clip" in combine and "reject" in combine:
            raise ConfigError(
                "combine.sigma_clip",
                "cannot be set together with combine.reject: sigma_clip is the first "
                "version's spelling of reject: {algorithm: ccdproc, low: .., high: ..}; "
                "keep one",
            )
        return
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        key = _dotted(list(error.absolute_path) + unknown[:1])
        allowed = "known keys here: " + ", ".join(known) if known else ""
        raise ConfigError(key, f"is not a known setting; {allowed}")
    allowed = _allowed(error.schema)
    raise ConfigError(
        _dotted(error.absolute_path), f"{error.message}" + (f" ({allowed})" if allowed else "")
    )


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
