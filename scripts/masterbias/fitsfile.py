"""FITS input and output through fitsio: headers, images, and atomic writes.

Headers are read block by block from the start of the file (through a gzip stream for
``.gz``), so that finding and summarising a night of compressed frames does not decompress
whole images; the cards are parsed by fitsio.  Images are read with fitsio, and every output
is written to a temporary file in the destination folder and renamed into place, so an
interrupted job never leaves a half-written FITS that a rerun would trust.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import re
import shutil
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import fitsio
import numpy as np

from .errors import FrameError, OutputError

__all__ = [
    "ImageHeader",
    "cfitsio_paths",
    "calibrated_name",
    "fits_text",
    "clean_header",
    "read_image",
    "read_image_header",
    "atomic_output",
    "check_fits_complete",
]

BLOCK = 2880
CARD = 80

#: Keywords that describe how a FITS file stores its pixels.  They belong to the writer, not
#: to the data: copying them onto a float32 image (BZERO = 32768 above all) would corrupt it.
STRUCTURAL_KEYWORDS = frozenset(
    {
        "SIMPLE", "EXTEND", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "BZERO",
        "BSCALE", "BLANK", "EXTNAME", "EXTVER", "CHECKSUM", "DATASUM", "END", "INHERIT",
        "ZIMAGE", "ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZPCOUNT", "ZGCOUNT",
        "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0", "ZEXTEND", "ZBLANK", "ZSCALE", "ZZERO",
        "THEAP", "TFIELDS",
    }
)  # fmt: skip
_STRUCTURAL_PREFIXES = ("NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "TTYPE", "TFORM")

COMPRESSION_SUFFIXES = (".gz", ".fz")


@dataclass(frozen=True)
class ImageHeader:
    """Where a file keeps its image, and the header that describes it.

    Attributes
    ----------
    hdu : int
        Index of the first HDU holding a 2-D image (0 = primary).
    shape : tuple of int
        numpy shape ``(rows, columns)`` = ``(NAXIS2, NAXIS1)`` of that image.
    header : fitsio.FITSHDR
        The primary header's cards followed by the image HDU's own (for an image in an
        extension), so keywords such as IMAGETYP kept in the primary header are seen.
    keywords : dict
        Keyword -> value of the same cards, without storage keywords, COMMENT and HISTORY;
        a keyword repeated in one header keeps its first value (as astropy reads it), and
        the image HDU's keywords win over the primary header's.
    """

    hdu: int
    shape: tuple[int, int]
    header: fitsio.FITSHDR
    keywords: dict


def calibrated_name(raw_name: str) -> str:
    """The file name of a calibrated frame: the raw name without ``.gz``/``.fz``."""
    for suffix in COMPRESSION_SUFFIXES:
        if raw_name.lower().endswith(suffix):
            return raw_name[: -len(suffix)]
    return raw_name


def fits_text(text: str) -> str:
    """``text`` as a FITS header string: ASCII only, other characters as ``\\xNN`` escapes."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _is_structural(name: str) -> bool:
    return name in STRUCTURAL_KEYWORDS or (
        name.startswith(_STRUCTURAL_PREFIXES) and name[len(name.rstrip("0123456789")) :] != ""
    )


#: The COMMENT cards that FITS writers add to every primary header; copied, they pile up.
_STANDARD_COMMENTS = ("FITS (Flexible Image Transport System) format is", "and Astrophysics',")


def clean_header(header: fitsio.FITSHDR) -> fitsio.FITSHDR:
    """A copy of ``header`` without the keywords that describe pixel storage."""
    cleaned = fitsio.FITSHDR()
    for record in header.records():
        name = record["name"].upper()
        if _is_structural(name):
            continue
        if name == "COMMENT" and str(record.get("value", "")).strip().startswith(
            _STANDARD_COMMENTS
        ):
            continue
        cleaned.add_record(record)
    return cleaned


def _read_cards(stream, path: Path, primary: bool) -> list[str] | None:
    """Read one header (80-character cards up to END) from a stream of 2880-byte blocks.

    Returns ``None`` at a clean end of file before an extension header.
    """
    cards: list[str] = []
    while True:
        block = stream.read(BLOCK)
        if not block and not primary and not cards:
            return None
        if primary and not cards and not block:
            raise FrameError(path, "file is empty (0 bytes)")
        if primary and not cards and not block.startswith(b"SIMPLE  ="):
            raise FrameError(path, "not a FITS file (it does not start with SIMPLE)")
        if len(block) < BLOCK:
            raise FrameError(path, "file ends inside a FITS header (truncated or not FITS)")
        for offset in range(0, BLOCK, CARD):
            card = block[offset : offset + CARD].decode("ascii", errors="replace")
            name = card[:8].rstrip()
            if name == "END":
                return cards
            if card.strip():
                cards.append(card)


