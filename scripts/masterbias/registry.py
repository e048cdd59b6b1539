"""Which master bias applies to a frame: the choice, its validity ranges, and a command.

A frame (a flat, a science frame) uses a master of its camera mode (the values of the
``group_by`` keys other than the night, read from its header as a bias's are) that passed
its verification: the master of its own observing night (the biases' night rule) when
there is a good one, else the nearest good master in time, the earlier one when two are as
near, and none farther than ``apply.max_nights`` nights.  A master that failed its
verification, or could not be checked, is never chosen, and a night without a master has
none to give.  Without ``night`` in ``group_by`` a mode has one master, which applies
whenever its frames were taken.

The rule is written once, as the range of nights each good master covers
(:func:`validity`): ``calibrations.csv``'s ``valid_from`` and ``valid_to`` are those ranges,
and :func:`choose` finds the range that holds a frame's night.  The history job writes the
masters and the rule to ``calibrations.json``, which :func:`choose_master` and the command
read::

    PYTHONPATH=scripts python -m masterbias.registry OUT_DIR FILE...

prints ``FILE<TAB>MASTER`` (MASTER relative to OUT_DIR) for each file; a file without an
eligible master is one line on standard error with the reason, and the status is 1.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date

__all__ = ["REGISTRY_VERSION", "Choice", "validity", "choose", "rule_of", "frame_facts",
           "choose_facts", "choose_master", "load", "write_choices", "CHOICE_COLUMNS",
           "main"]  # fmt: skip

REGISTRY_VERSION = 1

#: The verification a master must have passed to be chosen.
GOOD = "pass"


@dataclass(frozen=True)
class Choice:
    """The master a ``frame`` (its path, or how it was named) uses, and the ``reason``; or
    why it has none (``master`` None).

    The master is named by its path relative to ``out_dir`` (``master``), its ``group``
    label, its observing ``night`` (None without night grouping), ``nights_away`` from the
    frame's night (+ later, - earlier) and the ``sha256`` of its file.
    """

    frame: str
    master: str | None
    group: str | None
    night: str | None
    nights_away: int | None
    reason: str
    sha256: str | None = None


def _day(night: str) -> int:
    return date.fromisoformat(night).toordinal()


def _night(day: int) -> str:
    return date.fromordinal(day).isoformat()


def validity(nights: list[str | None], good: list[bool], max_nights: int) -> list:
    """The nights each master of one series covers, ``(first, last)`` (ISO dates,
    inclusive), or None for a master that is not good; ``("", "")`` without nights.

    Parameters
    ----------
    nights : list of str or None
        The masters' nights, in order (None: the run is not grouped by night).
    good : list of bool
        Whether each passed its verification.
    max_nights : int
        The farthest a master applies from its own night.
    """
    days = [(_day(night), index) for index, night in enumerate(nights)
            if good[index] and night is not None]  # fmt: skip
    ranges: list = [("", "") if good[index] and night is None else None
                    for index, night in enumerate(nights)]  # fmt: skip
    for position, (day, index) in enumerate(days):
        first, last = day - max_nights, day + max_nights
        if position > 0:  # half way to the one before; a night as near to both: the earlier
            first = max(first, (days[position - 1][0] + day) // 2 + 1)
        if position + 1 < len(days):
            last = min(last, (day + days[position + 1][0]) // 2)
        ranges[index] = (_night(first), _night(last))
    return ranges


def choose(frame: str, mode: dict, night: str | None, extensions: list[str] | None,
           masters: list[dict]) -> Choice:  # fmt: skip
    """The master of ``masters`` (rows of ``calibrations.json``) a frame uses.

    Parameters
    ----------
    frame : str
        The frame, for the answer.
    mode : dict
        Its values of the ``group_by`` keys other than the night.
    night : str or None
        Its observing night (None when it has no usable time).
    extensions : list of str, optional
        The image extensions it holds (a mosaic's), each of which the master must have.
    masters : list of dict
        Every master: ``group``, ``master``, ``night``, ``mode``, ``verification``,
        ``valid_from``, ``valid_to``, ``sha256``, ``extensions``.
    """
    ours = [row for row in masters if row["mode"] == mode]
    described = ", ".join(f"{key} = {value!r}" for key, value in mode.items()) or "one mode"
    if not ours:
        return Choice(frame, None, None, None, None, f"no master of its mode ({described})")
    if all(row["night"] is None for row in ours):
        row = ours[0]
        if row["verification"] != GOOD:
            return Choice(frame, None, None, None, None,
                          f"the master of its mode failed its verification "
                          f"({row['verification']})")  # fmt: skip
        return _checked(Choice(frame, row["master"], row["group"], None, None,
                               f"the master of its mode ({described})", row["sha256"]),
                        row, extensions)  # fmt: skip
    if night is None:
        return Choice(frame, None, None, None, None, "no usable time, so no observing night")
    held = [row for row in ours if row["valid_from"] and row["valid_from"] <= night
            and night <= row["valid_to"]]  # fmt: skip
    own = next((row for row in ours if row["night"] == night), None)
    if not held:
        good = [row for row in ours if row["verification"] == GOOD]
        if not good:
            why = f"no master of its mode ({described}) passed its verification"
            return Choice(frame, None, None, None, None, why)
        nearest = min(good, key=lambda row: (abs(_day(row["night"]) - _day(night)),
                                             row["night"]))  # fmt: skip
        away = abs(_day(nearest["night"]) - _day(night))
        failed = "its own night's master failed its verification; " if own else ""
        return Choice(frame, None, None, None, None,
                      f"{failed}the nearest good master of its mode ({nearest['night']}) is "
                      f"{away} nights away, beyond apply.max_nights")  # fmt: skip
    row = held[0]
    away = _day(row["night"]) - _day(night)
    if away == 0:
        why = "the master of its own night"
    else:
        side = "later" if away > 0 else "earlier"
        own_note = ("its own night's master failed its verification"
                    if own is not None else "its own night has no master")  # fmt: skip
        why = f"the nearest good master of its mode, {abs(away)} nights {side} ({own_note})"
    return _checked(Choice(frame, row["master"], row["group"], row["night"], away, why,
                           row["sha256"]), row, extensions)  # fmt: skip


def _checked(choice: Choice, row: dict, extensions: list[str] | None) -> Choice:
    """The choice, unless the frame has an extension the master lacks."""
    missing = [label for label in extensions or () if label not in row["extensions"]]
    if missing:
        return Choice(choice.frame, None, None, None, None,
                      f"its extension {missing[0]} is not in {row['master']}")  # fmt: skip
    return choice


def rule_of(config: dict) -> dict:
    """What choosing a frame's master needs of the configuration (``calibrations.json``
    keeps it): the ``group_by`` header keywords of the camera mode, whether masters are
    made by night, ``night.longitude`` and ``apply.max_nights``."""
    from .discovery import keyword_name

    keys = [key for key in config["group_by"] if key != "night"]
    return {"mode_keys": [keyword_name(key) for key in keys],
            "by_night": "night" in config["group_by"],
            "longitude": config["night"]["longitude"],
            "max_nights": config["apply"]["max_nights"]}  # fmt: skip


def frame_facts(keywords: dict, labels: list[str], time, longitude: float | None,
                rule: dict) -> dict:  # fmt: skip
    """What the choice needs of a frame, read as a bias's is: its camera mode, observing
    night (None, and ``why``, without a usable time) and extensions (a mosaic's labels).

    Parameters
    ----------
    keywords : dict
        Its header keywords (:attr:`masterbias.rawfile.RawHeader.keywords`).
    labels : list of str
        Its image HDUs' labels.
    time : masterbias.obstime.Timestamp
    longitude : float or None
        The longitude its header gives.
    rule : dict
        :func:`rule_of`.
    """
    from .obstime import frame_night
    from .rawfile import is_mosaic

    mode = {key: keywords.get(key, f"no {key}") for key in rule["mode_keys"]}
    night = why = None
    if rule["by_night"]:
        if time.iso is None:
            why = time.source
        else:
            night = frame_night(time.iso, rule["longitude"], longitude)
    extensions = list(labels) if is_mosaic(len(labels)) else None
    return {"mode": mode, "night": night, "extensions": extensions, "why": why}


def choose_facts(frame: str, facts: dict, masters: list[dict]) -> Choice:
    """The master a frame of :func:`frame_facts` uses."""
    if facts["why"] is not None:
        return Choice(frame, None, None, None, None,
                      f"its observing night is unknown: {facts['why']}")  # fmt: skip
    return choose(frame, facts["mode"], facts["night"], facts["extensions"], masters)


def load(out_dir: str | os.PathLike) -> dict:
    """``calibrations.json`` of a run's ``out_dir``."""
    from .errors import ConfigError
    from .products import product

    path = product(os.fspath(out_dir), "registry")
    try:
        with open(path) as stream:
            registry = json.load(stream)
    except OSError as err:
        raise ConfigError("out_dir", f"{path}: cannot read ({err.strerror}); has the "
                          "workflow run there?") from None  # fmt: skip
    if registry.get("version") != REGISTRY_VERSION:
        raise ConfigError("out_dir", f"{path} was written by another version; run the "
                          "workflow again")  # fmt: skip
    return registry


def choose_master(out_dir: str | os.PathLike, frame, registry: dict | None = None) -> Choice:
    """The master a frame uses: ``frame`` is a path (its headers are read) or a dict of
    header keywords.

    Raises
    ------
    FrameError
        If the file cannot be read.
    """
    from .discovery import keyword_name
    from .obstime import header_longitude, observation_time
    from .rawfile import read_raw_header

    registry = registry or load(out_dir)
    if isinstance(frame, dict):
        name, labels = "header", []
        keywords = {keyword_name(key): value for key, value in frame.items()}
    else:
        name = os.fspath(frame)
        header = read_raw_header(name)
        keywords, labels = header.keywords, [image.label for image in header.images]
    facts = frame_facts(keywords, labels, observation_time(keywords),
                        header_longitude(keywords)[0], registry)  # fmt: skip
    return choose_facts(name, facts, registry["masters"])


def main(argv: list[str] | None = None) -> int:
    """``python -m masterbias.registry OUT_DIR FILE...``"""
    import argparse

    from .errors import MasterBiasError

    parser = argparse.ArgumentParser(prog="python -m masterbias.registry",
                                     description="The master bias each file uses.")  # fmt: skip
    parser.add_argument("out_dir", help="the out_dir of a run of the workflow")
    parser.add_argument("files", nargs="+", help="raw frames (flats, science frames, ...)")
    args = parser.parse_args(argv)
    status = 0
    try:
        registry = load(args.out_dir)
    except MasterBiasError as err:
        print(f"masterbias: {err}", file=sys.stderr)
        return 2
    for path in args.files:
        try:
            choice = choose_master(args.out_dir, path, registry)
        except MasterBiasError as err:
            print(f"masterbias: {err}", file=sys.stderr)
            status = 1
            continue
        if choice.master is None:
            print(f"masterbias: {path}: no master: {choice.reason}", file=sys.stderr)
            status = 1
        else:
            print(f"{path}\t{choice.master}")
    return status


#: The columns of ``debiased.csv``.
CHOICE_COLUMNS = ["file", "debiased", "master", "night", "nights_away", "reason",
                  "master_sha256"]  # fmt: skip


def write_choices(applied: dict, masters: list[dict], output: str,
                  debiased: dict[str, str]) -> list[Choice]:  # fmt: skip
    """Choose the master of every frame ``apply.select`` chose and write the table.

    Parameters
    ----------
    applied : dict
        Debiased name -> ``{"raw": its path under raw_dir, **frame_facts}``.
    masters : list of dict
        The masters (``calibrations.json``).
    output : str
        ``debiased.csv``: a row per frame, its debiased frame and master, or why none.
    debiased : dict
        Debiased name -> the debiased frame's path relative to ``out_dir``.
    """
    from .fitsfile import write_csv

    choices, rows = [], []
    for name, facts in sorted(applied.items()):
        choice = choose_facts(facts["raw"], facts, masters)
        choices.append(choice)
        rows.append({"file": facts["raw"], "debiased": debiased[name] if choice.master else "",
                     "master": choice.master, "night": choice.night,
                     "nights_away": choice.nights_away, "reason": choice.reason,
                     "master_sha256": choice.sha256})  # fmt: skip
    write_csv(output, rows, CHOICE_COLUMNS)
    return choices


if __name__ == "__main__":
    sys.exit(main())
