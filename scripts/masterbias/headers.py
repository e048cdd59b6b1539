"""Headers of the products: keep what the camera wrote, record truthfully what was done."""

from __future__ import annotations

import fitsio

from . import SOFTWARE
from .calibration import CalibrationResult
from .fitsfile import clean_header, fits_text
from .layout import FrameLayout
from .sections import SectionError, parse_section

__all__ = ["calibrated_header", "SECTION_KEYWORDS"]

#: Section keywords in raw-frame coordinates that a trim makes stale.
SECTION_KEYWORDS = ("BIASSEC", "DATASEC", "TRIMSEC", "CCDSEC")


def _move_sections(header: fitsio.FITSHDR, layout: FrameLayout) -> list[str]:
    """Rewrite section keywords into the trimmed geometry; drop those that left the image."""
    notes = []
    kept = layout.kept
    trimmed = kept.shape != layout.raw_shape
    if not trimmed:
        return notes
    raw_datasec = str(header.get("DATASEC", "")).replace(" ", "")
    for keyword in SECTION_KEYWORDS:
        if keyword not in header:
            continue
        text = str(header[keyword])
        if keyword == "CCDSEC":
            # detector coordinates, not image coordinates: valid only while the image still
            # is the data section it describes
            if raw_datasec != kept.fits:
                header.delete(keyword)
                notes.append(f"CCDSEC {text} removed: the image was trimmed to {kept.fits}")
            continue
        try:
            section = parse_section(text, layout.raw_shape)
        except SectionError:
            section = None
        if keyword == "TRIMSEC" or section is None or not kept.contains(section):
            header.delete(keyword)
            notes.append(f"{keyword} {text} removed: not in the trimmed image")
        else:
            moved = section.relative_to(kept)
            header[keyword] = moved.fits
            notes.append(f"{keyword} {text} -> {moved.fits} after trimming")
    # IRAF's logical-to-physical offset: physical = logical - LTV
    ltv1 = float(header.get("LTV1", 0)) - (kept.x1 - 1)
    ltv2 = float(header.get("LTV2", 0)) - (kept.y1 - 1)
    header.add_record({"name": "LTV1", "value": ltv1, "comment": "offset, IRAF convention"})
    header.add_record({"name": "LTV2", "value": ltv2, "comment": "offset, IRAF convention"})
    return notes


def calibrated_header(
    raw_header: fitsio.FITSHDR,
    result: CalibrationResult,
    layout: FrameLayout,
    raw_name: str,
) -> fitsio.FITSHDR:
    """The raw header, cleaned of storage keywords, with the calibration recorded.

    Parameters
    ----------
    raw_header : fitsio.FITSHDR
    result : CalibrationResult
    layout : FrameLayout
    raw_name : str
        The raw file's name, recorded in RAWFILE.

    Returns
    -------
    fitsio.FITSHDR
    """
    header = clean_header(raw_header)
    notes = _move_sections(header, layout)

    def put(name, value, comment):
        header.add_record({"name": name, "value": value, "comment": comment})

    put("BUNIT", "adu", "pixel unit")
    put("RAWFILE", fits_text(raw_name), "raw frame this was made from")
    put("PROCSOFT", SOFTWARE, "software that calibrated this frame")
    put("OVSCMETH", result.method, "overscan: per-row statistic, or none")
    put("OVSCMODL", layout.overscan_model.function, "overscan: fit along the readout")
    if layout.overscan_model.function != "none":
        put("OVSCORDR", layout.overscan_model.order, "overscan fit order or spline pieces")
    stats = result.statistics
    put("CALMED", round(stats["median"], 4), "median of the calibrated image, ADU")
    put("CALRMS", round(stats["noise"], 4), "robust std of the calibrated image, ADU")
    put("CALGRAD", round(stats["gradient"], 4), "spread of its quadrant medians, ADU")
    history = [f"{SOFTWARE}: calibrated {fits_text(raw_name)}"]
    for index, amp in enumerate(result.amplifiers, start=1):
        put(f"CALSEC{index}", amp.light, f"amp {amp.name}: raw section kept")
        put(f"AMPSEC{index}", amp.output, f"amp {amp.name}: its section of this image")
        if amp.overscan is not None:
            put(f"OVSCSEC{index}", amp.overscan, f"amp {amp.name}: raw overscan section")
            put(f"OVSCLEV{index}", round(amp.level, 4), f"amp {amp.name}: median row level ADU")
            put(f"OVSCRMS{index}", round(amp.noise, 4), f"amp {amp.name}: overscan noise ADU")
            history.append(
                f"overscan {amp.overscan}: {result.method} of each row, "
                f"{layout.overscan_model.describe()}, subtracted "
                f"(median level {amp.level:.3f} ADU)"
            )
        if amp.parallel is not None:
            put(f"POVSEC{index}", amp.parallel, f"amp {amp.name}: raw parallel overscan")
            put(f"POVLEV{index}", round(amp.parallel_level, 4), f"amp {amp.name}: column level")
            history.append(
                f"parallel overscan {amp.parallel}: {result.method} of each column subtracted"
            )
        history.append(f"trimmed to {amp.light} -> {amp.output}")
    history.extend(notes)
    for line in history:
        header.add_record({"name": "HISTORY", "value": line})
    return header