def _keyword_value(value):
    if isinstance(value, str):
        return value.rstrip()  # trailing spaces are not significant in FITS strings
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)


def _parse_cards(cards: list[str], path: Path, into: fitsio.FITSHDR, keywords: dict) -> dict:
    """Parse cards into ``into``; fill ``keywords`` (first value wins, as astropy reads a
    repeated keyword); return the structural keywords."""
    structural = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitsio warns of odd but readable cards
        for card in cards:
            try:
                record = fitsio.FITSRecord(card)
            except Exception as err:  # fitsio raises several types for a bad card
                raise FrameError(path, f"unreadable header card {card.strip()!r}: {err}") from None
            name = (record.get("name") or "").upper()
            if _is_structural(name):
                structural.setdefault(name, record["value"])
            elif name not in ("COMMENT", "HISTORY", "", "CONTINUE"):
                keywords.setdefault(name, _keyword_value(record.get("value")))
            into.add_record(record)
    return structural


@dataclass(frozen=True)
class _Structure:
    """The keywords that say how an HDU's data are laid out, checked."""

    bitpix: int
    dims: tuple[int, ...]
    pcount: int
    gcount: int
    compressed: bool

    @classmethod
    def from_keywords(cls, structural: dict, path: Path) -> _Structure:
        def integer(name, default=None):
            value = structural.get(name, default)
            if value is None:
                raise FrameError(path, f"header has no {name}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FrameError(path, f"header {name} = {value!r} is not an integer")
            if value != int(value) or value < 0 and name != "BITPIX":
                raise FrameError(path, f"header {name} = {value!r} is not a count")
            return int(value)

        naxis = integer("NAXIS")
        if naxis > 999:
            raise FrameError(path, f"header NAXIS = {naxis} is not a count of axes")
        bitpix = integer("BITPIX")
        if bitpix not in (8, 16, 32, 64, -32, -64):
            raise FrameError(path, f"header BITPIX = {bitpix} is not a FITS pixel type")
        dims = tuple(integer(f"NAXIS{axis}") for axis in range(1, naxis + 1))
        return cls(
            bitpix=bitpix,
            dims=dims,
            pcount=integer("PCOUNT", 0),
            gcount=integer("GCOUNT", 1),
            compressed=bool(structural.get("ZIMAGE")),
        )

    @property
    def data_bytes(self) -> int:
        if not self.dims:
            return 0
        count = 1
        for size in self.dims:
            count *= size
        return abs(self.bitpix) // 8 * self.gcount * (count + self.pcount)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """numpy shape of a 2-D image in this HDU, or None."""
        if self.compressed or len(self.dims) < 2 or min(self.dims) <= 0:
            return None  # a tile-compressed image is decoded by fitsio instead
        if len(self.dims) > 2 and any(size != 1 for size in self.dims[2:]):
            return None
        return self.dims[1], self.dims[0]


def _open_stream(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_image_header(path: str | os.PathLike) -> ImageHeader:
    """Find the first 2-D image in a FITS file and return its header, reading only headers.

    Parameters
    ----------
    path : path-like
        A FITS file, optionally gzip-compressed (``.gz``) or tile-compressed (``.fz``).

    Returns
    -------
    ImageHeader

    Raises
    ------
    FrameError
        If the file cannot be read, is not FITS, or holds no 2-D image.
    """
    path = Path(path)
    if path.name.lower().endswith(".fz"):
        return _read_compressed_header(path)
    merged = fitsio.FITSHDR()
    keywords: dict = {}
    try:
        with _open_stream(path) as stream:
            for hdu in range(64):
                cards = _read_cards(stream, path, primary=hdu == 0)
                if cards is None:
                    break
                if hdu == 0:
                    structural = _parse_cards(cards, path, merged, keywords)
                else:
                    own, own_keywords = fitsio.FITSHDR(), {}
                    structural = _parse_cards(cards, path, own, own_keywords)
                    for record in own.records():
                        merged.add_record(record)
                    keywords.update(own_keywords)
                structure = _Structure.from_keywords(structural, path)
                shape = structure.image_shape
                if shape is not None:
                    return ImageHeader(hdu=hdu, shape=shape, header=merged, keywords=keywords)
                if structure.compressed:
                    return _read_compressed_header(path)
                # seek, not read: a (corrupt) header may claim terabytes of data
                stream.seek(-(-structure.data_bytes // BLOCK) * BLOCK, os.SEEK_CUR)
    except FrameError:
        raise
    except (OSError, EOFError, zlib.error) as err:
        raise FrameError(path, f"cannot read: {err}") from None
    raise FrameError(path, "holds no 2-D image in any HDU")


def _read_compressed_header(path: Path) -> ImageHeader:
    try:
        with cfitsio_paths([path]) as (literal,), fitsio.FITS(literal) as fits:
            merged = fitsio.FITSHDR()
            for hdu_index, hdu in enumerate(fits):
                header = hdu.read_header()
                if hdu_index == 0 or hdu.get_exttype() == "IMAGE_HDU":
                    for record in header.records():
                        merged.add_record(record)
                dims = hdu.get_dims() if hdu.get_exttype() == "IMAGE_HDU" else []
                if len(dims) == 2 and min(dims) > 0:
                    keywords = {
                        record["name"].upper(): _keyword_value(record.get("value"))
                        for record in merged.records()
                        if not _is_structural(record["name"].upper())
                        and record["name"].upper() not in ("COMMENT", "HISTORY", "")
                    }
                    shape = (dims[0], dims[1])
                    return ImageHeader(hdu_index, shape, merged, keywords)
    except OSError as err:
        raise FrameError(path, f"cannot read: {err}") from None
    raise FrameError(path, "holds no 2-D image in any HDU")


#: Characters that cfitsio reads as its extended file-name syntax (``file.fits[1]``,
#: ``file.fits(template)``); a leading ``!`` means "overwrite".
_CFITSIO_SYNTAX = re.compile(r"[\[\]()]")


@contextlib.contextmanager
def cfitsio_paths(paths: list[str | os.PathLike]):
    """Yield paths that cfitsio opens literally, whatever characters the real names hold.

    A name with brackets or parentheses (or a leading ``!``) is reached through a symbolic
    link with a plain name in a temporary folder, removed afterwards.
    """
    texts = [os.fspath(path) for path in paths]
    unsafe = [
        index
        for index, text in enumerate(texts)
        if _CFITSIO_SYNTAX.search(text) or os.path.basename(text).startswith("!")
    ]
    if not unsafe:
        yield texts
        return
    with tempfile.TemporaryDirectory(prefix="masterbias-links-") as folder:
        for index in unsafe:
            lower = texts[index].lower()
            suffix = next((s for s in COMPRESSION_SUFFIXES if lower.endswith(s)), "")
            link = os.path.join(folder, f"{index}.fits{suffix}")
            os.symlink(os.path.abspath(texts[index]), link)
            texts[index] = link
        yield texts


def read_image(path: str | os.PathLike, hdu: int) -> np.ndarray:
    """Read the 2-D image of HDU ``hdu`` in its stored type (BZERO applied by fitsio).

    Raises
    ------
    FrameError
        If fitsio cannot read the pixels (a truncated or corrupt file).
    """
    try:
        with cfitsio_paths([path]) as (literal,):
            data = fitsio.read(literal, ext=hdu)
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise FrameError(path, f"cannot read the image in HDU {hdu}: {err}") from None
    if data is None or data.ndim < 2:
        raise FrameError(path, f"HDU {hdu} holds no 2-D image")
    return data.reshape(data.shape[-2:]) if data.ndim > 2 else data


def check_fits_complete(path: str | os.PathLike) -> None:
    """Raise ``OSError`` if the file is shorter than its FITS structure says.

    cfitsio does not always report a failed write (on a full disk it can close a short
    file without an error), so every FITS product is checked before it is renamed into
    place.
    """
    with fitsio.FITS(str(path)) as fits:
        end = fits[-1].get_offsets()["data_end"]
    needed = -(-end // BLOCK) * BLOCK
    size = os.path.getsize(path)
    if size < needed:
        raise OSError(
            errno.ENOSPC,
            f"the file was cut short ({size} of {needed} bytes written; is the disk full?)",
        )


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, check=None):
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    The temporary file lives in the destination folder (so the rename is atomic on one
    file system) and is removed if the block raises.  Its name is derived from the final
    name, so a job killed outright leaves at most one stale temporary file, which the
    next attempt at the same output replaces.  A failure to write (a full disk, a
    read-only folder) ends as an :class:`OutputError` naming the file.

    Parameters
    ----------
    path : path-like
    check : callable, optional
        Called with the temporary path before the rename; raises ``OSError`` if the file
        is not whole (e.g. :func:`check_fits_complete`).
    """
    path = Path(path)
    # cfitsio reads meaning into some file names ('[', '!', a '.gz' ending), so the
    # temporary name is plain whatever the final one is.
    digest = hashlib.sha256(path.name.encode()).hexdigest()[:16]
    temporary = path.with_name(f".partial-{digest}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.unlink(missing_ok=True)
        yield temporary
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except OSError as err:
        raise OutputError(path, f"cannot write: {_write_failure(err, path.parent)}") from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove, or nowhere to remove it
            temporary.unlink(missing_ok=True)


def _write_failure(err: OSError, folder: Path) -> str:
    reason = err.strerror or str(err)
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(folder).free
        if free < 10 * 2**20:
            reason += f" (the disk holding {folder} has {free} bytes free)"
    return reason
