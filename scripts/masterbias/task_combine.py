"""The combine job: stack the calibrated frames in bands and write the master bias."""

from __future__ import annotations

import csv
import logging
import os

import fitsio

from . import SOFTWARE
from .fitsfile import atomic_output, fits_text

__all__ = ["combine_files"]


def _master_header(first_path: str, paths: list[str], settings) -> fitsio.FITSHDR:
    from .fitsfile import cfitsio_paths, clean_header, fits_text

    with cfitsio_paths([first_path]) as (literal,):
        header = clean_header(fitsio.read_header(literal))
    for name in list(header.keys()):
        # values that belong to one frame, not to the master
        if name.startswith(("OVSCLEV", "OVSCRMS", "RAWFILE")):
            header.delete(name)
    # the first frame's HISTORY tells its own story (its overscan level); the method it
    # shares with the others is in OVSCMETH, OVSCSECn and CALSECn
    header.delete("HISTORY")

    def put(name, value, comment):
        header.add_record({"name": name, "value": value, "comment": comment})

    put("BUNIT", "adu", "pixel unit")
    put("PROCSOFT", SOFTWARE, "software that combined this master")
    put("NCOMBINE", len(paths), "number of frames combined")
    put("COMBMETH", settings.method, "combination of the kept values")
    put("REJECT", settings.reject, "rejection before the combination")
    if settings.reject == "ccdproc":  # the first version's cards, unchanged
        put("CLIPCEN", "median", "sigma clipping centre")
        put("CLIPDEV", "mad_std", "sigma clipping spread: 1.4826 MAD")
        put("CLIPLOW", settings.low if settings.low is not None else "none", "")
        put("CLIPHIGH", settings.high if settings.high is not None else "none", "")
        put("CLIPITER", 1, "sigma clipping passes")
    elif settings.reject in ("ccdclip", "avsigclip"):
        put("REJLOW", settings.low if settings.low is not None else "none", "sigmas below")
        put("REJHIGH", settings.high if settings.high is not None else "none", "sigmas above")
    elif settings.reject == "minmax":
        put("REJNLOW", settings.nlow, "lowest values rejected per pixel")
        put("REJNHIGH", settings.nhigh, "highest values rejected per pixel")
    for index, path in enumerate(paths, start=1):
        name = fits_text(os.path.basename(path))
        if index <= 999:
            put(f"IMCMB{index:03d}", name, "combined frame")
        else:
            header.add_record({"name": "HISTORY", "value": f"combined {name}"})
    header.add_record(
        {
            "name": "HISTORY",
            "value": f"{SOFTWARE}: {settings.describe()}, then {settings.method} of {len(paths)}",
        }
    )
    return header


def _screen(paths: list[str], block: dict | None, logger) -> dict[str, str]:
    """Frames to leave out (name -> reason) by the config's ``reject_frames``."""
    from .fitsfile import cfitsio_paths
    from .screening import FrameMetrics, screen_frames

    if not block or block.get("sigma") is None:
        return {}
    with cfitsio_paths(paths) as literal:
        metrics = [
            FrameMetrics.from_header(os.path.basename(name), fitsio.read_header(path))
            for name, path in zip(paths, literal, strict=True)
        ]
    excluded = screen_frames(metrics, block["sigma"], block.get("min_frames", 5))
    for name, reason in sorted(excluded.items()):
        logger.warning("left out %s: %s", name, reason)
    if len(excluded) == len(paths):
        raise ValueError("every frame was left out")
    return excluded


def combine_files(
    paths: list[str],
    output: str,
    combine: dict,
    workers: int = 1,
    logger: logging.Logger | None = None,
    rejections: str | None = None,
) -> dict:
    """Combine calibrated frames into the master bias ``output``.

    Parameters
    ----------
    paths : list of str
        Calibrated frames; combined in sorted order so the result never depends on the
        order Snakemake lists them in.
    combine : dict
        The config's ``combine`` block (``method``, ``reject`` or ``sigma_clip``, ``mem_limit``).
    workers : int
        Threads for the combination.
    rejections : str, optional
        A CSV of how many pixels of each frame the combination rejected.

    Returns
    -------
    dict
        What :func:`masterbias.stacking.stack_and_combine` returns.
    """
    from .combine import CombineSettings
    from .stacking import parse_memory, stack_and_combine

    logger = logger or logging.getLogger(__name__)
    paths = sorted(paths)
    excluded = _screen(paths, combine.get("reject_frames"), logger)
    paths = [path for path in paths if os.path.basename(path) not in excluded]
    settings = CombineSettings.from_config(combine)
    mem_limit = parse_memory(combine["mem_limit"])
    logger.info("%s: combining %d frames into %s", SOFTWARE, len(paths), output)
    logger.info("rejection: %s", settings.describe())
    logger.info("settings: %s, mem_limit %d bytes, %d threads", settings, mem_limit, workers)
    header = _master_header(paths[0], paths, settings)
    for index, (name, reason) in enumerate(sorted(excluded.items()), start=1):
        header.add_record({"name": f"EXCL{index:04d}", "value": fits_text(name),
                           "comment": "frame left out"})  # fmt: skip
        header.add_record({"name": "HISTORY", "value": f"left out {fits_text(name)}: {reason}"})
    outcome = stack_and_combine(
        paths, output, settings, mem_limit, workers, header, log=logger.info
    )
    total = len(paths) * outcome["shape"][0] * outcome["shape"][1]
    logger.info(
        "rejected %d of %d values (%.4f %%)",
        outcome["rejected"],
        total,
        100.0 * outcome["rejected"] / total,
    )
    if rejections:
        pixels = outcome["shape"][0] * outcome["shape"][1]
        with atomic_output(rejections) as temporary, open(temporary, "w", newline="") as out:
            table = csv.writer(out)
            table.writerow(["file", "rejected_pixels", "rejected_fraction", "left_out"])
            for path, count in zip(paths, outcome["rejected_per_frame"], strict=True):
                table.writerow([os.path.basename(path), int(count), f"{count / pixels:.6g}", ""])
            for name, reason in sorted(excluded.items()):
                table.writerow([name, "", "", reason])
    logger.info("wrote %s", output)
    return outcome
