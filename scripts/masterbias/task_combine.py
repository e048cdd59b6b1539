"""The combine job: leave out unusable frames, stack the rest in bands, write the master.

Each extension (a single image is the case of one) is combined on its own: its frames
that are flagged (a dead, flat or saturated readout) or stand out of the set (see
:mod:`masterbias.screening`) are left out with the reason, the others are combined in row
bands (:mod:`masterbias.stacking`).  Besides the master, the job writes a record (JSON) of
what it did, frame by frame, from which the QC tables are made.
"""

from __future__ import annotations

import json
import logging

import fitsio

from . import SOFTWARE
from . import keywords as kw
from .errors import FrameError

__all__ = ["combine_files", "assemble_master", "master_header", "duplicate_frames"]


def _strip_exposure(header: fitsio.FITSHDR) -> fitsio.FITSHDR:
    """A calibrated frame's header without what belongs to that one frame (its overscan
    level, statistics, provenance, time and identity) and without its HISTORY."""
    for name in list(header.keys()):
        if any(keyword.matches(name) for keyword in kw.FRAME_SCOPE) or name in (
            kw.EXPOSURE_KEYWORDS
        ):
            header.delete(name)
    header.delete("HISTORY")
    return header


def _method_cards(header: fitsio.FITSHDR, settings) -> None:
    kw.BUNIT.put(header, "adu")
    kw.PROCSOFT.put(header, SOFTWARE)
    kw.COMBMETH.put(header, settings.method)
    kw.REJECT.put(header, settings.reject)


def _threshold_cards(header: fitsio.FITSHDR, settings) -> None:
    """The rejection's thresholds, as used for this number of frames."""

    def sigmas(value):
        return value if value is not None else "none"

    if settings.reject == "ccdproc":  # the first version's cards
        kw.CLIPCEN.put(header, "median")
        kw.CLIPDEV.put(header, "mad_std")
        kw.CLIPLOW.put(header, sigmas(settings.low))
        kw.CLIPHIGH.put(header, sigmas(settings.high))
        kw.CLIPITER.put(header, 1)
    elif settings.reject in ("ccdclip", "avsigclip"):
        kw.REJLOW.put(header, sigmas(settings.low))
        kw.REJHIGH.put(header, sigmas(settings.high))
    elif settings.reject == "minmax":
        kw.REJNLOW.put(header, settings.nlow)
        kw.REJNHIGH.put(header, settings.nhigh)


def _span_cards(header: fitsio.FITSHDR, times: list[str]) -> None:
    """The span of the frames' times: DATE-OBS (= DATE-BEG, the first) and DATE-END."""
    known = sorted(time for time in times if time)
    if known:
        kw.DATE_OBS.put(header, known[0])
        kw.DATE_BEG.put(header, known[0])
        kw.DATE_END.put(header, known[-1])


def _member_cards(header, names: list[str], excluded: dict[str, str], settings) -> None:
    from .fitsfile import fits_text

    _threshold_cards(header, settings)
    kw.NCOMBINE.put(header, len(names))
    for index, name in enumerate(names, start=1):
        if index <= 999:
            kw.IMCMB.put(header, fits_text(name), index)
        else:
            kw.put_history(header, f"combined {fits_text(name)}")
    for index, (name, reason) in enumerate(sorted(excluded.items()), start=1):
        kw.EXCL.put(header, fits_text(name), index)
        kw.put_history(header, f"left out {fits_text(name)}: {fits_text(reason)}")
    kw.put_history(header, f"{SOFTWARE}: {settings.describe()}, then {settings.method} of "
                           f"{len(names)}")  # fmt: skip


def master_header(first: fitsio.FITSHDR, settings, names, excluded, times) -> fitsio.FITSHDR:
    """The header of a single image's master: its first frame's header without what
    belongs to that frame, with the combination and its frames recorded."""
    from .fitsfile import clean_header

    header = _strip_exposure(clean_header(first))
    _method_cards(header, settings)
    _span_cards(header, times)
    _member_cards(header, names, excluded, settings)
    return header


def duplicate_frames(names: list[str], digests: list[str | None]) -> dict[str, str]:
    """Frames made from the same raw bytes as one before them (a copy of a file under
    another name), name -> reason: each raw frame is combined once, as the first of its
    copies."""
    first: dict[str, str] = {}
    copies = {}
    for name, digest in zip(names, digests, strict=True):
        if digest is None:
            continue
        if digest in first:
            copies[name] = (f"a copy: the same raw bytes as {first[digest]} "
                            f"(SHA-256 {digest[:16]}...)")  # fmt: skip
        else:
            first[digest] = name
    return copies


