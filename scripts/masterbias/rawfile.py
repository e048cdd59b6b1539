"""What a raw FITS file holds, read from its headers alone, for planning a run.

Headers are read block by block from the start of the file (through a gzip stream for
``.gz``), seeking over the data, so that planning a night of compressed frames does not
decompress whole images; each header is parsed as a whole by astropy
(``Header.fromstring``), which reads ``CONTINUE`` long strings, ``HIERARCH`` keywords and
repeated keywords as astropy users expect.  Bytes that are not printable ASCII are read as
``?`` (as fitsio and astropy read them) and reported, not fatal.

Only the planning process reads headers this way; per-frame jobs read their file with
fitsio.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import FrameError

__all__ = [
    "BLOCK", "ImageHDU", "RawHeader", "read_raw_header", "is_structural", "image_shape",
    "is_mosaic", "image_labels", "choose_images",
]  # fmt: skip

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
        "ZHECKSUM", "ZDATASUM", "THEAP", "TFIELDS",
    }
)  # fmt: skip
_STRUCTURAL_PREFIXES = ("NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "TTYPE", "TFORM")

#: HDUs read at most: a header that claims more is not a camera's file.
MAX_HDUS = 1000


def image_shape(naxes) -> tuple[int, int] | None:
    """The numpy shape ``(rows, columns)`` of the 2-D image of an HDU whose axes are
    ``naxes`` (NAXIS1, NAXIS2, ... as the header has them), or None when it holds none: an
    image has two axes, or more of length 1, none of them empty."""
    naxes = tuple(naxes)
    if len(naxes) < 2 or min(naxes) <= 0 or any(size != 1 for size in naxes[2:]):
        return None
    return naxes[1], naxes[0]


def is_mosaic(images: int) -> bool:
    """Whether a raw file with this many images is a mosaic's: its products then hold one
    HDU per image, named after it, behind an empty primary HDU (a single image is in the
    primary HDU of its products)."""
    return images > 1


def is_structural(name: str) -> bool:
    """Whether header keyword ``name`` describes pixel storage rather than the data."""
    return name in STRUCTURAL_KEYWORDS or (
        name.startswith(_STRUCTURAL_PREFIXES) and name[len(name.rstrip("0123456789")) :] != ""
    )


@dataclass(frozen=True)
class ImageHDU:
    """One HDU of a raw file that holds a 2-D image.

    Attributes
    ----------
    index : int
        HDU number in the file (0 = primary).
    label : str
        How the configuration and the products name it (:func:`image_labels`).
    name : str
        Its EXTNAME ('' when it has none).
    version : int or None
        Its EXTVER.
    shape : tuple of int
        numpy shape ``(rows, columns)`` = ``(NAXIS2, NAXIS1)`` of the image (of the
        uncompressed image for a tile-compressed HDU).
    keywords : dict
        Its own keywords (for the primary HDU, the primary header's).
    """

    index: int
    label: str
    name: str
    version: int | None
    shape: tuple[int, int]
    keywords: dict

    def to_json(self) -> dict:
        return {
            "index": self.index, "label": self.label, "name": self.name,
            "version": self.version, "shape": list(self.shape), "keywords": self.keywords,
        }  # fmt: skip

    @classmethod
    def from_json(cls, entry: dict) -> ImageHDU:
        return cls(entry["index"], entry["label"], entry["name"], entry["version"],
                   tuple(entry["shape"]), entry["keywords"])  # fmt: skip


def image_labels(hdus: list[tuple[int, str, int | None]]) -> list[str]:
    """How the configuration and the products name each image HDU of a file.

    ``hdus`` holds ``(index, EXTNAME, EXTVER)`` of each image HDU.  A label is the EXTNAME
    when no other image HDU of the file has it, ``EXTNAME_EXTVER`` when several do (Gemini
    names every amplifier SCI), and ``HDU<n>`` for an HDU without a name (raw GMOS files).
    """
    names = [name for _, name, _ in hdus]
    labels = []
    for index, name, version in hdus:
        if not name:
            labels.append(f"HDU{index}")
        elif names.count(name) > 1:
            labels.append(f"{name}_{version if version is not None else index}")
        else:
            labels.append(name)
    return labels


def choose_images(labels: list[str], indices: list[int], extensions, path) -> list[int]:
    """Positions (in ``labels``) of the image HDUs the configuration's ``extensions`` asks
    for: ``'all'``, or a list of labels (EXTNAMEs, compared without regard to case) and
    HDU numbers, in the list's order.

    Raises
    ------
    FrameError
        Naming the file and the extension it lacks.
    """
    if extensions == "all":
        return list(range(len(labels)))
    chosen = []
    for wanted in extensions:
        if isinstance(wanted, int):
            found = [i for i, index in enumerate(indices) if index == wanted]
            what = f"HDU {wanted} holding an image"
        else:
            found = [i for i, label in enumerate(labels) if label.upper() == wanted.upper()]
            what = f"image extension {wanted!r}"
        if not found:
            raise FrameError(
                path,
                f"has no {what} (config 'extensions'; its image HDUs are {', '.join(labels)})",
            )
        chosen.append(found[0])
    return chosen


@dataclass(frozen=True)
class RawHeader:
    """What a raw file's headers say.

    Attributes
    ----------
    primary : dict
        Keywords of the primary header.
    images : tuple of ImageHDU
        Every HDU holding a 2-D image, in file order.
    notes : tuple of str
        What was read with a correction (non-ASCII bytes), for the user to hear of.
    """

    primary: dict
    images: tuple[ImageHDU, ...]
    notes: tuple[str, ...] = ()

    @property
    def keywords(self) -> dict:
        """The keywords a frame is selected and grouped by: the primary header's, with
        those of its first image HDU over them (an image HDU inherits the primary)."""
        first = self.images[0]
        return self.primary if first.index == 0 else {**self.primary, **first.keywords}

    def hdu_keywords(self, image: ImageHDU) -> dict:
        """An image HDU's keywords over the primary header's."""
        return self.primary if image.index == 0 else {**self.primary, **image.keywords}

    def to_json(self) -> dict:
        return {
            "primary": self.primary,
            "images": [image.to_json() for image in self.images],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, entry: dict) -> RawHeader:
        images = tuple(ImageHDU.from_json(image) for image in entry["images"])
        return cls(entry["primary"], images, tuple(entry["notes"]))


_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")


def _printable(raw: bytes) -> tuple[str, bool]:
    """The header bytes as text, every byte that is not printable ASCII as ``?``."""
    text, replaced = _NOT_PRINTABLE.subn(b"?", raw)
    return text.decode("ascii"), bool(replaced)


def _read_header_blocks(stream, path, primary: bool) -> bytes | None:
    """One header's bytes (up to and including its END card) from a stream of 2880-byte
    blocks; None at a clean end of file before an extension header."""
    raw = b""
    while True:
        block = stream.read(BLOCK)
        if not raw and not block:
            if primary:
                raise FrameError(path, "file is empty (0 bytes)")
            return None
        if primary and not raw and not block.startswith(b"SIMPLE  ="):
            raise FrameError(path, "not a FITS file (it does not start with SIMPLE)")
        if not primary and not raw and not block.startswith(b"XTENSION="):
            return None  # trailing bytes after the last HDU are not an extension
        if len(block) < BLOCK:
            raise FrameError(path, "file ends inside a FITS header (truncated or not FITS)")
        raw += block
        for offset in range(0, BLOCK, CARD):
            if block[offset : offset + 8] == b"END     ":
                return raw


def _value(value):
    if isinstance(value, str):
        return value.rstrip()  # trailing spaces are not significant in FITS strings
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if type(value).__name__ == "Undefined":
        return None
    return str(value)


def _parse(raw: bytes, path, keep: frozenset | None) -> tuple[dict, dict, bool]:
    """Keywords (those in ``keep``, every one when None; the first value of a repeated
    keyword wins, as astropy's ``header[key]``), structural keywords, and whether non-ASCII
    bytes were replaced.  Only the values kept are parsed."""
    from astropy.io import fits

    text, replaced = _printable(raw)
    keywords: dict = {}
    structural: dict = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy warns of odd but readable cards
            header = fits.Header.fromstring(text)
            for card in header.cards:
                name = card.keyword.upper()
                if name in ("COMMENT", "HISTORY", "", "CONTINUE"):
                    continue
                target = structural if is_structural(name) else keywords
                if name in target or (target is keywords and keep is not None
                                      and name not in keep):  # fmt: skip
                    continue
                target[name] = _value(card.value)
    except Exception as err:  # astropy raises several types for a card it cannot read
        reason = " ".join(str(err).split())[:200]
        raise FrameError(path, f"unreadable header: {reason}") from None
    return keywords, structural, replaced


@dataclass(frozen=True)
class _Structure:
    """The keywords that say how an HDU's data are laid out, checked."""

    bitpix: int
    dims: tuple[int, ...]
    pcount: int
    gcount: int
    image_dims: tuple[int, ...] | None  # ZNAXISn of a tile-compressed image

    @classmethod
    def from_keywords(cls, structural: dict, path) -> _Structure:
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
        image_dims = None
        if structural.get("ZIMAGE") is True:
            znaxis = integer("ZNAXIS")
            image_dims = tuple(integer(f"ZNAXIS{axis}") for axis in range(1, min(znaxis, 999) + 1))
        return cls(bitpix, dims, integer("PCOUNT", 0), integer("GCOUNT", 1), image_dims)

    @property
    def data_bytes(self) -> int:
        """Bytes of the data unit, before padding to whole blocks."""
        if not self.dims:
            return 0
        count = 1
        for size in self.dims:
            count *= size
        return abs(self.bitpix) // 8 * self.gcount * (count + self.pcount)

    @property
    def padded_bytes(self) -> int:
        return -(-self.data_bytes // BLOCK) * BLOCK

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """numpy shape of the 2-D image this HDU holds, or None."""
        return image_shape(self.image_dims if self.image_dims is not None else self.dims)


def _gzip_size(path) -> int | None:
    """The uncompressed size a gzip file records in its last four bytes (mod 2**32)."""
    with open(path, "rb") as stream:
        if stream.seek(0, os.SEEK_END) < 4:
            return None
        stream.seek(-4, os.SEEK_END)
        return struct.unpack("<I", stream.read(4))[0]


def read_raw_header(path: str | os.PathLike, keep: frozenset | None = None) -> RawHeader:
    """Read every header of a FITS file and find its 2-D images, skipping the data.

    Parameters
    ----------
    path : path-like
        A FITS file, optionally gzip-compressed (``.gz``); tile-compressed images
        (``.fz``) are found by their ``ZIMAGE`` header.
    keep : frozenset of str, optional
        The keywords to read (upper case, without ``HIERARCH``); every one when None.  A
        header of hundreds of cards is then read for the few a run uses.

    Returns
    -------
    RawHeader

    Raises
    ------
    FrameError
        If the file cannot be read, is not FITS, or holds no 2-D image.
    """
    path = Path(path)
    packed = path.name.lower().endswith(".gz")
    primary: dict = {}
    images: list[ImageHDU] = []
    notes: list[str] = []
    try:
        # a gzip file records its uncompressed size: where it ends, there is nothing more
        # to find, and the data need not be decompressed to find that out
        end = _gzip_size(path) if packed else None
        with gzip.open(path, "rb") if packed else open(path, "rb") as stream:
            position = 0
            for index in range(MAX_HDUS):
                raw = _read_header_blocks(stream, path, primary=index == 0)
                if raw is None:
                    break
                keywords, structural, replaced = _parse(raw, path, keep)
                if replaced and not notes:
                    notes.append("non-ASCII bytes in the header were read as '?'")
                structure = _Structure.from_keywords(structural, path)
                if index == 0:
                    primary = keywords
                shape = structure.image_shape
                if shape is not None:
                    name = str(structural.get("EXTNAME") or "").strip()
                    if name == "COMPRESSED_IMAGE":  # fpack's name for a primary image
                        name = ""
                    version = structural.get("EXTVER")
                    version = int(version) if isinstance(version, int) else None
                    own = {} if index == 0 else keywords
                    images.append(ImageHDU(index, "", name, version, shape, own))
                position += len(raw) + structure.padded_bytes
                if end == position % 2**32:
                    break
                # seek, not read: a (corrupt) header may claim terabytes of data
                stream.seek(position)
    except FrameError:
        raise
    except EOFError as err:
        raise FrameError(path, f"the file is cut short (truncated): {err}") from None
    except (OSError, zlib.error) as err:
        raise FrameError(path, f"cannot read: {err}") from None
    if not images:
        raise FrameError(path, "holds no 2-D image in any HDU")
    labels = image_labels([(image.index, image.name, image.version) for image in images])
    images = [replace(image, label=label) for image, label in zip(images, labels, strict=True)]
    return RawHeader(primary, tuple(images), tuple(notes))
