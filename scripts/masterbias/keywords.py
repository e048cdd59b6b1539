"""The header keywords and HDU names the products write and read, each owned here once.

A :class:`Keyword` holds a keyword's name (with ``{}`` where an amplifier or frame number
goes), its comment and the type it is read back as.  Modules write and read keywords
through these objects, never as bare strings, as ccdproc's ``Keyword`` class does.
:data:`FRAME_SCOPE` lists those whose value belongs to one calibrated frame (its overscan
level, its statistics), which a master made of many frames does not carry.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keyword", "FRAME_SCOPE", "put_history", "Planes", "OVERSCAN_TABLE"]


@dataclass(frozen=True)
class Keyword:
    """One header keyword of the products.

    Attributes
    ----------
    name : str
        The keyword, with ``{}`` (or a format such as ``{:03d}``) where a number goes.
    comment : str
        The comment written beside it.
    kind : type
        ``float``, ``int`` or ``str``: what :meth:`read` returns.
    digits : int or None
        Decimals a float is rounded to when written.
    """

    name: str
    comment: str
    kind: type = str
    digits: int | None = None

    def key(self, index: int | None = None) -> str:
        """The keyword's name, numbered for ``index`` if it takes a number."""
        return self.name.format(index) if index is not None else self.name

    def _value(self, value):
        if self.kind is float and isinstance(value, (int, float)) and self.digits is not None:
            return round(float(value), self.digits)
        return value

    def put(self, header, value, index: int | None = None, comment: str | None = None) -> None:
        """Write the keyword into a ``fitsio.FITSHDR`` (replacing an earlier value)."""
        header.add_record(
            {"name": self.key(index), "value": self._value(value),
             "comment": comment or self.comment}
        )  # fmt: skip

    def write(self, hdu, value, index: int | None = None) -> None:
        """Write the keyword into the header of an open fitsio HDU."""
        hdu.write_key(self.key(index), self._value(value), comment=self.comment)

    def read(self, header, index: int | None = None):
        """The keyword's value as :attr:`kind`, or None when absent or of another type."""
        key = self.key(index)
        if key not in header:
            return None
        value = header[key]
        if self.kind is str:
            return str(value).strip()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return self.kind(value)

    def matches(self, name: str) -> bool:
        """Whether a header keyword ``name`` is this keyword (for any number)."""
        if "{" not in self.name:
            return name == self.name
        stem = self.name[: self.name.index("{")]
        return name.startswith(stem) and name[len(stem) :].isdigit()


def put_history(header, text: str) -> None:
    """Add a HISTORY card."""
    header.add_record({"name": "HISTORY", "value": text})


def put_history_hdu(hdu, text: str) -> None:
    """Add a HISTORY card to the header of an open fitsio HDU."""
    hdu.write_history(text)


# -- every product -----------------------------------------------------------------------
BUNIT = Keyword("BUNIT", "pixel unit")
PROCSOFT = Keyword("PROCSOFT", "software that made this file")

# -- a calibrated frame ------------------------------------------------------------------
RAWFILE = Keyword("RAWFILE", "raw frame this was made from")
RAWSUM = Keyword("RAWSUM", "SHA-256 of the raw file's bytes")
OVSCMETH = Keyword("OVSCMETH", "overscan: per-row statistic, or none")
OVSCMODL = Keyword("OVSCMODL", "overscan: fit along the readout")
OVSCORDR = Keyword("OVSCORDR", "overscan fit order or spline pieces", int)
CALMED = Keyword("CALMED", "median of the calibrated image, ADU", float, 4)
CALRMS = Keyword("CALRMS", "clipped std of the calibrated image, ADU", float, 4)
CALGRAD = Keyword("CALGRAD", "spread of its quadrant medians, ADU", float, 4)
CALFLAG = Keyword("CALFLAG", "why this frame is unusable (dead, flat, saturated)")
CALBLANK = Keyword("CALBLANK", "BLANK pixels of the raw frame, masked as NaN", int)
CALSEC = Keyword("CALSEC{}", "raw section kept")
AMPSEC = Keyword("AMPSEC{}", "amplifier's section of this image")
OVSCSEC = Keyword("OVSCSEC{}", "raw overscan section")
OVSCLEV = Keyword("OVSCLEV{}", "median row level subtracted, ADU", float, 4)
OVSCRMS = Keyword("OVSCRMS{}", "overscan noise about the row levels, ADU", float, 4)
POVSEC = Keyword("POVSEC{}", "raw parallel overscan section")
POVLEV = Keyword("POVLEV{}", "median column level subtracted, ADU", float, 4)
LTV1 = Keyword("LTV1", "offset, IRAF convention", float)
LTV2 = Keyword("LTV2", "offset, IRAF convention", float)

# -- a debiased frame ---------------------------------------------------------------------
MBFILE = Keyword("MBFILE", "master bias subtracted (path under out_dir)")
MBSUM = Keyword("MBSUM", "SHA-256 of the master bias subtracted")
MBNIGHT = Keyword("MBNIGHT", "observing night of the master bias")
MBAWAY = Keyword("MBAWAY", "nights from this frame's to the master's", int)

