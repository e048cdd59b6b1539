"""Leaving out bad frames before the combination: outliers in level, noise or structure.

Each calibrated bias carries its light statistics in the header (CALMED, CALRMS, CALGRAD,
written by the frame job) and its overscan level (OVSCLEV1, its first amplifier's).  A
frame is left out when one of these lies further from the set's median than ``sigma``
robust standard deviations of the set, the spread being at least a tenth of the typical
noise (so that a very quiet set does not reject frames for differences of a few
hundredths of an ADU).  Never silent: every frame left out is returned with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import keywords as kw
from .stats import robust_std

__all__ = ["FrameMetrics", "screen_frames"]

METRICS = {
    "overscan_level": "overscan level",
    "median": "median",
    "noise": "noise",
    "gradient": "gradient",
}


@dataclass(frozen=True)
class FrameMetrics:
    """What the screening compares, ADU (None where unknown)."""

    name: str
    overscan_level: float | None
    median: float | None
    noise: float | None
    gradient: float | None

    @classmethod
    def from_header(cls, name: str, header) -> FrameMetrics:
        """From the keywords a calibrated image carries (the first amplifier's level)."""
        return cls(name, kw.OVSCLEV.read(header, 1), kw.CALMED.read(header),
                   kw.CALRMS.read(header), kw.CALGRAD.read(header))  # fmt: skip


def screen_frames(frames: list[FrameMetrics], sigma: float, min_frames: int = 5) -> dict[str, str]:
    """The frames to leave out, name -> reason; none if fewer than ``min_frames``."""
    if len(frames) < min_frames:
        return {}
    noises = [f.noise for f in frames if f.noise is not None]
    floor = 0.1 * float(np.median(noises)) if noises else 0.0
    excluded: dict[str, str] = {}
    for attribute, label in METRICS.items():
        values = np.array([getattr(f, attribute) for f in frames], dtype=float)
        known = np.isfinite(values)
        if known.sum() < min_frames:
            continue
        centre = float(np.median(values[known]))
        spread = max(robust_std(values[known]), floor)
        if spread == 0:
            continue
        for frame, value in zip(frames, values, strict=True):
            if not np.isfinite(value) or frame.name in excluded:
                continue
            distance = (value - centre) / spread
            if abs(distance) > sigma:
                side = "above" if distance > 0 else "below"
                excluded[frame.name] = (
                    f"{label} {value:.3f} ADU is {abs(distance):.1f} sigma {side} the set's "
                    f"{centre:.3f} ADU (spread {spread:.3f} ADU)"
                )
    return excluded
