"""Headers of the calibrated frames: keep what the camera wrote, record truthfully what was
done (the keywords of :mod:`masterbias.keywords`)."""

from __future__ import annotations

import re

import fitsio

from . import SOFTWARE
from . import keywords as kw
from .calibration import CalibrationResult
from .fitsfile import clean_header, fits_text
from .layout import FrameLayout
from .sections import SectionError, parse_section

__all__ = ["calibrated_header", "frame_header"]

#: Section keywords in raw-image coordinates that a trim moves or makes stale (CCDSEC: in
#: detector coordinates), with an optional amplifier suffix (DATASECA, BIASSECB).
_SECTION_KEY = re.compile(r"^(BIASSEC|DATASEC|TRIMSEC|PRESEC|POSTSEC|CCDSEC)([A-Z0-9]{0,3})$")


def _move_sections(header: fitsio.FITSHDR, layout: FrameLayout) -> list[str]:
    """Rewrite section keywords into the trimmed geometry; drop those that left the image."""
    notes = []
    kept = layout.kept
    if kept.shape == layout.raw_shape:
        return notes
    raw = {record["name"]: str(record["value"]) for record in header.records()
           if _SECTION_KEY.match(record["name"].upper())}  # fmt: skip
    for name, text in raw.items():
        family, suffix = _SECTION_KEY.match(name.upper()).groups()
        if family == "CCDSEC":
            # detector coordinates, not image coordinates: valid only while the image still
            # is the data section it describes
            datasec = raw.get(f"DATASEC{suffix}", "").replace(" ", "")
            if datasec != kept.fits:
                header.delete(name)
                notes.append(f"{name} {text} removed: the image was trimmed to {kept.fits}")
            continue
        try:
            section = parse_section(text, layout.raw_shape)
        except SectionError:
            section = None
        if family == "TRIMSEC" or section is None or not kept.contains(section):
            header.delete(name)
            notes.append(f"{name} {text} removed: not in the trimmed image")
        else:
            moved = section.relative_to(kept)
            header[name] = moved.fits
            notes.append(f"{name} {text} -> {moved.fits} after trimming")
    # IRAF's logical-to-physical offset: physical = logical - LTV
    kw.LTV1.put(header, (kw.LTV1.read(header) or 0.0) - (kept.x1 - 1))
    kw.LTV2.put(header, (kw.LTV2.read(header) or 0.0) - (kept.y1 - 1))
    return notes


def frame_header(raw_primary: fitsio.FITSHDR, raw_name: str, digest: str) -> fitsio.FITSHDR:
    """The primary header of a calibrated frame: the raw primary header, cleaned of
    storage keywords, with the frame's provenance."""
    header = clean_header(raw_primary)
    kw.BUNIT.put(header, "adu")
    kw.RAWFILE.put(header, fits_text(raw_name))
    kw.RAWSUM.put(header, digest)
    kw.PROCSOFT.put(header, SOFTWARE)
    kw.put_history(header, f"{SOFTWARE}: calibrated {fits_text(raw_name)}")
    return header


def calibrated_header(
    raw_header: fitsio.FITSHDR, result: CalibrationResult, layout: FrameLayout
) -> fitsio.FITSHDR:
    """The header of one calibrated image: its raw header, cleaned of storage keywords,
    with what was done to it recorded.

    Parameters
    ----------
    raw_header : fitsio.FITSHDR
        The header the image came with (for a single image, already carrying the frame's
        provenance from :func:`frame_header`).
    result : CalibrationResult
    layout : FrameLayout

    Returns
    -------
    fitsio.FITSHDR
    """
    header = clean_header(raw_header)
    notes = _move_sections(header, layout)
    kw.BUNIT.put(header, "adu")
    kw.OVSCMETH.put(header, result.method)
    kw.OVSCMODL.put(header, layout.overscan_model.function)
    if layout.overscan_model.function != "none":
        kw.OVSCORDR.put(header, layout.overscan_model.order)
    stats = result.statistics
    kw.CALMED.put(header, stats["median"])
    kw.CALRMS.put(header, stats["noise"])
    kw.CALGRAD.put(header, stats["gradient"])
    if result.blank:
        kw.CALBLANK.put(header, result.blank)
    if result.problem:
        kw.CALFLAG.put(header, fits_text(result.problem))
    history = []
    for index, amp in enumerate(result.amplifiers, start=1):
        label = f"amp {amp.name}: "
        kw.CALSEC.put(header, amp.light, index, label + kw.CALSEC.comment)
        kw.AMPSEC.put(header, amp.output, index, label + kw.AMPSEC.comment)
        if amp.overscan is not None:
            kw.OVSCSEC.put(header, amp.overscan, index, label + kw.OVSCSEC.comment)
            kw.OVSCLEV.put(header, amp.level, index, label + kw.OVSCLEV.comment)
            kw.OVSCRMS.put(header, amp.noise, index, label + kw.OVSCRMS.comment)
            history.append(
                f"overscan {amp.overscan}: {result.method} of each row, "
                f"{layout.overscan_model.describe()}, subtracted "
                f"(median level {amp.level:.3f} ADU)"
            )
        if amp.parallel is not None:
            kw.POVSEC.put(header, amp.parallel, index, label + kw.POVSEC.comment)
            kw.POVLEV.put(header, amp.parallel_level, index, label + kw.POVLEV.comment)
            history.append(
                f"parallel overscan {amp.parallel}: {result.method} of each column subtracted"
            )
        history.append(f"trimmed to {amp.light} -> {amp.output}")
    if result.blank:
        history.append(f"{result.blank} BLANK pixels set to NaN")
    for line in history + notes:
        kw.put_history(header, line)
    return header
