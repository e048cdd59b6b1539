"""Planning a run before any job starts: which files, which biases, which groups.

The Snakefile calls :func:`plan_run` once per invocation.  Everything that the headers
already show is checked here, so that a bad frame, a wrong region or an impossible setting
stops the run before any job starts, with the file (or key) and the reason.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .discovery import HeaderCache, RawFrame, SelectionRule, find_raw_files, keyword_name
from .errors import ConfigError, FrameError
from .rawfile import choose_images, is_mosaic, read_raw_header

__all__ = [
    "Group",
    "Extension",
    "Plan",
    "plan_run",
    "HEADER_CACHE",
    "group_labels",
    "chosen_images",
    "header_keywords",
]

#: Where, under ``out_dir``, the raw-header cache lives.
HEADER_CACHE = ".cache/raw_headers.json"


@dataclass(frozen=True)
class Group:
    """The biases of one master.

    Attributes
    ----------
    label : str
        File-name-safe name, unique per distinct value of the ``group_by`` keys; '' for the
        one group of a run without ``group_by``.
    values : tuple
        ``(key, value)`` of each ``group_by`` key.
    frames : tuple of str
        Calibrated names (relative paths) of its biases, sorted.
    extensions : tuple of Extension
        The image HDUs calibrated and combined, in the order of the configuration.
    skipped : str or None
        Why no master is made of it (too few frames), or None.
    """

    label: str
    values: tuple
    frames: tuple[str, ...]
    extensions: tuple[Extension, ...]
    skipped: str | None = None

    @property
    def mosaic(self) -> bool:
        """Whether its frames hold several images (their products one HDU per extension)."""
        return self.extensions[0].mosaic

    def parts(self, per_job: int | None) -> list[list[str]]:
        """Its extensions' labels in the jobs that combine them: one job for all, unless a
        mosaic's are ``per_job`` to a job."""
        labels = [extension.label for extension in self.extensions]
        if not self.mosaic or per_job is None or per_job >= len(labels):
            return [labels]
        return [labels[first : first + per_job] for first in range(0, len(labels), per_job)]


@dataclass(frozen=True)
class Extension:
    """One image HDU of a group's raw frames.

    Attributes
    ----------
    label : str
        Its name in the configuration and the products (:func:`masterbias.rawfile.image_labels`).
    shape : tuple of int
        numpy shape of the raw image.
    mosaic : bool
        Whether the raw files hold several images.
    """

    label: str
    shape: tuple[int, int]
    mosaic: bool


@dataclass(frozen=True)
class Plan:
    """The raw frames of a run, the biases among them, and their groups.

    Attributes
    ----------
    raw_dir : str
    frames : tuple of RawFrame
        Every raw FITS file found, sorted by relative path.
    verdicts : dict
        Relative path of each raw file -> why it is not a bias, or None for a bias.
    biases : dict
        Calibrated name -> the bias RawFrame it is made from.
    groups : dict
        Label -> Group, masters and skipped groups alike.
    notes : tuple of str
        Warnings for the user (entries skipped, headers read with corrections).
    applied : dict
        Debiased name -> the RawFrame of each frame ``apply.select`` chooses (flats,
        science frames), to be calibrated with its master.
    """

    raw_dir: str
    frames: tuple[RawFrame, ...]
    verdicts: dict
    biases: dict
    groups: dict
    notes: tuple[str, ...] = ()
    applied: dict = field(default_factory=dict)

    @functools.cached_property
    def masters(self) -> list[str]:
        """Labels of the groups a master is made of."""
        return sorted(label for label, group in self.groups.items() if group.skipped is None)

    @functools.cached_property
    def _groups_of(self) -> dict[str, Group]:
        return {name: group for group in self.groups.values() for name in group.frames}

    def group_of(self, name: str) -> Group:
        """The group a calibrated frame belongs to."""
        return self._groups_of[name]

    @functools.cached_property
    def calibrated(self) -> list[str]:
        """Calibrated names of every bias, sorted."""
        return sorted(self.biases)