def _leave_out(names, headers, screening: dict | None, logger, copies) -> dict[str, str]:
    """Frames of one extension to leave out, name -> reason: ``copies`` of another frame,
    flagged by their frame job (CALFLAG), or outliers of the set by
    ``combine.reject_frames``."""
    from .screening import FrameMetrics, screen_frames

    excluded = dict(copies)
    excluded.update({name: f"unusable readout: {kw.CALFLAG.read(header)}"
                     for name, header in zip(names, headers, strict=True)
                     if name not in excluded and kw.CALFLAG.read(header)})  # fmt: skip
    if screening is not None and screening["sigma"] is not None:
        metrics = [FrameMetrics.from_header(name, header)
                   for name, header in zip(names, headers, strict=True)
                   if name not in excluded]  # fmt: skip
        excluded.update(screen_frames(metrics, screening["sigma"], screening["min_frames"]))
    for name, reason in sorted(excluded.items()):
        logger.warning("left out %s: %s", name, reason)
    return excluded


def _frame_rows(names, headers, excluded, combined, counts, pixels, digests) -> list[dict]:
    """A row per frame of one extension: what its header says and what the combination
    did to it."""
    rows = []
    rejected = dict(zip(combined, counts, strict=True))
    for name, header, digest in zip(names, headers, digests, strict=True):
        levels = []
        while kw.OVSCLEV.read(header, len(levels) + 1) is not None:
            levels.append(kw.OVSCLEV.read(header, len(levels) + 1))
        rows.append({
            "file": name,
            "overscan_levels_adu": levels,
            "overscan_level_adu": kw.OVSCLEV.read(header, 1),
            "overscan_noise_adu": kw.OVSCRMS.read(header, 1),
            "median_adu": kw.CALMED.read(header),
            "clipped_std_adu": kw.CALRMS.read(header),
            "gradient_adu": kw.CALGRAD.read(header),
            "blank_pixels": kw.CALBLANK.read(header),
            "raw_sha256": digest,
            "rejected_pixels": int(rejected[name]) if name in rejected else None,
            "rejected_fraction": float(rejected[name]) / pixels if name in rejected else None,
            "left_out": excluded.get(name),
        })  # fmt: skip
    return rows


def combine_files(
    paths: list[str],
    frames: dict[str, str | None],
    output: str,
    record: str,
    combine: dict,
    mem_limit: int,
    workers: int = 1,
    logger: logging.Logger | None = None,
    extensions: list[str] | None = None,
    seal: str | None = None,
) -> dict:
    """Combine calibrated frames into the master bias ``output`` (or, with
    ``extensions``, into a part of it: those extensions only, see
    :func:`assemble_master`).

    Parameters
    ----------
    paths : list of str
        Calibrated frames, in the order of ``frames``.
    frames : dict
        Name of each frame (its path under ``calibrated/``) -> its time (ISO, UTC, or
        None), in the order frames are combined.
    output, record : str
        The master, and the JSON record of what was done.
    combine : dict
        The config's ``combine`` block (``method``, ``reject``, ``reject_frames``).
    mem_limit : int
        Bytes of working memory of the combination.
    workers : int
        Threads for the combination.
    extensions : list of str, optional
        The extensions of a mosaic to combine (all when not given).
    seal : str, optional
        The group's seal (:mod:`masterbias.seals`), kept in the record with the products
        it seals: the frames combined and the master.

    Returns
    -------
    dict
        The record.
    """
    from .combine import CombineSettings
    from .fitsfile import atomic_output, cfitsio_paths, check_fits_complete, clean_header, data_hdus

    logger = logger or logging.getLogger(__name__)
    names = list(frames)
    settings = CombineSettings.from_config(combine)
    logger.info("%s: combining %d frames into %s", SOFTWARE, len(names), output)
    logger.info("rejection: %s; %d bytes of working memory, %d threads",
                settings.describe(), mem_limit, workers)  # fmt: skip
    combined = []
    with cfitsio_paths(paths) as literal:
        with fitsio.FITS(literal[0]) as first:
            images = [hdu.get_extname() or None for hdu in data_hdus(first)]
            primary = first[0].read_header()
        primaries = [_header(path, name, 0) for path, name in zip(literal, names, strict=True)]
        digests = [kw.RAWSUM.read(header) for header in primaries]
        copies = duplicate_frames(names, digests)
        mosaic = images[0] is not None
        if extensions is not None:
            images = [label for label in images if label in extensions]
        with atomic_output(output, check=check_fits_complete) as temporary:
            with fitsio.FITS(str(temporary), "rw", clobber=True) as out:
                if mosaic:
                    header = _strip_exposure(clean_header(primary))
                    _method_cards(header, settings)
                    _span_cards(header, list(frames.values()))
                    out.write(None, header=header)
                for label in images:
                    combined.append(_combine_one(
                        literal, names, frames, label, out, str(temporary), settings,
                        combine, mem_limit, workers, logger, primaries, digests, copies,
                    ))  # fmt: skip
    made = _write_record(record, combined, seal, paths, output if extensions is None else None)
    logger.info("wrote %s", output)
    return made


