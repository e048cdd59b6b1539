"""Camera presets: config/cameras/<name>.yaml, under the user's settings, key by key."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .errors import ConfigError

__all__ = ["apply_camera", "camera_names", "merge"]


def camera_names(folder: str | Path) -> list[str]:
    """The presets in ``folder``."""
    return sorted(path.stem for path in Path(folder).glob("*.yaml"))


def merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``, recursing into dictionaries (as Snakemake merges)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_camera(config: dict, folder: str | Path) -> dict:
    """The configuration with its ``camera`` preset filled in underneath.

    Raises
    ------
    ConfigError
        For a camera with no preset, naming the presets there are.
    """
    name = config.get("camera")
    if not name:
        return dict(config)
    path = Path(folder) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(camera_names(folder))
        raise ConfigError("camera", f"no preset {name!r} in {folder}; known: {known}")
    preset = yaml.safe_load(path.read_text()) or {}
    if "camera" in preset or "raw_dir" in preset or "out_dir" in preset:
        raise ConfigError("camera", f"preset {path} may not set camera, raw_dir or out_dir")
    return merge(preset, config)