def header_keywords(config: dict) -> frozenset[str]:
    """Every header keyword a run reads from the raw frames: the selection, the groups, the
    gain, the regions read from headers, the summary's, and the time and longitude."""
    from .layout import LayoutSpec
    from .obstime import READ_KEYWORDS
    from .task_summary import SUMMARY_KEYWORDS

    named = [*config["select"], *config["apply"]["select"],
             *(key for key in config["group_by"] if key != NIGHT)]  # fmt: skip
    if isinstance(config["gain"], str):
        named.append(config["gain"])
    return frozenset(
        {keyword_name(key) for key in named}
        | LayoutSpec.from_config(config).header_keywords()
        | set(SUMMARY_KEYWORDS)
        | READ_KEYWORDS
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_folders(raw_dir: Path, out_dir: Path) -> None:
    """raw_dir and out_dir must not be nested either way, nor name Snakemake wildcards."""
    for key, folder in (("out_dir", out_dir), ("raw_dir", raw_dir)):
        if "{" in str(folder) or "}" in str(folder):
            raise ConfigError(
                key,
                f"{os.fspath(folder)!r} holds '{{' or '}}', which Snakemake reads as a "
                "wildcard in every path; choose a folder name without braces",
            )
    if not raw_dir.is_dir():
        return  # find_raw_files says so
    raw, out = raw_dir.resolve(), out_dir.resolve()
    if _inside(out, raw):
        raise ConfigError(
            "out_dir",
            f"{os.fspath(out_dir)!r} is inside raw_dir {os.fspath(raw_dir)!r}; raw data are "
            "never written to: choose an out_dir outside it",
        )
    if _inside(raw, out):
        raise ConfigError(
            "raw_dir",
            f"{os.fspath(raw_dir)!r} is inside out_dir {os.fspath(out_dir)!r}, where the "
            "products are written (e.g. calibrated frames, which are not raw); choose a "
            "raw_dir outside it",
        )


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


def _slug(value) -> str:
    text = re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value).strip()).strip("_")
    return text or "blank"


def group_labels(values: list[tuple]) -> dict[tuple, str]:
    """File-name-safe labels for distinct tuples of group values, unique per tuple.

    Each value becomes its letters, digits and ``.+-`` (other runs of characters as
    ``_``), the values joined by ``_``; values that would share a label (``'1 1'`` and
    ``'1,1'``) each get a short digest of their exact text appended.
    """
    slugs = {value: "_".join(_slug(part) for _, part in value) for value in set(values)}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {
        value: slug
        if counts[slug] == 1
        else f"{slug}-{hashlib.sha256(repr(value).encode()).hexdigest()[:6]}"
        for value, slug in slugs.items()
    }


def chosen_images(frame: RawFrame, extensions) -> list:
    """The ImageHDUs of a raw frame that the configuration's ``extensions`` asks for."""
    images = frame.header.images
    labels, indices = [image.label for image in images], [image.index for image in images]
    positions = choose_images(labels, indices, extensions, frame.path)
    return [images[position] for position in positions]


