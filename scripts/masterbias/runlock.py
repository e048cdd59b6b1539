"""One run at a time on an ``out_dir``, whatever folder it was started from.

Snakemake locks the files of a run per working directory (``.snakemake/locks``), so two
runs started from two folders (two cron entries, a user and a cron job) on one ``out_dir``
would both run every job.  The main process of a run holds :data:`LOCK_NAME` in
``out_dir`` with ``flock`` for as long as it lives: the lock goes with the process however
it ends (even ``kill -9``), so it never needs removing by hand on a local disk, and the
file says who holds it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import sys
import time

from .errors import MasterBiasError

__all__ = ["LOCK_NAME", "OutDirBusy", "RunLock"]

#: The lock file in out_dir.
LOCK_NAME = ".masterbias.lock"


class OutDirBusy(MasterBiasError):
    """Another run holds the out_dir."""


class RunLock:
    """The lock of one ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = os.fspath(out_dir)
        self.path = os.path.join(self.out_dir, LOCK_NAME)
        self._descriptor: int | None = None
        #: Why the lock could not be used at all (a file system without locks), or None.
        self.unsupported: str | None = None

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def _try(self) -> tuple[int | None, bool]:
        """(descriptor holding the lock or None, whether another process holds it)."""
        os.makedirs(self.out_dir, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(descriptor)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None, True
            self.unsupported = err.strerror or str(err)
            return None, False
        return descriptor, False

    def holder(self) -> str:
        """Who holds the lock, as its file says."""
        try:
            with open(self.path) as stream:
                text = " ".join(stream.read().split())
        except OSError:
            text = ""
        return text or "a process that has not said who it is"

    def busy_message(self) -> str:
        return (
            f"out_dir {self.out_dir!r} is in use by another run ({self.holder()}): wait for "
            "it to end, or stop it (SIGTERM or Ctrl-C stops it cleanly). The lock ends with "
            "the process that holds it, so a run that is gone leaves none on a local disk; on "
            "a network file system whose host crashed, remove "
            f"{os.path.join(self.out_dir, LOCK_NAME)!r} once you are sure no run uses it"
        )

    def acquire(self) -> None:
        """Hold the lock until this process ends (or :meth:`release`).

        Raises
        ------
        OutDirBusy
            If another process holds it.
        """
        if self.held:
            return
        descriptor, busy = self._try()
        if busy:
            raise OutDirBusy(self.busy_message())
        if descriptor is None:
            return  # no locks on this file system: self.unsupported says why
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        command = " ".join(os.path.basename(arg) if i == 0 else arg
                           for i, arg in enumerate(sys.argv))[:200]  # fmt: skip
        info = (f"pid {os.getpid()} on host {socket.gethostname()}, started {started} in "
                f"{os.getcwd()}: {command}\n")  # fmt: skip
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, info.encode(errors="replace"), 0)
        self._descriptor = descriptor

    def busy(self) -> bool:
        """Whether another process holds the lock now (this one does not take it)."""
        if self.held:
            return False
        descriptor, busy = self._try()
        if descriptor is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
        return busy

    def release(self) -> None:
        if self._descriptor is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
            os.close(self._descriptor)
            self._descriptor = None
