"""Finding the raw frames of a night, reading their headers, and selecting the biases.

Headers are cached in a JSON file keyed by each file's path, size and modification time,
so that a folder of thousands of frames is read once, not at every Snakemake invocation.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, FrameError
from .fitsfile import atomic_output, calibrated_name, read_image_header

__all__ = [
    "RAW_SUFFIXES",
    "Frame",
    "HeaderCache",
    "SelectionRule",
    "find_raw_files",
    "read_frames",
    "write_summary",
]

RAW_SUFFIXES = tuple(
    base + compression for base in (".fits", ".fit", ".fts") for compression in ("", ".gz", ".fz")
)

#: Header keywords the summary table shows (the guide's ImageFileCollection columns).
SUMMARY_KEYWORDS = ("IMAGETYP", "FILTER", "EXPTIME")

CACHE_VERSION = 2


@dataclass(frozen=True)
class Frame:
    """A raw file and what its header says.

    Attributes
    ----------
    path : str
        Path of the raw file as found under ``raw_dir``.
    hdu : int
        HDU holding the image.
    shape : tuple of int
        numpy shape ``(rows, columns)`` of the image.
    keywords : dict
        Header keyword -> value (primary header and image HDU merged).
    """

    path: str
    hdu: int
    shape: tuple[int, int]
    keywords: dict = field(hash=False, compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def calibrated_name(self) -> str:
        """File name of its calibrated frame (the raw name without .gz/.fz)."""
        return calibrated_name(self.name)


def find_raw_files(raw_dir: str | os.PathLike, exclude: list[str] = ()) -> list[str]:
    """Raw FITS files directly in ``raw_dir``, sorted by name.

    Parameters
    ----------
    raw_dir : path-like
    exclude : list of str
        File names or glob patterns (matched against the name) to leave out.

    Raises
    ------
    ConfigError
        If ``raw_dir`` is not an existing folder.
    """
    folder = Path(raw_dir)
    if not folder.is_dir():
        raise ConfigError("raw_dir", f"{os.fspath(raw_dir)!r} is not an existing folder")
    found = [
        os.path.join(os.fspath(raw_dir), entry.name)
        for entry in os.scandir(folder)
        if entry.is_file()
        and entry.name.lower().endswith(RAW_SUFFIXES)
        and not entry.name.startswith(".")
        and not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in exclude)
    ]
    return sorted(found)


class HeaderCache:
    """Header keywords of raw files, remembered by (path, size, mtime).

    Parameters
    ----------
    path : path-like or None
        The JSON cache file; ``None`` for no cache.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, dict] = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                stored = json.loads(self.path.read_text())
            except (OSError, ValueError):
                stored = {}  # a damaged cache is only a slower run: rebuild it
            if stored.get("version") == CACHE_VERSION:
                self.entries = stored.get("frames", {})

    @staticmethod
    def _stamp(path: str) -> list[int]:
        status = os.stat(path)
        return [status.st_size, status.st_mtime_ns]

    def frame(self, path: str) -> Frame:
        """The frame at ``path``, from the cache when its size and mtime are unchanged."""
        key = os.path.abspath(path)
        try:
            stamp = self._stamp(path)
        except OSError as err:
            raise FrameError(path, f"cannot read: {err.strerror}") from None
        entry = self.entries.get(key)
        if entry is None or entry["stamp"] != stamp:
            image = read_image_header(path)
            entry = {
                "stamp": stamp,
                "hdu": image.hdu,
                "shape": list(image.shape),
                "keywords": image.keywords,
            }
            self.entries[key] = entry
            self.changed = True
        return Frame(path, entry["hdu"], tuple(entry["shape"]), entry["keywords"])

    def save(self, keep: list[str]) -> None:
        """Write the cache (atomically), keeping only the files in ``keep``."""
        if self.path is None:
            return
        wanted = {os.path.abspath(path) for path in keep}
        if set(self.entries) != wanted:
            self.changed = True
        if not self.changed:
            return
        frames = {key: value for key, value in self.entries.items() if key in wanted}
        with atomic_output(self.path) as temporary:
            temporary.write_text(json.dumps({"version": CACHE_VERSION, "frames": frames}))
        self.changed = False


def read_frames(paths: list[str], cache: HeaderCache) -> list[Frame]:
    """Frames for ``paths``, reading only the headers the cache does not know."""
    return [cache.frame(path) for path in paths]


def _normalise(value):
    if isinstance(value, str):
        return value.strip().casefold()
    return value


@dataclass(frozen=True)
class SelectionRule:
    """Which frames are biases: every keyword must hold one of its accepted values.

    Strings compare case-insensitively with surrounding spaces ignored; numbers compare
    numerically (``EXPTIME: [0]`` accepts ``0.0``); a range ``{min, max}`` accepts numbers
    within it, inclusive.  Keywords are written as the header has them; a ``HIERARCH``
    prefix is optional (``ESO DPR TYPE``).
    """

    accepted: dict

    @classmethod
    def from_config(cls, select: dict) -> SelectionRule:
        if not select:
            raise ConfigError("select", "needs at least one keyword, e.g. IMAGETYP: [BIAS]")
        accepted = {}
        for keyword, values in select.items():
            name = keyword.upper().strip()
            name = name.removeprefix("HIERARCH ").strip()
            if isinstance(values, dict):
                accepted[name] = {"min": values.get("min"), "max": values.get("max")}
            else:
                values = values if isinstance(values, list) else [values]
                accepted[name] = [_normalise(value) for value in values]
        return cls(accepted)

    def why_not(self, frame: Frame) -> str | None:
        """``None`` if the frame is selected, otherwise the reason it is not."""
        for keyword, accepted in self.accepted.items():
            if keyword not in frame.keywords:
                return f"no {keyword} in the header"
            value = frame.keywords[keyword]
            if isinstance(accepted, dict):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return f"{keyword} = {value!r} is not a number"
                low, high = accepted["min"], accepted["max"]
                if (low is not None and value < low) or (high is not None and value > high):
                    return f"{keyword} = {value!r}"
            elif _normalise(value) not in accepted:
                return f"{keyword} = {value!r}"
        return None

    def select(self, frames: list[Frame]) -> list[Frame]:
        return [frame for frame in frames if self.why_not(frame) is None]


def write_summary(
    frames: list[Frame], rule: SelectionRule, path: str | os.PathLike, group_of=None
) -> None:
    """Write the night's summary table (one row per raw file) as CSV, atomically.

    ``group_of`` maps a selected frame to its group name (with ``group_by``).
    """
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["file", "imagetyp", "filter", "exptime", "naxis1", "naxis2", "selected", "reason"]
            + (["group"] if group_of else [])
        )
        for frame in frames:
            reason = rule.why_not(frame)
            writer.writerow(
                [frame.name]
                + [frame.keywords.get(keyword, "") for keyword in SUMMARY_KEYWORDS]
                + [frame.shape[1], frame.shape[0], reason is None, reason or ""]
                + ([group_of(frame) if reason is None else ""] if group_of else [])
            )