def _check_extensions(frames: list[RawFrame], extensions, group: str) -> tuple[Extension, ...]:
    """Biases of different shapes or extensions cannot make one master: name the odd ones.

    Extensions are matched by name, in whatever order a file holds them; the master's
    order is that of most biases."""
    where = f" in group {group!r}" if group else ""
    chosen = {frame.path: {image.label: image for image in chosen_images(frame, extensions)}
              for frame in frames}  # fmt: skip
    signatures: dict[frozenset, list[str]] = {}
    orders: dict[tuple, int] = {}
    for path, images in chosen.items():
        signatures.setdefault(frozenset(images), []).append(path)
        orders[tuple(images)] = orders.get(tuple(images), 0) + 1
    common = max(signatures, key=lambda signature: len(signatures[signature]))
    order = max((o for o in orders if frozenset(o) == common), key=lambda o: orders[o])
    for signature, paths in signatures.items():
        if signature != common:
            missing, extra = sorted(common - signature), sorted(signature - common)
            odd = "; ".join(
                f"{what} {', '.join(labels)}"
                for what, labels in (("without", missing), ("with", extra))
                if labels
            )
            raise FrameError(
                paths[0],
                f"its image extensions differ from most biases'{where} ({', '.join(order)}): "
                f"{odd}; name the extensions to use with 'extensions', or leave the file out "
                "with 'exclude'",
            )
    mosaic = is_mosaic(len(frames[0].header.images))
    result = []
    for label in order:
        by_shape: dict[tuple, list[str]] = {}
        for path, images in chosen.items():
            by_shape.setdefault(images[label].shape, []).append(path)
        shape = max(by_shape, key=lambda shape: len(by_shape[shape]))
        if len(by_shape) > 1:
            odd = sorted(p for other, paths in by_shape.items() if other != shape for p in paths)
            other = next(s for s, paths in by_shape.items() if odd[0] in paths)
            counts = ", ".join(f"{len(p)} of {s[0]} x {s[1]}" for s, p in sorted(by_shape.items()))
            image = f"extension {label} is" if mosaic else "image is"
            raise FrameError(
                odd[0],
                f"{image} {other[0]} x {other[1]} but most biases{where} are {shape[0]} x "
                f"{shape[1]} ({counts}; odd ones: "
                f"{', '.join(os.path.basename(p) for p in odd[:10])}); leave them out with "
                "'exclude', or make one master per binning or readout with 'group_by' "
                "(e.g. group_by: [CCDSUM])",
            )
        result.append(Extension(label, shape, mosaic))
    return tuple(result)


#: The group_by key that means the observing night, not a header keyword.
NIGHT = "night"


def _nights(biases: dict[str, RawFrame], longitude: float | None, notes: list[str]) -> dict:
    """Each bias's observing night (ISO date); frames whose header gives no longitude (and
    no ``night.longitude``) take UT, said in ``notes``."""
    from .obstime import LONGITUDE_KEYWORDS, frame_night

    nights, on_ut = {}, []
    for name, frame in biases.items():
        if frame.time.iso is None:
            raise FrameError(
                frame.path,
                f"{frame.time.source}, so its observing night is unknown; fix the header or "
                "leave the file out with 'exclude'",
            )
        if longitude is None and frame.longitude[0] is None:
            on_ut.append(frame.path)
        nights[name] = frame_night(frame.time.iso, longitude, frame.longitude[0])
    if on_ut:
        notes.append(
            f"{len(on_ut)} bias(es) ({', '.join(on_ut[:3])}{', ...' if len(on_ut) > 3 else ''}) "
            f"give no longitude ({', '.join(LONGITUDE_KEYWORDS)} or OBSGEO-X/Y) and "
            "night.longitude is not set: their night is the UT date of (time - 12 h)"
        )
    return nights


def _missing_value(key: str) -> str:
    """The group value of biases whose header lacks a ``group_by`` keyword."""
    return f"no {key}"


def _check_group_keys(biases: dict[str, RawFrame], group_by: list[str], notes: list[str]):
    """Every ``group_by`` keyword must be in some selected bias's header (a misspelt one is
    named with the closest keyword they have); biases without one are said."""
    import difflib

    names = [key if key == NIGHT else keyword_name(key) for key in group_by]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError("group_by", f"lists {twice[0]!r} more than once")
    for key in group_by:
        if key == NIGHT:
            continue
        name = keyword_name(key)
        lacking = [frame.path for frame in biases.values() if name not in frame.keywords]
        if len(lacking) == len(biases):
            # the planning reads the keywords it uses: the first bias's header says the rest
            first = next(iter(biases.values()))
            known = sorted(read_raw_header(first.path).keywords)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                "group_by",
                f"no selected bias has the keyword {name!r} in its header{hint} (or "
                f"'{NIGHT}' for the observing night)",
            )
        if lacking:
            notes.append(
                f"group_by {name}: {len(lacking)} of {len(biases)} biases have no {name} "
                f"(e.g. {lacking[0]}); they make groups of their own, '{_missing_value(name)}'"
            )


