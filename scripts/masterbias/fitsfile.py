"""FITS input and output of the jobs through fitsio: images, headers, atomic writes.

Images are read with fitsio, and every output is written to a temporary file in the
destination folder and renamed into place, so an interrupted job never leaves a
half-written FITS that a rerun would trust.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import fitsio
import numpy as np
from isal import igzip, isal_zlib

from .errors import FrameError, OutputError
from .rawfile import BLOCK, image_shape, is_structural

__all__ = [
    "RawFile",
    "open_raw",
    "cfitsio_paths",
    "image_hdus",
    "data_hdus",
    "calibrated_name",
    "fits_text",
    "clean_header",
    "read_image",
    "atomic_output",
    "check_fits_complete",
]

COMPRESSION_SUFFIXES = (".gz", ".fz")


def calibrated_name(raw_name: str) -> str:
    """The name of a calibrated frame: the raw name (or relative path) without
    ``.gz``/``.fz``."""
    for suffix in COMPRESSION_SUFFIXES:
        if raw_name.lower().endswith(suffix):
            return raw_name[: -len(suffix)]
    return raw_name


def fits_text(text: str) -> str:
    """``text`` as a FITS header string: ASCII only, other characters as ``\\xNN`` escapes."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


#: The COMMENT cards that FITS writers add to every primary header; copied, they pile up.
_STANDARD_COMMENTS = ("FITS (Flexible Image Transport System) format is", "and Astrophysics',")


def clean_header(header: fitsio.FITSHDR) -> fitsio.FITSHDR:
    """A copy of ``header`` without the keywords that describe pixel storage."""
    cleaned = fitsio.FITSHDR()
    for record in header.records():
        name = record["name"].upper()
        if is_structural(name):
            continue
        if name == "COMMENT" and str(record.get("value", "")).strip().startswith(
            _STANDARD_COMMENTS
        ):
            continue
        cleaned.add_record(record)
    return cleaned


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


@dataclass(frozen=True)
class RawFile:
    """A raw FITS file opened for a job: the fitsio handle, and the SHA-256 of its bytes.

    Attributes
    ----------
    fits : fitsio.FITS
    digest : str
        SHA-256 (hex) of the file's bytes as stored (compressed, for ``.gz``).
    """

    fits: fitsio.FITS
    digest: str


@contextlib.contextmanager
def open_raw(path: str | os.PathLike):
    """Open a raw FITS file with fitsio; yield a :class:`RawFile`.

    A ``.gz`` file is decompressed here (with ISA-L's igzip, faster than zlib), its gzip
    checksum and length checked (cfitsio does not check them, and reads some damaged files
    as wrong pixels without a word), into a temporary file that fitsio reads.

    Raises
    ------
    FrameError
        If the file cannot be read or its compression is damaged.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            stored = stream.read()
    except OSError as err:
        raise FrameError(path, f"cannot read: {err.strerror or err}") from None
    digest = hashlib.sha256(stored).hexdigest()
    with contextlib.ExitStack() as stack:
        if path.lower().endswith(".gz"):
            try:
                plain = igzip.decompress(stored)
            except (EOFError, OSError, isal_zlib.error) as err:
                raise FrameError(path, f"the .gz is damaged or cut short: {err}") from None
            del stored
            temporary = stack.enter_context(
                tempfile.NamedTemporaryFile(prefix="masterbias-", suffix=".fits")
            )
            temporary.write(plain)
            temporary.flush()
            del plain
            literal = temporary.name
        else:
            (literal,) = stack.enter_context(cfitsio_paths([path]))
        try:
            fits = stack.enter_context(fitsio.FITS(literal))
        except OSError as err:
            raise FrameError(path, f"cannot read: {err}") from None
        yield RawFile(fits, digest)


def image_hdus(fits: fitsio.FITS) -> list:
    """The HDUs of an open file that hold a 2-D image
    (:func:`masterbias.rawfile.image_shape`), in file order."""
    return [hdu for hdu in fits if hdu.get_exttype() == "IMAGE_HDU"
            and image_shape(hdu.get_dims()[::-1]) is not None]  # fmt: skip


def data_hdus(fits: fitsio.FITS) -> list:
    """The data HDUs of a product (a calibrated frame or a master): its image, or each
    extension's of a mosaic, not the planes of a master beside them."""
    from .keywords import Planes

    images = image_hdus(fits)
    return [images[position] for position in
            Planes.data_of([hdu.get_extname() or None for hdu in images])]  # fmt: skip


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
    name, this host and this process, so two runs writing into one ``out_dir`` never
    share one; the temporary files a killed job left (its process is gone) are removed by
    the next attempt at the same output.  A failure to write (a full disk, a read-only
    folder) ends as an :class:`OutputError` naming the file.

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
    prefix = f".partial-{hashlib.sha256(path.name.encode()).hexdigest()[:16]}-"
    temporary = path.with_name(f"{prefix}{_HOST}-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(path.parent, prefix)
        yield temporary
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except OSError as err:
        raise OutputError(path, f"cannot write: {_write_failure(err, path.parent)}") from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove, or nowhere to remove it
            temporary.unlink(missing_ok=True)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(2**22):
            digest.update(block)
    return digest.hexdigest()


def write_if_changed(path: str | os.PathLike, text: str) -> bool:
    """Write ``text`` to ``path`` (atomically) unless it holds it already, so that its
    modification time says when its content last changed; whether it was written."""
    path = Path(path)
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass  # not there, or not what we write: write it
    with atomic_output(path) as temporary:
        temporary.write_text(text)
    return True


def write_csv(path: str | os.PathLike, rows, columns: list[str]) -> None:
    """Write ``rows`` (dicts) as CSV with ``columns``, atomically: missing values empty,
    floats to 6 significant digits, other keys of a row ignored."""
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_value(row.get(key)) for key in columns})


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


#: This host, as temporary names carry it (no '-' so that the pid can be split off).
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname()) or "host"


def _remove_abandoned(folder: Path, prefix: str) -> None:
    """Remove temporary files of ``prefix`` left by processes of this host that are gone."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not entry.name.startswith(prefix):
                continue
            host, _, pid = entry.name[len(prefix) :].rpartition("-")
            if host == _HOST and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_failure(err: OSError, folder: Path) -> str:
    reason = err.strerror or str(err)
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(folder).free
        if free < 10 * 2**20:
            reason += f" (the disk holding {folder} has {free} bytes free)"
    return reason
