"""The detector's history: which master applies when, and what changed from one to the next.

Masters of the same camera mode (the same ``group_by`` values but the night) form a
series, in the order of their nights.  Each master is compared with the one before it:

``read_noise``
    an amplifier's read noise moved by more than 5 sigma of what its measurement scatter
    (over the frame pairs of both nights) and its night-to-night scatter (the robust spread
    of the series' night-to-night steps) allow;
``level``
    an amplifier's overscan level (the median over the night's frames) moved by more than
    5 sigma of its frame-to-frame scatter (the error of both nights' medians) and its
    night-to-night scatter;
``structure``
    the difference of the two masters holds a column, a row or a patch standing out by more
    than 5 sigma of its noise (:func:`masterbias.verification.stand_out`); a few isolated
    pixels (a cosmic ray the rejection missed) do not count;
``verification``
    the master failed its own check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from .discovery import keyword_name
from .stats import MEDIAN_ERROR, OUTLIER_SIGMAS, robust_std

__all__ = [
    "HISTORY_COLUMNS", "MasterInfo", "master_infos", "previous_masters", "compare_masters",
    "series_flags", "write_history",
]  # fmt: skip

HISTORY_COLUMNS = [
    "group", "night", "master", "n_frames", "first_obs", "last_obs", "valid_from", "valid_to",
    "read_noise_adu", "overscan_level_adu", "master_noise_adu", "verification", "flags",
    "previous", "changed", "inputs_sha256", "software", "skipped",
]  # fmt: skip


@dataclass(frozen=True)
class MasterInfo:
    """What the planning knows of a group for the history.

    Attributes
    ----------
    label : str
    night : str or None
        Its observing night (``group_by`` holds ``night``), else None.
    mode : tuple
        Its other ``group_by`` values: masters of one mode form a series.
    frames : int
    first_obs, last_obs : str or None
        The times of its first and last frame (ISO, UTC).
    skipped : str or None
        Why it has no master.
    """

    label: str
    night: str | None
    mode: tuple
    frames: int
    first_obs: str | None
    last_obs: str | None
    skipped: str | None

    def to_json(self) -> dict:
        return {
            "label": self.label, "night": self.night, "mode": [list(v) for v in self.mode],
            "frames": self.frames, "first_obs": self.first_obs, "last_obs": self.last_obs,
            "skipped": self.skipped,
        }  # fmt: skip

    @classmethod
    def from_json(cls, entry: dict) -> MasterInfo:
        mode = tuple(tuple(value) for value in entry["mode"])
        return cls(entry["label"], entry["night"], mode, entry["frames"], entry["first_obs"],
                   entry["last_obs"], entry["skipped"])  # fmt: skip

    @property
    def start(self) -> str:
        """When it begins to apply: its night, else the date of its first frame."""
        return self.night or (self.first_obs or "")[:10]


def master_infos(plan) -> list[MasterInfo]:
    """What the history needs of every group of a :class:`masterbias.planning.Plan`."""
    infos = []
    for label, group in sorted(plan.groups.items()):
        values = dict(group.values)
        times = sorted(t for t in (plan.biases[name].time.iso for name in group.frames) if t)
        infos.append(MasterInfo(
            label=label, night=values.get("night"),
            # keyed as registry.frame_facts keys a frame's mode: the keyword as headers hold it
            mode=tuple((keyword_name(key), value) for key, value in group.values
                       if key != "night"),
            frames=len(group.frames), first_obs=times[0] if times else None,
            last_obs=times[-1] if times else None, skipped=group.skipped,
        ))  # fmt: skip
    return infos


def series(infos: list[MasterInfo]) -> dict[tuple, list[MasterInfo]]:
    """The masters (not the skipped groups) of each mode, in the order of their nights."""
    found: dict[tuple, list[MasterInfo]] = {}
    for info in infos:
        if info.skipped is None:
            found.setdefault(info.mode, []).append(info)
    return {mode: sorted(items, key=lambda i: (i.start, i.label)) for mode, items in found.items()}


def previous_masters(infos: list[MasterInfo]) -> dict[str, str]:
    """Label -> the label of the master before it in its series (the first has none)."""
    return {
        later.label: earlier.label
        for items in series(infos).values()
        for earlier, later in zip(items, items[1:], strict=False)
    }


def compare_masters(current: str, previous: str, logger=None) -> dict:
    """What stands out of the difference of a master and the one before it, per extension
    and amplifier."""
    import fitsio

    from . import keywords as kw
    from .fitsfile import cfitsio_paths, data_hdus
    from .noise import AmplifierRegions
    from .verification import stand_out

    logger = logger or logging.getLogger(__name__)
    extensions = []
    with cfitsio_paths([current, previous]) as (now, before):
        with fitsio.FITS(now) as new, fitsio.FITS(before) as old:
            for hdu in data_hdus(new):
                ext = hdu.get_extname() or 0
                header = hdu.read_header()
                if ext and ext not in old:
                    continue
                shape = tuple(hdu.get_dims())
                regions = AmplifierRegions.from_header(header, shape)
                old_header = old[ext].read_header()
                amplifiers = []
                for index, (name, section) in enumerate(
                    zip(regions.names, regions.sections, strict=True), start=1
                ):
                    rows, columns = section.slices
                    noises = [kw.MNOISE.read(h, index) for h in (header, old_header)]
                    noise = float(np.hypot(*noises)) if None not in noises else None

                    def difference(first, end, rows=rows, columns=columns, ext=ext):
                        window = slice(rows.start + first, rows.start + end)
                        return (new[ext][window, columns].astype(np.float64)
                                - old[ext][window, columns].astype(np.float64))  # fmt: skip

                    found = stand_out(difference, section.shape, noise)
                    amplifiers.append({"amplifier": name, "noise": found.noise,
                                       "pixels": found.pixels, "columns": found.columns,
                                       "rows": found.rows, "patches": found.patches})  # fmt: skip
                    logger.info("%s amp %s against %s: %s", ext or "image", name, previous,
                                amplifiers[-1])  # fmt: skip
                extensions.append({"extension": ext or "", "amplifiers": amplifiers})
    return {"extensions": extensions}


def comparisons(infos: list[MasterInfo], records: dict[str, dict], masters: dict[str, str],
                cached, code: str, workers: int = 1, logger=None) -> dict[str, dict]:  # fmt: skip
    """Each master's comparison with the master before it in its series.

    A comparison is kept in ``cached(label)`` (a JSON file) with the seals of the two
    masters (:mod:`masterbias.seals`) and ``code``, and taken from there while they hold:
    a run that adds a night compares it and the night after it, not the whole archive.

    Parameters
    ----------
    infos : list of MasterInfo
    records : dict
        Label -> its combine record (loaded).
    masters : dict
        Label -> the path of its master.
    cached : callable
        Label -> the path of its comparison's file.
    code : str
        The digest of the code that compares.
    workers : int
        Comparisons made at the same time (threads).
    """
    from concurrent.futures import ThreadPoolExecutor

    from .fitsfile import atomic_output

    logger = logger or logging.getLogger(__name__)
    found, missing = {}, {}
    for label, before in previous_masters(infos).items():
        key = {"master": records[label].get("seal"), "previous": records[before].get("seal"),
               "code": code}  # fmt: skip
        try:
            with open(cached(label)) as stream:
                kept = json.load(stream)
        except (OSError, ValueError):
            kept = {}
        if kept.get("key") == key and None not in key.values():
            found[label] = kept["comparison"]
        else:
            missing[label] = (before, key)

    def compare(label):
        before, key = missing[label]
        result = compare_masters(masters[label], masters[before], logger)
        with atomic_output(cached(label)) as temporary:
            temporary.write_text(json.dumps({"key": key, "comparison": result}))
        return result

    with ThreadPoolExecutor(max(1, workers)) as pool:
        found.update(zip(missing, pool.map(compare, missing), strict=True))
    logger.info("compared %d masters with the one before (%d kept from earlier runs)",
                len(missing), len(found) - len(missing))  # fmt: skip
    return found


def _robust_step(values: list[float]) -> float:
    """The robust spread of the steps between consecutive values of a series (0 with
    fewer than four values)."""
    if len(values) < 4:
        return 0.0
    return robust_std(np.diff(np.asarray(values, dtype=np.float64)))


def _changed(values: list[float], errors: list[float]) -> list[bool]:
    """Whether each value of a series moved from the one before by more than
    :data:`masterbias.stats.OUTLIER_SIGMAS` of the errors of both and the series'
    night-to-night scatter."""
    scatter = _robust_step(values)
    changed = [False]
    for index in range(1, len(values)):
        allowed = max(float(np.hypot(errors[index], errors[index - 1])), scatter)
        changed.append(abs(values[index] - values[index - 1]) > OUTLIER_SIGMAS * allowed)
    return changed


def amplifier_measurements(record: dict) -> dict[tuple, dict]:
    """Per (extension, amplifier) of a combine record: read noise and its error, overscan
    level and its error."""
    found = {}
    for extension in record["extensions"]:
        used = [row for row in extension["frames"] if not row["left_out"]]
        for index, check in enumerate(extension["verification"]):
            pairs = [pair[2][index] for pair in extension["pairs"]]
            spread = float(np.std(pairs, ddof=1)) if len(pairs) > 1 else 0.0
            levels = [row["overscan_levels_adu"][index] for row in used
                      if len(row["overscan_levels_adu"]) > index]  # fmt: skip
            level = float(np.median(levels)) if levels else float("nan")
            level_error = (MEDIAN_ERROR * robust_std(levels) / np.sqrt(len(levels))
                           if levels else 0.0)  # fmt: skip
            found[(extension["extension"], check["amplifier"])] = {
                "read_noise": check["read_noise"],
                "read_noise_error": MEDIAN_ERROR * spread / np.sqrt(max(len(pairs), 1)),
                "level": level,
                "level_error": level_error,
                "noise": check["noise"],
                "passed": check["passed"],
            }
    return found


def series_flags(records: list[dict], changes: list[dict | None]) -> list[list[str]]:
    """The flags of each master of one series (in order), from their combine records and
    their comparisons with the master before (None for the first)."""
    measured = [amplifier_measurements(record) for record in records]
    flags = [set() for _ in records]
    for key in measured[0]:
        if not all(key in m for m in measured):
            continue
        for quantity in ("read_noise", "level"):
            values = [m[key][quantity] for m in measured]
            errors = [m[key][f"{quantity}_error"] for m in measured]
            for index, moved in enumerate(_changed(values, errors)):
                if moved:
                    flags[index].add(quantity)
    for index, compared in enumerate(changes):
        extensions = compared["extensions"] if compared else []
        amplifiers = [amp for ext in extensions for amp in ext["amplifiers"]]
        if any(amp["columns"] or amp["rows"] or amp["patches"] for amp in amplifiers):
            flags[index].add("structure")
    for index, found in enumerate(measured):
        if not all(entry["passed"] for entry in found.values()):
            flags[index].add("verification")
    order = ("read_noise", "level", "structure", "verification")
    return [[word for word in order if word in found] for found in flags]


def inputs_digest(record: dict) -> str:
    """SHA-256 over the names and SHA-256 of the raw files a master was made of."""
    lines = sorted({f"{row['file']} {row['raw_sha256']}" for extension in record["extensions"]
                    for row in extension["frames"]})  # fmt: skip
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def write_history(
    infos: list[dict],
    records: dict[str, str],
    masters: dict[str, str],
    out_dir: str,
    output: str,
    figure: str | None = None,
    code: str = "",
    workers: int = 1,
    logger: logging.Logger | None = None,
    rule: dict | None = None,
) -> list[dict]:
    """Write ``calibrations.csv``: a row per group, its master's validity, measurements,
    verification and flags (see the module); and ``calibrations.json``, the masters and
    the rule that chooses among them (:mod:`masterbias.registry`).

    Parameters
    ----------
    infos : list of dict
        :class:`MasterInfo` of every group (masters and skipped groups).
    records : dict
        Label -> its combine record (JSON).
    masters : dict
        Label -> the master's path relative to ``out_dir``.
    out_dir : str
    output, figure : str
        The table, and its figure (level, read noise and master noise against the night,
        flags marked).
    code : str
        The digest of this code (the comparisons kept are made by it).
    workers : int
        Threads for the comparisons.
    rule : dict, optional
        How a frame's master is chosen: ``mode_keys`` (the group_by header keywords),
        ``by_night``, ``longitude`` (night.longitude), ``max_nights``; by night with 90
        nights when not given.
    """
    from . import SOFTWARE
    from .fitsfile import atomic_output, write_csv
    from .products import group_slot, product
    from .registry import REGISTRY_VERSION, validity

    logger = logger or logging.getLogger(__name__)
    infos = [MasterInfo.from_json(entry) for entry in infos]
    loaded = {}
    for label, path in records.items():
        with open(path) as stream:
            loaded[label] = json.load(stream)
    compared = comparisons(
        infos, loaded, {label: os.path.join(out_dir, path) for label, path in masters.items()},
        lambda label: product(out_dir, "comparison", group=group_slot(label)), code, workers,
        logger,
    )  # fmt: skip
    rule = rule or {"mode_keys": [], "by_night": True, "longitude": None, "max_nights": 90}
    previous = previous_masters(infos)
    rows: dict[str, dict] = {}
    for items in series(infos).values():
        flags = series_flags([loaded[i.label] for i in items],
                             [compared.get(i.label) for i in items])  # fmt: skip
        verdicts = [_verdict(loaded[info.label]) for info in items]
        good = [verdict == "pass" for verdict in verdicts]
        ranges = validity([info.night for info in items], good, rule["max_nights"])
        for info, found, verdict, valid in zip(items, flags, verdicts, ranges, strict=True):
            record = loaded[info.label]
            measured = amplifier_measurements(record).values()
            valid_from, valid_to = valid or ("", "")
            rows[info.label] = {
                "group": info.label, "night": info.night, "master": masters[info.label],
                "n_frames": info.frames, "first_obs": info.first_obs, "last_obs": info.last_obs,
                "valid_from": valid_from, "valid_to": valid_to,
                "read_noise_adu": _median([m["read_noise"] for m in measured]),
                "overscan_level_adu": _median([m["level"] for m in measured]),
                "master_noise_adu": _median([m["noise"] for m in measured]),
                "verification": verdict, "flags": " ".join(found),
                "previous": previous.get(info.label, ""),
                "changed": _changed_counts(compared.get(info.label)),
                "inputs_sha256": inputs_digest(record), "software": SOFTWARE, "skipped": "",
            }  # fmt: skip
    for info in infos:
        if info.skipped is not None:
            rows[info.label] = {"group": info.label, "night": info.night,
                                "n_frames": info.frames, "first_obs": info.first_obs,
                                "last_obs": info.last_obs, "software": SOFTWARE,
                                "skipped": info.skipped}  # fmt: skip
    starts = {info.label: info.start for info in infos}
    ordered = sorted(rows.values(), key=lambda row: (starts[row["group"]], row["group"]))
    write_csv(output, ordered, HISTORY_COLUMNS)
    modes = {info.label: {key: value for key, value in info.mode} for info in infos}
    registry = {
        "version": REGISTRY_VERSION, **rule,
        "masters": [
            {"group": row["group"], "master": row["master"], "night": row["night"],
             "mode": modes[row["group"]], "verification": row["verification"],
             "valid_from": row["valid_from"], "valid_to": row["valid_to"],
             "sha256": loaded[row["group"]].get("master_sha256"),
             "extensions": [e["extension"] for e in loaded[row["group"]]["extensions"]]}
            for row in ordered if not row.get("skipped")
        ],
    }  # fmt: skip
    with atomic_output(product(out_dir, "registry")) as temporary:
        temporary.write_text(json.dumps(registry, indent=1))
    flagged = [f"{row['group']}: {row['flags']}" for row in ordered if row.get("flags")]
    logger.info("wrote %s (%d masters, %d skipped); flagged: %s", output, len(loaded),
                len(ordered) - len(loaded), "; ".join(flagged) or "none")  # fmt: skip
    if figure:
        from .figures import history_trends, save_png

        with atomic_output(figure) as temporary:
            save_png(history_trends([row for row in ordered if not row.get("skipped")]),
                     temporary)  # fmt: skip
    return ordered


def _median(values: list[float]) -> float | None:
    """The median over amplifiers, or None when nothing was measured (one frame)."""
    return float(np.median(values)) if values else None


def _verdict(record: dict) -> str:
    """``pass``, ``fail: <reasons>``, or ``unverified: ...`` for a master of one frame
    (its noise cannot be measured)."""
    if any(not extension["verification"] for extension in record["extensions"]):
        return "unverified: a master of one frame cannot be checked"
    failed = [f"{extension['extension'] or 'image'} amp {check['amplifier']}: {check['reason']}"
              for extension in record["extensions"] for check in extension["verification"]
              if not check["passed"]]  # fmt: skip
    return "fail: " + "; ".join(failed) if failed else "pass"


def _changed_counts(compared: dict | None) -> str:
    """What stands out of the difference with the master before, in words."""
    if not compared:
        return ""
    totals = {"columns": 0, "rows": 0, "patches": 0, "pixels": 0}
    for extension in compared["extensions"]:
        for amp in extension["amplifiers"]:
            for key in totals:
                totals[key] += amp[key]
    return " ".join(f"{count} {key}" for key, count in totals.items() if count)
