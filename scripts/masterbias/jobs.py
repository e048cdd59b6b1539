"""What every job script shares: a log file, and one clear line for bad input."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

from .errors import MasterBiasError

__all__ = ["job_logger", "run_job"]


def job_logger(name: str, log_path: str | None) -> logging.Logger:
    """A logger that writes to the job's log file and to stderr."""
    logger = logging.getLogger(f"masterbias.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


#: The exit status of a job stopped by SIGTERM (128 + the signal's number, as a shell says).
STOPPED_STATUS = 128 + signal.SIGTERM


def _stop(signum, frame):
    raise SystemExit(STOPPED_STATUS)


def run_job(work: Callable[[logging.Logger], None], name: str, log_path: str | None) -> None:
    """Run ``work`` with a logger; bad input ends the job with its one-line message.

    Other exceptions are bugs: they are logged with their traceback and re-raised.  A
    SIGTERM (the run being stopped) ends the job through its ``finally`` blocks, so that
    it leaves no temporary file behind.
    """
    signal.signal(signal.SIGTERM, _stop)
    logger = job_logger(name, log_path)
    try:
        work(logger)
    except MasterBiasError as err:
        logger.error("%s", err)
        raise SystemExit(f"masterbias: {err}") from None
    except Exception:
        logger.exception("%s failed", name)
        raise
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
