"""Planning a night before any job runs: which files, which biases, which regions.

The Snakefile calls :func:`plan_night` once per invocation.  Everything that the headers
already show is checked here, so that a bad frame or a wrong region stops the run before
any job starts, with the file and the reason.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config import parse_memory
from .discovery import Frame, HeaderCache, SelectionRule, find_raw_files, read_frames
from .errors import ConfigError, FrameError
from .layout import FrameLayout, LayoutSpec

__all__ = ["Night", "plan_night", "HEADER_CACHE"]

#: Where, under ``out_dir``, the raw-header cache lives.
HEADER_CACHE = ".cache/raw_headers.json"


@dataclass(frozen=True)
class Night:
    """The raw frames of a run and the biases among them.

    Attributes
    ----------
    frames : list of Frame
        Every raw FITS file found, sorted by name.
    biases : dict
        Calibrated file name -> the bias Frame it is made from.
    layouts : dict
        Calibrated file name -> the FrameLayout resolved from its header.
    groups : dict
        With ``group_by``: group name -> calibrated file names of its biases; empty
        without it (one master of all biases).
    """

    frames: list[Frame]
    biases: dict[str, Frame]
    layouts: dict[str, FrameLayout]
    groups: dict[str, list[str]] = field(default_factory=dict)

    @property
    def raw_paths(self) -> list[str]:
        return [frame.path for frame in self.frames]

    def calibrated_names(self, group: str | None = None) -> list[str]:
        """Calibrated file names, of one group or of all."""
        return sorted(self.groups[group] if group is not None else self.biases)

    def group_of(self, name: str) -> str:
        """The group a calibrated frame belongs to ('' without group_by)."""
        return next((group for group, names in self.groups.items() if name in names), "")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_writable(out_dir: Path) -> None:
    """Fail now, with the reason, if products cannot be written to ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ConfigError(
            "out_dir", f"cannot write to {os.fspath(out_dir)!r}: {err.strerror or err}"
        ) from None


def group_name(frame: Frame, keywords: list[str]) -> str:
    """A file-name-safe group name from the frame's values of ``keywords``."""
    parts = []
    for keyword in keywords:
        value = frame.keywords.get(keyword.upper().removeprefix("HIERARCH ").strip(), "none")
        text = re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value).strip()).strip("_") or "blank"
        parts.append(text)
    return "_".join(parts)


def _check_one_shape(biases: dict[str, Frame], group: str = "") -> None:
    """Biases of different shapes cannot make one master: name the odd ones."""
    by_shape: dict[tuple, list[str]] = {}
    for frame in biases.values():
        by_shape.setdefault(frame.shape, []).append(frame.path)
    if len(by_shape) < 2:
        return
    common = max(by_shape, key=lambda shape: len(by_shape[shape]))
    odd = sorted(path for shape, paths in by_shape.items() if shape != common for path in paths)
    shapes = ", ".join(
        f"{len(paths)} of {shape[0]} x {shape[1]}" for shape, paths in sorted(by_shape.items())
    )
    example = odd[0]
    other = next(frame.shape for frame in biases.values() if frame.path == example)
    raise FrameError(
        example,
        f"image is {other[0]} x {other[1]} but most biases are {common[0]} x {common[1]} "
        f"({shapes}; odd ones: {', '.join(os.path.basename(p) for p in odd[:10])})"
        + (f" in group {group!r}" if group else "")
        + "; leave them out with 'exclude', or make one master per binning or readout "
        "with 'group_by' (e.g. group_by: [CCDSUM])",
    )


def plan_night(config: dict, main_process: bool = True) -> Night:
    """Find, read and select the raw frames named by ``config``.

    Parameters
    ----------
    config : dict
        The validated workflow configuration.
    main_process : bool
        Whether this is the main Snakemake process: only it checks that ``out_dir`` is
        writable and updates the header cache, so that jobs on a cluster never race to
        write it.

    Raises
    ------
    ConfigError
        If the folders are wrong or no bias is selected.
    FrameError
        If a raw file cannot be read, or a selected bias does not fit the layout.
    """
    raw_dir = Path(config["raw_dir"])
    out_dir = Path(config["out_dir"])
    if raw_dir.is_dir() and _inside(out_dir.resolve(), raw_dir.resolve()):
        raise ConfigError(
            "out_dir",
            f"{os.fspath(out_dir)!r} is inside raw_dir {os.fspath(raw_dir)!r}; raw data are "
            "never written to: choose an out_dir outside it",
        )
    paths = find_raw_files(raw_dir, config.get("exclude", []))
    if not paths:
        raise ConfigError(
            "raw_dir",
            f"{os.fspath(raw_dir)!r} holds no FITS files (*.fits, *.fit, *.fts, "
            "optionally .gz or .fz)" + ("; see also 'exclude'" if config.get("exclude") else ""),
        )
    if main_process:
        _check_writable(out_dir)
    cache = HeaderCache(out_dir / HEADER_CACHE)
    try:
        frames = read_frames(paths, cache)
    finally:
        if main_process:
            cache.save([path for path in paths if os.path.abspath(path) in cache.entries])

    parse_memory(config["combine"]["mem_limit"])  # a bad size is a config error, now
    rule = SelectionRule.from_config(config["select"])
    spec = LayoutSpec.from_config(config)
    biases: dict[str, Frame] = {}
    for frame in rule.select(frames):
        name = frame.calibrated_name
        if name in biases:
            raise ConfigError(
                "raw_dir",
                f"{frame.path} and {biases[name].path} would both be calibrated to {name}; "
                "keep one of them",
            )
        biases[name] = frame
    if not biases:
        raise ConfigError("select", _nothing_selected(rule, frames, raw_dir))
    group_by = config.get("group_by") or []
    groups: dict[str, list[str]] = {}
    if group_by:
        for name, frame in biases.items():
            groups.setdefault(group_name(frame, group_by), []).append(name)
    members = groups or {"": list(biases)}
    minimum = config["combine"].get("min_frames", 1)
    for group, names in sorted(members.items()):
        _check_one_shape({name: biases[name] for name in names}, group)
        if len(names) < minimum:
            where = f"group {group!r}" if group else repr(os.fspath(raw_dir))
            raise ConfigError(
                "combine.min_frames",
                f"only {len(names)} bias(es) selected in {where} "
                f"({', '.join(sorted(names))}); a master needs at least {minimum}",
            )
    layouts = {
        name: spec.resolve(frame.keywords, frame.shape, frame.path)
        for name, frame in biases.items()
    }
    return Night(frames=frames, biases=biases, layouts=layouts, groups=groups)


def _nothing_selected(rule: SelectionRule, frames: list[Frame], raw_dir: Path) -> str:
    """Say what the headers hold, so the user can see how to fix ``select``."""
    seen = []
    for keyword in rule.accepted:
        values: dict[str, int] = {}
        for frame in frames:
            value = repr(frame.keywords[keyword]) if keyword in frame.keywords else "missing"
            values[value] = values.get(value, 0) + 1
        found = ", ".join(f"{value} ({count})" for value, count in sorted(values.items()))
        seen.append(f"{keyword}: {found}")
    wanted = "; ".join(f"{key} in {values}" for key, values in rule.accepted.items())
    return (
        f"no bias selected among {len(frames)} files in {os.fspath(raw_dir)!r}: looking for "
        f"{wanted}, the headers hold {'; '.join(seen)}"
    )