def _group_value(frame: RawFrame, key: str, night: str | None):
    if key == NIGHT:
        return night
    name = keyword_name(key)
    return frame.keywords.get(name, _missing_value(name))


def _make_groups(biases: dict[str, RawFrame], config: dict, notes: list[str]) -> dict[str, Group]:
    group_by = config["group_by"]
    _check_group_keys(biases, group_by, notes)
    nights = (_nights(biases, config["night"]["longitude"], notes) if NIGHT in group_by
              else {})  # fmt: skip
    values = {name: tuple((key, _group_value(frame, key, nights.get(name))) for key in group_by)
              for name, frame in biases.items()}  # fmt: skip
    labels = group_labels(list(values.values()))
    members: dict[tuple, list[str]] = {}
    for name, value in values.items():
        members.setdefault(value, []).append(name)
    minimum = config["combine"]["min_frames"]
    groups = {}
    for value, names in members.items():
        label = labels[value]
        frames = [biases[name] for name in sorted(names)]
        extensions = _check_extensions(frames, config["extensions"], label)
        skipped = None
        if len(names) < minimum:
            skipped = f"{len(names)} bias(es), fewer than combine.min_frames = {minimum}"
        groups[label] = Group(label, value, tuple(sorted(names)), extensions, skipped)
    return groups


def plan_run(config: dict, main_process: bool = True) -> Plan:
    """Find, read and select the raw frames of a run, and group the biases.

    Parameters
    ----------
    config : dict
        The configuration as :func:`masterbias.config.load_config` returns it.
    main_process : bool
        Whether this is the main Snakemake process: only it checks that ``out_dir`` is
        writable and updates the header cache, so that jobs on a cluster never race to
        write it.

    Raises
    ------
    ConfigError
        If the folders are wrong, no bias is selected, or a setting cannot work with the
        frames found.
    FrameError
        If a raw file cannot be read, or a selected bias does not fit the layout.
    """
    raw_dir = Path(config["raw_dir"])
    out_dir = Path(config["out_dir"])
    _check_folders(raw_dir, out_dir)
    found = find_raw_files(raw_dir, config["exclude"])
    if not found.relpaths:
        raise ConfigError(
            "raw_dir",
            f"{os.fspath(raw_dir)!r} holds no FITS files (*.fits, *.fit, *.fts, "
            "optionally .gz or .fz)" + ("; see also 'exclude'" if config["exclude"] else ""),
        )
    for relpath in found.relpaths:
        if "{" in relpath or "}" in relpath:
            raise FrameError(
                os.path.join(raw_dir, relpath),
                "its name holds '{' or '}', which Snakemake reads as a wildcard; rename it, "
                "or leave it out with 'exclude'",
            )
    if main_process:
        _check_writable(out_dir)
    cache = HeaderCache(out_dir / HEADER_CACHE, header_keywords(config))
    try:
        frames = [cache.frame(os.fspath(raw_dir), relpath) for relpath in found.relpaths]
    finally:
        if main_process:
            cache.save([path for path in (os.path.join(raw_dir, r) for r in found.relpaths)
                        if os.path.abspath(path) in cache.entries])  # fmt: skip
    rule = SelectionRule.from_config(config["select"])
    verdicts = {frame.relpath: rule.why_not(frame) for frame in frames}
    biases: dict[str, RawFrame] = {}
    for frame in frames:
        if verdicts[frame.relpath] is not None:
            continue
        name = frame.calibrated
        if name in biases:
            raise ConfigError(
                "raw_dir",
                f"{frame.path} and {biases[name].path} would both be calibrated to {name}; "
                "keep one of them (or leave one out with 'exclude')",
            )
        biases[name] = frame
    if not biases:
        raise ConfigError("select", _nothing_selected(rule, frames, raw_dir))
    notes = list(found.notes)
    notes += [f"{frame.path}: {note}" for frame in frames for note in frame.header.notes]
    groups = _make_groups(biases, config, notes)
    if all(group.skipped for group in groups.values()):
        group = min(groups.values(), key=lambda group: group.label)
        where = f"group {group.label!r}" if group.label else repr(os.fspath(raw_dir))
        raise ConfigError(
            "combine.min_frames",
            f"only {len(group.frames)} bias(es) selected in {where} "
            f"({', '.join(group.frames[:10])}); a master needs at least "
            f"{config['combine']['min_frames']}",
        )
    notes += [f"group {group.label!r}: no master: {group.skipped}"
              for group in groups.values() if group.skipped]  # fmt: skip
    plan = Plan(
        raw_dir=os.fspath(raw_dir),
        frames=tuple(frames),
        verdicts=verdicts,
        biases=biases,
        groups=groups,
        notes=tuple(notes),
        applied=_applied(frames, verdicts, config["apply"]["select"], raw_dir),
    )
    _check_layouts(plan, config)
    _check_combination(plan, config)
    return plan


