"""Checking the workflow configuration against its schema, with messages a user can act on.

Snakemake's own validation reports the whole instance and schema; this names the key, says
what is wrong and what is allowed, in one line.
"""

from __future__ import annotations

import jsonschema
import yaml

from .errors import ConfigError

__all__ = ["check_config"]


def _dotted(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _allowed(schema: dict) -> str:
    if "enum" in schema:
        return "allowed: " + ", ".join(repr(value) for value in schema["enum"])
    if "description" in schema:
        return schema["description"].strip()
    return ""


def check_config(config: dict, schema_path: str) -> None:
    """Raise :class:`ConfigError` for the first problem of ``config`` against the schema.

    Raises
    ------
    ConfigError
        Naming the key (dotted, e.g. ``combine.mem_limit``), the problem, and what the
        schema allows there.
    """
    with open(schema_path) as stream:
        schema = yaml.safe_load(stream)
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
    allowed = _allowed(error.schema)
    raise ConfigError(
        _dotted(error.absolute_path), f"{error.message}" + (f" ({allowed})" if allowed else "")
    )
