"""Bytes read and written at an offset of a file, whole, without holding Python's lock.

The combine reads bands of rows of the calibrated frames and writes bands of the master at
their places in the files (:mod:`masterbias.stacking`) with ``os.preadv`` and
``os.pwritev``, which release the GIL, so that one thread reads or writes while another
combines.  Either may transfer fewer bytes than asked: on a network file system (NFS,
Lustre), where archives live, a short transfer is legal and means "go on from here".
These functions go on until every byte is moved; only a read that moves nothing at all
(the file ends) is an error.
"""

from __future__ import annotations

import errno
import os

from .errors import FrameError

__all__ = ["read_at", "write_at"]


def _transfer(move, descriptor: int, buffer, offset: int) -> int:
    """Call ``move`` (``os.preadv`` or ``os.pwritev``) until the whole buffer is moved or a
    call moves nothing; the number of bytes moved."""
    view = memoryview(buffer).cast("B")
    done = 0
    while done < len(view):
        count = move(descriptor, [view[done:]], offset + done)
        if count == 0:
            break
        done += count
    return done


def read_at(descriptor: int, buffer, offset: int, name: str, preadv=None) -> None:
    """Fill ``buffer`` (any writable buffer: a numpy array) with the bytes of the file
    from ``offset`` on.

    Parameters
    ----------
    descriptor : int
        An open file.
    buffer : writable buffer
    offset : int
    name : str
        The file, for the error.
    preadv : callable, optional
        Reads as ``os.preadv`` does (the default, looked up at each call).

    Raises
    ------
    FrameError
        If the file ends before the buffer is full.
    """
    size = memoryview(buffer).nbytes
    done = _transfer(preadv or os.preadv, descriptor, buffer, offset)
    if done < size:
        raise FrameError(
            name,
            f"is cut short: it ends at byte {offset + done}, {size - done} bytes before the "
            f"end of the {size} bytes read from byte {offset}",
        )


def write_at(descriptor: int, buffer, offset: int, path: str, pwritev=None) -> None:
    """Write all of ``buffer`` into the file from ``offset`` on (with ``pwritev``, by
    default ``os.pwritev`` looked up at each call).

    Raises
    ------
    OSError
        If a write moves nothing (the file system refuses to go on).
    """
    size = memoryview(buffer).nbytes
    done = _transfer(pwritev or os.pwritev, descriptor, buffer, offset)
    if done < size:
        raise OSError(errno.EIO, f"wrote {done} of {size} bytes at {offset}", path)
