"""Which groups' products stand as they are, so that planning an archive costs its changes.

A run of an archive of thousands of nights asks Snakemake to check tens of thousands of
jobs, a few milliseconds each, to find the one new night.  A group whose products were
made from exactly what the run would make them from now is left out of Snakemake's graph
of jobs; its products then stand as plain files.

A group's **seal** is a digest of everything its products are made from: each of its raw
frames (name, path under raw_dir, size and modification time to the nanosecond, time),
the settings of its frame jobs and of its combine, and the content of the code they run.
The combine job writes the seal it was given into its record, with the products it seals:
the calibrated frames it combined and the master it wrote.  When the planning first reads
a record, it notes the size and modification time of each of them (Snakemake sets the
times of a job's outputs after the job, so the job cannot note its own); one missing then
leaves the group out of the seal.  The group is
**sealed** when its record holds the seal the planning computes now and those files are
still as noted: a changed raw frame, setting or code changes the seal; a product deleted
or rewritten since changes its stamp.  Either brings the group back into the graph, where
Snakemake's own rules decide what to redo.

:class:`SealIndex` keeps what the records say and the stamps noted, in
``out_dir/.cache/seals.json``, by the size and modification time of each record.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["group_seal", "file_stamp", "SealIndex", "SEAL_INDEX"]

#: Where, under ``out_dir``, the index of the records' seals lives.
SEAL_INDEX = ".cache/seals.json"

_INDEX_VERSION = 1


def group_seal(frames: list, settings: dict) -> str:
    """The seal of a group.

    Parameters
    ----------
    frames : list
        ``[name, raw relative path, [size, mtime_ns], time]`` of each of its frames.
    settings : dict
        What its jobs are told and the digests of their code (JSON values).
    """
    text = json.dumps({"frames": sorted(frames), "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def file_stamp(path: str | os.PathLike) -> list[int] | None:
    """``[size, mtime_ns]`` of a file, or None when it is not there."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


class SealIndex:
    """What the groups' records say: their seals and the stamps of their products.

    Parameters
    ----------
    path : path-like
        The index file (:data:`SEAL_INDEX` under ``out_dir``).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.entries: dict[str, dict] = {}
        self.changed = False
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError):
            stored = {}  # no index yet, or a damaged one: the records say it again
        if stored.get("version") == _INDEX_VERSION:
            self.entries = stored["records"]

    def _entry(self, record: str) -> dict | None:
        """The seal and stamps a record holds, read from the record only when it changed."""
        stamp = file_stamp(record)
        if stamp is None:
            return None
        entry = self.entries.get(record)
        if entry is None or entry["record"] != stamp:
            try:
                with open(record) as stream:
                    made = json.load(stream)
            except (OSError, ValueError):
                return None  # unreadable: the combine makes it again
            stamps = {path: file_stamp(path) for path in made.get("products", [])}
            entry = {"record": stamp, "seal": made.get("seal"), "stamps": stamps}
            self.entries[record] = entry
            self.changed = True
        return entry

    def sealed(self, record: str, seal: str) -> bool:
        """Whether the record holds ``seal`` and every product it names is there, as it was
        when the record was first read."""
        entry = self._entry(record)
        if entry is None or entry["seal"] != seal:
            return False
        return all(stamp is not None and file_stamp(path) == stamp
                   for path, stamp in entry["stamps"].items())  # fmt: skip

    def save(self, records: list[str]) -> None:
        """Write the index (atomically), keeping the entries of ``records`` only."""
        from .fitsfile import atomic_output

        kept = {record: self.entries[record] for record in records if record in self.entries}
        if not self.changed and kept.keys() == self.entries.keys():
            return
        with atomic_output(self.path) as temporary:
            temporary.write_text(json.dumps({"version": _INDEX_VERSION, "records": kept}))
        self.entries, self.changed = kept, False
