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


def read_at(descriptor: int, buffer, offset: int, name: str, preadv=os.preadv) -> None:
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
    preadv : callable
        ``os.preadv`` (another function that reads as it does, in tests).

    Raises
    ------
    FrameError
        If the file ends before the buffer is full.
    """
    view = memoryview(buffer).cast("B")
    done = 0
    while done < len(view):
        count = preadv(descriptor, [view[done:]], offset + done)
        if count == 0:
            raise FrameError(
                name,
                f"is cut short: it ends at byte {offset + done}, {len(view) - done} bytes "
                f"before the end of the {len(view)} bytes read from byte {offset}",
            )
        done += count


def write_at(descriptor: int, buffer, offset: int, path: str, pwritev=os.pwritev) -> None:
    """Write all of ``buffer`` into the file from ``offset`` on.

    Raises
    ------
    OSError
        If a write moves nothing (the file system refuses to go on).
    """
    view = memoryview(buffer).cast("B")
    done = 0
    while done < len(view):
        count = pwritev(descriptor, [view[done:]], offset + done)
        if count == 0:
            raise OSError(errno.EIO, f"wrote {done} of {len(view)} bytes at {offset}", path)
        done += count