# -- the master --------------------------------------------------------------------------
NCOMBINE = Keyword("NCOMBINE", "number of frames combined", int)
COMBMETH = Keyword("COMBMETH", "combination of the kept values", str)
REJECT = Keyword("REJECT", "rejection before the combination", str)
CLIPCEN = Keyword("CLIPCEN", "sigma clipping centre", str)
CLIPDEV = Keyword("CLIPDEV", "sigma clipping spread: 1.4826 MAD", str)
CLIPLOW = Keyword("CLIPLOW", "sigmas below the median", float, 4)
CLIPHIGH = Keyword("CLIPHIGH", "sigmas above the median", float, 4)
CLIPITER = Keyword("CLIPITER", "sigma clipping passes", int)
REJLOW = Keyword("REJLOW", "sigmas below", float, 4)
REJHIGH = Keyword("REJHIGH", "sigmas above", float, 4)
REJNLOW = Keyword("REJNLOW", "lowest values rejected per pixel", int)
REJNHIGH = Keyword("REJNHIGH", "highest values rejected per pixel", int)
IMCMB = Keyword("IMCMB{:03d}", "combined frame", str)
EXCL = Keyword("EXCL{:04d}", "frame left out", str)
RDNOISE = Keyword("RDNOISE{}", "amp noise of one frame, ADU (measured)", float, 4)
NREJECT = Keyword("NREJECT", "values rejected in all", int)
DATE_OBS = Keyword("DATE-OBS", "start of the first frame combined (UT)", str)
DATE_BEG = Keyword("DATE-BEG", "start of the first frame combined (UT)", str)
DATE_END = Keyword("DATE-END", "start of the last frame combined (UT)", str)
UTYPE = Keyword("UTYPE", "uncertainty type (astropy CCDData)", str)
MNOISE = Keyword("MNOISE{}", "amp noise of the master, measured, ADU", float, 4)
XNOISE = Keyword("XNOISE{}", "amp noise expected: RDNOISE / sqrt(N), ADU", float, 4)
MMEAN = Keyword("MMEAN{}", "amp clipped mean of the master, ADU", float, 4)
MBADPX = Keyword("MBADPX{}", "amp pixels beyond 5 sigma", int)
MBADCL = Keyword("MBADCL{}", "amp whole columns beyond 5 sigma", int)
MBADRW = Keyword("MBADRW{}", "amp whole rows beyond 5 sigma", int)
VERIFY = Keyword("VERIFY", "verification of this master: pass or fail", str)

#: Keywords whose values describe one frame, not a set of frames.
FRAME_SCOPE = (RAWFILE, RAWSUM, CALMED, CALRMS, CALGRAD, CALFLAG, CALBLANK, OVSCLEV, OVSCRMS,
               POVLEV)  # fmt: skip

#: Raw keywords that describe one exposure (its time, its identity): a master made of many
#: exposures does not carry the first one's.
EXPOSURE_KEYWORDS = (
    "DATE-OBS", "TIME-OBS", "UT", "UTC", "UTSTART", "UT-START", "UTEND", "MJD-OBS", "MJD",
    "JD", "DATE-BEG", "DATE-END", "LST", "ST", "DATE", "FILENAME", "ORIGFILE", "IRAFNAME",
    "OBSID", "EXPID", "EXPNUM", "FRAMENUM", "OBSNUM", "SEQNUM", "CHECKSUM", "DATASUM",
)  # fmt: skip


#: The table of a calibrated frame that lists the overscan level subtracted from each row.
OVERSCAN_TABLE = "OVERSCAN"


@dataclass(frozen=True)
class Planes:
    """The HDU names of one extension's master: its data, uncertainty (standard deviation,
    ``UTYPE = 'StdDevUncertainty'``), mask and rejected-count planes.

    A single image's master keeps its data in the primary HDU (``data`` is None) and the
    planes ``UNCERT``, ``MASK``, ``REJECTED``; a mosaic's extension ``S1`` is ``S1``,
    ``S1_UNCERT``, ``S1_MASK``, ``S1_REJECTED``, so that astropy loads one CCD with
    ``CCDData.read(path, hdu='S1', hdu_uncertainty='S1_UNCERT', hdu_mask='S1_MASK')``.
    """

    data: str | None
    uncertainty: str
    mask: str
    rejected: str

    #: The planes beside the data, as named for a single image.
    PLANES = ("UNCERT", "MASK", "REJECTED")

    @classmethod
    def of(cls, label: str | None) -> Planes:
        if label is None:
            return cls(None, *cls.PLANES)
        return cls(label, *(f"{label}_{plane}" for plane in cls.PLANES))

    @property
    def names(self) -> tuple[str, str, str]:
        return self.uncertainty, self.mask, self.rejected

    @classmethod
    def data_of(cls, labels: list[str | None]) -> list[int]:
        """Positions of the data among the images of a product, ``labels`` their names in
        file order (None for the primary HDU's): each data image is followed by its planes
        in a master, and by none in a calibrated frame."""
        data, planes = [], ()
        for position, label in enumerate(labels):
            if label not in planes:
                data.append(position)
                planes = cls.of(label).names
        return data
