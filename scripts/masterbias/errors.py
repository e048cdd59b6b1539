"""The errors a user may see: each names what is wrong and where, in one line."""

from __future__ import annotations

import os

__all__ = ["MasterBiasError", "FrameError", "ConfigError", "OutputError"]


class MasterBiasError(Exception):
    """Base class of the errors this package raises on bad input."""


class FrameError(MasterBiasError):
    """A raw or calibrated frame cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())  # one line, whatever cfitsio said
        super().__init__(f"{self.path}: {self.reason}")


class OutputError(FrameError):
    """A product cannot be written; the message names the file and the reason."""


class ConfigError(MasterBiasError):
    """The configuration cannot work; the message names the key and what is allowed."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = " ".join(str(reason).split())
        super().__init__(f"config key {key!r}: {self.reason}")
