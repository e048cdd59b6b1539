"""Finding the raw frames under ``raw_dir``, reading their headers, selecting the biases.

Frames are found in ``raw_dir`` and its sub-folders, and named by their path relative to
it.  Headers are cached in a JSON file keyed by each file's absolute path, size and
modification time (to the nanosecond), so that an archive of thousands of frames is read
once, not at every Snakemake invocation.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, FrameError
from .fitsfile import atomic_output, calibrated_name
from .obstime import Timestamp, header_longitude, observation_time
from .rawfile import RawHeader, read_raw_header

__all__ = [
    "RAW_SUFFIXES",
    "RawFrame",
    "Found",
    "HeaderCache",
    "SelectionRule",
    "find_raw_files",
]

RAW_SUFFIXES = tuple(
    base + compression for base in (".fits", ".fit", ".fts") for compression in ("", ".gz", ".fz")
)

CACHE_VERSION = 4


@dataclass(frozen=True)
class RawFrame:
    """A raw file and what its headers say.

    Attributes
    ----------
    path : str
        Path of the raw file (``raw_dir`` joined with ``relpath``).
    relpath : str
        Its path relative to ``raw_dir``, with ``/`` between folders.
    stamp : tuple of int
        Size in bytes and modification time in nanoseconds, when it was read.
    header : RawHeader
    time : Timestamp
        When it was taken (UTC), from the header.
    longitude : tuple
        The observatory's longitude (degrees east) the header gives, and the keyword, or
        ``(None, '')``.
    """

    path: str
    relpath: str
    stamp: tuple[int, int]
    header: RawHeader = field(compare=False)
    time: Timestamp = field(compare=False)
    longitude: tuple = field(compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def calibrated(self) -> str:
        """Relative path of its calibrated frame (the raw one without .gz/.fz)."""
        return calibrated_name(self.relpath)

    @property
    def keywords(self) -> dict:
        return self.header.keywords

    @property
    def shape(self) -> tuple[int, int]:
        """numpy shape of its first image."""
        return self.header.images[0].shape


@dataclass(frozen=True)
class Found:
    """The raw files under a folder, and what was passed over with a reason.

    Attributes
    ----------
    relpaths : list of str
        Paths relative to the folder, sorted.
    notes : list of str
        One line per entry skipped for a reason the user should hear of (a broken link, a
        loop of links, an unreadable folder).
    """

    relpaths: list[str]
    notes: list[str]


def _excluded(relpath: str, patterns) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(relpath, pattern) or fnmatch.fnmatchcase(name, pattern)
        for pattern in patterns
    )


def find_raw_files(raw_dir: str | os.PathLike, exclude=()) -> Found:
    """Raw FITS files in ``raw_dir`` and its sub-folders (following links, once).

    Parameters
    ----------
    raw_dir : path-like
    exclude : list of str
        Glob patterns matched against each file's (and folder's) path relative to
        ``raw_dir`` and against its name; what matches is not looked at at all.

    Raises
    ------
    ConfigError
        If ``raw_dir`` is not an existing folder.
    """
    top = os.fspath(raw_dir)
    if not os.path.isdir(top):
        raise ConfigError("raw_dir", f"{top!r} is not an existing folder")
    found, notes = [], []
    seen: dict[tuple[int, int], str] = {}

    def unreadable(err: OSError) -> None:
        notes.append(f"{err.filename}: cannot read this folder ({err.strerror}), skipped")

    for folder, folders, files in os.walk(top, onerror=unreadable, followlinks=True):
        relfolder = os.path.relpath(folder, top).replace(os.sep, "/")
        relfolder = "" if relfolder == "." else relfolder + "/"
        status = os.stat(folder)
        identity = (status.st_dev, status.st_ino)
        if identity in seen:
            notes.append(f"{folder}: a loop of symbolic links back to {seen[identity]}, skipped")
            folders.clear()
            continue
        seen[identity] = folder
        folders[:] = sorted(
            entry for entry in folders
            if not entry.startswith(".") and not _excluded(relfolder + entry, exclude)
        )  # fmt: skip
        for entry in files:
            relpath = relfolder + entry
            if (
                entry.startswith(".")
                or not entry.lower().endswith(RAW_SUFFIXES)
                or _excluded(relpath, exclude)
            ):
                continue
            path = os.path.join(folder, entry)
            try:
                status = os.stat(path)
            except OSError as err:
                notes.append(f"{path}: {_unreachable(path, err)}, skipped")
                continue
            if not stat.S_ISREG(status.st_mode):
                notes.append(f"{path}: not a regular file, skipped")
                continue
            found.append(relpath)
    return Found(sorted(found), notes)


def _unreachable(path: str, err: OSError) -> str:
    """Why a file found in a folder cannot be opened, in words."""
    if err.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if err.errno == errno.ENOENT and os.path.islink(path):
        return f"a broken symbolic link (to {os.readlink(path)!r})"
    return f"cannot read ({err.strerror})"


class HeaderCache:
    """What raw files' headers say, remembered by (absolute path, size, mtime).

    Parameters
    ----------
    path : path-like or None
        The JSON cache file; ``None`` for no cache.
    keep : frozenset of str, optional
        The keywords a run reads (:func:`masterbias.planning.header_keywords`); only they
        are read and remembered (every one when None).  A cache made for other keywords is
        read again.
    """

    def __init__(self, path: str | os.PathLike | None, keep: frozenset | None = None):
        self.path = Path(path) if path is not None else None
        self.keep = keep
        self.entries: dict[str, dict] = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                stored = json.loads(self.path.read_text())
            except (OSError, ValueError):
                stored = {}  # a damaged cache is only a slower run: rebuild it
            if stored.get("version") == CACHE_VERSION and stored.get("keep") == self._kept():
                self.entries = stored.get("frames", {})

    def _kept(self) -> list[str] | None:
        return sorted(self.keep) if self.keep is not None else None

    def frame(self, raw_dir: str, relpath: str) -> RawFrame:
        """The frame at ``raw_dir/relpath``, from the cache when its size and modification
        time are unchanged."""
        path = os.path.join(raw_dir, relpath)
        key = os.path.abspath(path)
        try:
            status = os.stat(path)
        except OSError as err:
            raise FrameError(path, f"cannot read: {err.strerror}") from None
        stamp = [status.st_size, status.st_mtime_ns]
        entry = self.entries.get(key)
        if entry is None or entry["stamp"] != stamp:
            header = read_raw_header(path, self.keep)
            time = observation_time(header.keywords)
            entry = {
                "stamp": stamp,
                "header": header.to_json(),
                "time": [time.iso, time.source],
                "longitude": list(header_longitude(header.keywords)),
            }
            self.entries[key] = entry
            self.changed = True
        return RawFrame(
            path=path,
            relpath=relpath,
            stamp=tuple(entry["stamp"]),
            header=RawHeader.from_json(entry["header"]),
            time=Timestamp(*entry["time"]),
            longitude=tuple(entry["longitude"]),
        )

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
            temporary.write_text(json.dumps({"version": CACHE_VERSION, "keep": self._kept(),
                                             "frames": frames}))  # fmt: skip
        self.changed = False


def _normalise(value):
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def keyword_name(keyword: str) -> str:
    """A header keyword as the planning's keyword dictionaries hold it: upper case,
    without a ``HIERARCH`` prefix."""
    return keyword.upper().strip().removeprefix("HIERARCH ").strip()


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
        accepted = {}
        for keyword, values in select.items():
            if isinstance(values, dict):
                accepted[keyword_name(keyword)] = {"min": values.get("min"),
                                                   "max": values.get("max")}  # fmt: skip
            else:
                values = values if isinstance(values, list) else [values]
                accepted[keyword_name(keyword)] = [_normalise(value) for value in values]
        return cls(accepted)

    def why_not(self, frame: RawFrame) -> str | None:
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
