"""Frame layouts: which pixels of a raw frame are light, which are overscan, where they go.

A layout is a list of amplifiers.  Each amplifier has its light section, its own overscan
section, and the place its light lands in the calibrated image, so that cameras read
through several amplifiers need a longer list, not different rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError, FrameError
from .sections import Section, SectionError, parse_section

__all__ = ["Amplifier", "FrameLayout", "LayoutSpec", "OVERSCAN_METHODS"]

OVERSCAN_METHODS = ("median", "mean", "none")


@dataclass(frozen=True)
class Amplifier:
    """One amplifier's pixels in raw coordinates and its place in the calibrated image.

    Attributes
    ----------
    name : str
        Label used in logs and header keywords.
    light : Section
        The raw pixels kept (the trim section).
    overscan : Section or None
        Serial overscan columns; each row of ``light`` is corrected by the same row here.
    output : Section
        Where ``light`` lands in the calibrated image.
    """

    name: str
    light: Section
    overscan: Section | None
    output: Section


@dataclass(frozen=True)
class FrameLayout:
    """A raw frame's geometry resolved against its header: everything calibration needs."""

    raw_shape: tuple[int, int]
    amplifiers: tuple[Amplifier, ...]
    overscan_method: str

    @property
    def output_shape(self) -> tuple[int, int]:
        """numpy shape of the calibrated image."""
        rows = max(amp.output.y2 for amp in self.amplifiers)
        cols = max(amp.output.x2 for amp in self.amplifiers)
        return rows, cols

    def describe(self) -> list[str]:
        """Log lines that show every region in FITS and numpy form."""
        lines = [f"raw image {self.raw_shape[0]} rows x {self.raw_shape[1]} columns"]
        for amp in self.amplifiers:
            overscan = amp.overscan.describe() if amp.overscan else "none"
            lines.append(f"amplifier {amp.name}: light {amp.light.describe()}")
            lines.append(f"amplifier {amp.name}: overscan ({self.overscan_method}) {overscan}")
            lines.append(f"amplifier {amp.name}: output {amp.output.describe()}")
        return lines


def _header_section(header, keywords, shape, path, purpose) -> Section:
    for keyword in keywords:
        if keyword in header:
            try:
                return parse_section(str(header[keyword]), shape)
            except SectionError as err:
                raise FrameError(path, f"header {keyword} for the {purpose}: {err}") from None
    names = " or ".join(keywords)
    raise FrameError(
        path,
        f"the header has no {names}, which the config asks for ('header') as the "
        f"{purpose}; give the region in the config instead",
    )


@dataclass(frozen=True)
class LayoutSpec:
    """The layout as configured, before it meets a frame's header.

    Attributes
    ----------
    overscan_method : {'median', 'mean', 'none'}
    overscan_region : str
        A FITS section, or ``'header'`` for BIASSEC.
    trim_region : str
        A FITS section, ``'header'`` for TRIMSEC then DATASEC, or ``'none'``.
    """

    overscan_method: str
    overscan_region: str
    trim_region: str

    @classmethod
    def from_config(cls, config: dict) -> LayoutSpec:
        """Build from the workflow config's ``overscan`` and ``trim`` blocks."""
        method = config["overscan"]["method"]
        if method not in OVERSCAN_METHODS:
            raise ConfigError("overscan.method", f"{method!r} is not one of {OVERSCAN_METHODS}")
        return cls(
            overscan_method=method,
            overscan_region=str(config["overscan"].get("region", "header")),
            trim_region=str(config["trim"].get("region", "none")),
        )

    def resolve(self, header, shape: tuple[int, int], path) -> FrameLayout:
        """Resolve the regions for one frame of numpy ``shape`` with ``header``.

        Raises
        ------
        FrameError
            If a region is malformed, outside the image, missing from the header, or
            inconsistent (overscan rows that do not cover the light rows).
        """
        full = Section.full(shape)
        if self.trim_region.lower() == "none":
            light = full
        elif self.trim_region.lower() == "header":
            light = _header_section(header, ("TRIMSEC", "DATASEC"), shape, path, "trim region")
        else:
            light = self._config_section(self.trim_region, "trim.region", shape, path)

        overscan = None
        if self.overscan_method != "none":
            if self.overscan_region.lower() == "header":
                overscan = _header_section(header, ("BIASSEC",), shape, path, "overscan region")
            elif self.overscan_region.lower() == "none":
                raise ConfigError(
                    "overscan.region",
                    f"is 'none' but overscan.method is {self.overscan_method!r}; "
                    "give a region or set overscan.method: none",
                )
            else:
                overscan = self._config_section(
                    self.overscan_region, "overscan.region", shape, path
                )
            if not (overscan.y1 <= light.y1 and light.y2 <= overscan.y2):
                raise FrameError(
                    path,
                    f"overscan {overscan.fits} covers rows {overscan.y1}:{overscan.y2} but the "
                    f"light region {light.fits} needs rows {light.y1}:{light.y2}; a per-row "
                    "correction needs an overscan value for every light row",
                )
            if light != full and overscan.overlaps(light):
                raise FrameError(
                    path,
                    f"overscan {overscan.fits} overlaps the light region {light.fits}",
                )
        output = Section.full(light.shape)
        amplifier = Amplifier(name="1", light=light, overscan=overscan, output=output)
        return FrameLayout(
            raw_shape=tuple(shape), amplifiers=(amplifier,), overscan_method=self.overscan_method
        )

    @staticmethod
    def _config_section(text, key, shape, path) -> Section:
        try:
            return parse_section(text, shape)
        except SectionError as err:
            raise FrameError(path, f"config {key}: {err}") from None