def _write_record(record: str, extensions: list, seal, inputs: list[str], master) -> dict:
    """Write the record of a combine: what was done, extension by extension; the seal and
    the products it seals (the frames combined and, for a whole master (``master``), the
    master), and the master's SHA-256 (what a frame debiased with it records)."""
    from .fitsfile import atomic_output, file_sha256

    made = {"extensions": extensions, "seal": seal, "products": list(inputs)}
    if master is not None:
        made["products"].append(master)
        made["master_sha256"] = file_sha256(master)
    with atomic_output(record) as temporary:
        temporary.write_text(json.dumps(made, indent=1))
    return made


def assemble_master(parts: list[str], records: list[str], output: str, record: str,
                    logger: logging.Logger | None = None,
                    seal: str | None = None) -> None:  # fmt: skip
    """A mosaic's master from its parts (:func:`combine_files` with ``extensions``): the
    first part's primary HDU, then every part's extensions in order, one HDU in memory
    at a time; and the parts' records, one after the other, with the ``seal``."""
    from .fitsfile import atomic_output, check_fits_complete, clean_header

    logger = logger or logging.getLogger(__name__)
    with atomic_output(output, check=check_fits_complete) as temporary:
        with fitsio.FITS(str(temporary), "rw", clobber=True) as out:
            for number, part in enumerate(parts):
                with fitsio.FITS(part) as fits:
                    if number == 0:
                        out.write(None, header=clean_header(fits[0].read_header()))
                    for hdu in fits[1:]:
                        header = clean_header(hdu.read_header())
                        out.write(hdu.read(), header=header, extname=hdu.get_extname())
                logger.info("copied %s", part)
    extensions, inputs = [], {}
    for path in records:
        with open(path) as stream:
            part = json.load(stream)
        extensions += part["extensions"]
        inputs.update(dict.fromkeys(part["products"]))
    _write_record(record, extensions, seal, list(inputs), output)
    logger.info("wrote %s from %d parts", output, len(parts))


def _header(path: str, name: str, ext) -> fitsio.FITSHDR:
    try:
        return fitsio.read_header(path, ext=ext)
    except (OSError, ValueError) as err:
        raise FrameError(name, f"cannot read the header of extension {ext}: {err}") from None


def _combine_one(paths, names, frames, label, out, out_path, settings, combine, mem_limit,
                 workers, logger, primaries, digests, copies) -> dict:  # fmt: skip
    """Combine one extension (``label``; None for a single image) into ``out``, the open
    FITS of the file ``out_path``."""
    from .fitsfile import clean_header
    from .stacking import combine_extension

    ext = label if label is not None else 0
    where = f" [{label}]" if label is not None else ""
    headers = (
        primaries
        if label is None
        else [_header(path, name, ext) for path, name in zip(paths, names, strict=True)]
    )
    excluded = _leave_out(names, headers, combine["reject_frames"], logger, copies)
    kept = [index for index, name in enumerate(names) if name not in excluded]
    if not kept:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in sorted(excluded.items()))
        raise FrameError(names[0], f"every frame{where} of this master was left out ({reasons})")
    combined = [names[index] for index in kept]
    settings = settings.for_frames(len(kept))
    if label is None:
        header = master_header(headers[kept[0]], settings, combined, excluded,
                               [frames[name] for name in combined])  # fmt: skip
    else:
        header = _strip_exposure(clean_header(headers[kept[0]]))
        kw.BUNIT.put(header, "adu")
        _member_cards(header, combined, excluded, settings)
    logger.info("extension %s: combining %d frames", label or "(primary)", len(kept))
    outcome = combine_extension(
        [paths[index] for index in kept], combined, ext, out, out_path, kw.Planes.of(label),
        header, settings, mem_limit, workers, logger.info,
    )  # fmt: skip
    total = len(kept) * outcome.shape[0] * outcome.shape[1]
    logger.info("rejected %d of %d values (%.4f %%)", outcome.rejected, total,
                100.0 * outcome.rejected / total)  # fmt: skip
    pixels = outcome.shape[0] * outcome.shape[1]
    rows = _frame_rows(names, headers, excluded, combined, outcome.rejected_per_frame, pixels,
                       digests)  # fmt: skip
    noise = outcome.noise
    return {
        "extension": label or "",
        "frames": rows,
        "combined": len(kept),
        "rejected": outcome.rejected,
        "values": total,
        "amplifiers": list(noise.regions.names) if noise else [],
        "read_noise_adu": list(noise.sigmas) if noise else [],
        "pairs": [
            [combined[first], combined[second], list(sigmas)]
            for first, second, sigmas in (noise.pairs if noise else ())
        ],
        "verification": [result.to_json() for result in outcome.verification],
    }