def _applied(frames: list[RawFrame], verdicts: dict, select: dict, raw_dir: Path) -> dict:
    """The frames ``apply.select`` chooses, by their debiased name (the raw path without
    ``.gz``/``.fz``, as a calibrated frame's); none when it is empty.

    Raises
    ------
    ConfigError
        If it chooses biases, or no frame at all.
    """
    if not select:
        return {}
    rule = SelectionRule.from_config(select)
    chosen = [frame for frame in frames if rule.why_not(frame) is None]
    if not chosen:
        raise ConfigError("apply.select", _nothing_selected(rule, frames, raw_dir, "frame"))
    biases = [frame for frame in chosen if verdicts[frame.relpath] is None]
    if biases:
        raise ConfigError(
            "apply.select",
            f"chooses {len(biases)} of the biases (e.g. {biases[0].path}): a master is "
            "subtracted from other frames; choose them by a keyword the biases do not share",
        )
    return {frame.calibrated: frame for frame in chosen}


def _check_layouts(plan: Plan, config: dict) -> None:
    """Resolve the layout of every image of every bias against its header: a wrong region
    or a keyword missing from one extension fails now."""
    from .layout import LayoutSpec

    spec = LayoutSpec.from_config(config)
    for frame in plan.biases.values():
        mosaic = is_mosaic(len(frame.header.images))
        for image in chosen_images(frame, config["extensions"]):
            where = f"{frame.path} [{image.label}]" if mosaic else frame.path
            spec.resolve(frame.header.hdu_keywords(image), image.shape, where)


def _check_combination(plan: Plan, config: dict) -> None:
    """Settings of the combination that cannot work with the groups as they are."""
    import numpy as np

    from .combine import CombineSettings
    from .layout import LayoutSpec
    from .stacking import plan_bands

    spec = LayoutSpec.from_config(config)

    reject = config["combine"]["reject"]
    mem_limit = config["combine"]["mem_limit"]
    # the combine stacks the calibrated frames as they are stored
    itemsize = np.dtype(config["output_dtype"]).itemsize
    settings = CombineSettings.from_config(config["combine"])
    for label in plan.masters:
        group = plan.groups[label]
        count = len(group.frames)
        where = f" in group {label!r}" if label else ""
        if reject["algorithm"] == "minmax" and reject["nlow"] + reject["nhigh"] >= count:
            raise ConfigError(
                "combine.reject",
                f"minmax rejects nlow + nhigh = {reject['nlow'] + reject['nhigh']} values of "
                f"each pixel, which leaves none of the {count} biases{where}; lower them",
            )
        frame = plan.biases[group.frames[0]]
        for image in chosen_images(frame, config["extensions"]):
            layout = spec.resolve(frame.header.hdu_keywords(image), image.shape, frame.path)
            plan_bands(count, layout.output_shape, mem_limit, settings, itemsize=itemsize)


def _nothing_selected(rule: SelectionRule, frames: list[RawFrame], raw_dir: Path,
                      what: str = "bias") -> str:  # fmt: skip
    """Say what the headers hold, so the user can see how to fix the selection."""
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
        f"no {what} selected among {len(frames)} files in {os.fspath(raw_dir)!r}: looking for "
        f"{wanted}, the headers hold {'; '.join(seen)}"
    )
