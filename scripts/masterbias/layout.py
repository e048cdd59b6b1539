"""Frame layouts: which pixels of a raw frame are light, which are overscan, where they go.

A layout is a list of amplifiers.  Each amplifier has its light section, its own overscan
section, and the place its light lands in the calibrated image, so that cameras read
through several amplifiers need a longer list, not different rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .errors import ConfigError, FrameError
from .overscan_model import OverscanModel
from .sections import Section, SectionError, parse_section

__all__ = ["Amplifier", "FrameLayout", "LayoutSpec"]


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
        Serial overscan (or prescan) columns; each row of ``light`` is corrected by the
        same row here.
    output : Section
        Where ``light`` lands in the calibrated image.
    parallel : Section or None
        Parallel overscan rows; each column of ``light`` is corrected by the same column
        here (after the serial correction, when there is one).
    """

    name: str
    light: Section
    overscan: Section | None
    output: Section
    parallel: Section | None = None


@dataclass(frozen=True)
class FrameLayout:
    """A raw frame's geometry resolved against its header: everything calibration needs."""

    raw_shape: tuple[int, int]
    amplifiers: tuple[Amplifier, ...]
    overscan_method: str
    overscan_model: OverscanModel

    @property
    def kept(self) -> Section:
        """Bounding box, in raw coordinates, of the light sections of all amplifiers."""
        return bounding_box([amp.light for amp in self.amplifiers])

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


def bounding_box(sections: list[Section]) -> Section:
    """The smallest section holding all ``sections``."""
    return Section(
        min(s.x1 for s in sections),
        max(s.x2 for s in sections),
        min(s.y1 for s in sections),
        max(s.y2 for s in sections),
    )


#: What ``header`` means as a region: the keywords tried, in order.
HEADER_DEFAULTS = {"overscan.region": ("BIASSEC",), "trim.region": ("TRIMSEC", "DATASEC")}


def _header_keywords(text: str, key: str) -> tuple[str, ...] | None:
    """The header keywords a configured region ``text`` (of config ``key``) is read from,
    in the order tried; None for a FITS section (or something that is neither)."""
    source = text.strip()
    if not source.lower().startswith("header"):
        return None
    named = source[len("header") :].strip()
    if named and not named.startswith(":"):
        return None
    return (named[1:].strip().upper(),) if named else HEADER_DEFAULTS.get(key)


def _section(text: str, key: str, header, shape, path) -> Section:
    """A configured region for one image: a FITS section, or ``header:KEYWORD`` (``header``
    alone for the keywords of :data:`HEADER_DEFAULTS`) read from the image's header.

    Raises
    ------
    FrameError
        Naming the file, the setting and the reason (malformed, outside the image, a
        keyword missing from the header).
    """
    keywords = _header_keywords(text, key)
    if keywords is None:
        if text.strip().lower().startswith("header"):
            forms = "'header' or 'header:KEYWORD'" if key in HEADER_DEFAULTS else "'header:KEYWORD'"
            raise FrameError(path, f"config {key}: {text!r} is not a section or {forms}")
        try:
            return parse_section(text.strip(), shape)
        except SectionError as err:
            raise FrameError(path, f"config {key}: {err}") from None
    for keyword in keywords:
        if keyword in header:
            try:
                return parse_section(str(header[keyword]), shape)
            except SectionError as err:
                raise FrameError(path, f"header {keyword} for config {key}: {err}") from None
    names = " or ".join(keywords)
    raise FrameError(
        path,
        f"the header has no {names}, which config {key} ({text!r}) asks for; give the "
        "region in the config instead",
    )


@dataclass(frozen=True)
class LayoutSpec(Settings):
    """The layout as configured, before it meets a frame's header.

    Attributes
    ----------
    overscan_method : {'median', 'mean', 'none'}
    overscan_region : str
        A FITS section, or ``'header'`` for BIASSEC.
    trim_region : str
        A FITS section, ``'header'`` for TRIMSEC then DATASEC, or ``'none'``.
    overscan_model : dict
        ``OverscanModel`` fields: a smooth fit along the readout of the per-line levels.
    amplifiers : tuple of dict
        Several amplifiers, each ``{name, light, overscan, parallel_overscan}`` (FITS
        sections; ``overscan`` and ``parallel_overscan`` may be absent).  When given, it
        replaces ``overscan_region`` and ``trim_region``; the light sections must tile a
        rectangle, which becomes the calibrated image.
    """

    overscan_method: str
    overscan_region: str
    trim_region: str
    amplifiers: tuple
    overscan_model: dict

    @classmethod
    def from_config(cls, config: dict) -> LayoutSpec:
        """Build from the workflow config's ``overscan``, ``trim`` and ``amplifiers``."""
        return cls(
            overscan_method=config["overscan"]["method"],
            overscan_region=str(config["overscan"]["region"]),
            trim_region=str(config["trim"]["region"]),
            amplifiers=tuple(config["amplifiers"]),
            overscan_model=config["overscan"]["model"],
        )

    def regions(self) -> list[tuple[str, str]]:
        """Every configured region and the config key it is set by."""
        if not self.amplifiers:
            return [(self.overscan_region, "overscan.region"), (self.trim_region, "trim.region")]
        parts = ("light", "overscan", "parallel_overscan")
        return [(entry[part], f"amplifiers[{index}].{part}")
                for index, entry in enumerate(self.amplifiers, start=1)
                for part in parts if part in entry]  # fmt: skip

    def header_keywords(self) -> set[str]:
        """The header keywords the regions are read from (``header``, ``header:KEYWORD``)."""
        return {keyword for text, key in self.regions()
                for keyword in _header_keywords(str(text), key) or ()}  # fmt: skip

    def to_params(self) -> dict:
        """The fields as plain values (a Snakemake ``params`` entry and a job's argument)."""
        return {
            "overscan_method": self.overscan_method,
            "overscan_region": self.overscan_region,
            "trim_region": self.trim_region,
            "amplifiers": list(self.amplifiers),
            "overscan_model": self.overscan_model,
        }

    def resolve(self, header, shape: tuple[int, int], path) -> FrameLayout:
        """Resolve the regions for one image of numpy ``shape`` with ``header``.

        Raises
        ------
        FrameError
            If a region is malformed, outside the image, missing from the header, or
            inconsistent (overscan rows that do not cover the light rows).
        """
        if self.amplifiers:
            return self._resolve_amplifiers(header, shape, path)
        full = Section.full(shape)
        if self.trim_region.lower() == "none":
            light = full
        else:
            light = _section(self.trim_region, "trim.region", header, shape, path)

        overscan = None
        if self.overscan_method != "none":
            if self.overscan_region.lower() == "none":
                raise ConfigError(
                    "overscan.region",
                    f"is 'none' but overscan.method is {self.overscan_method!r}; "
                    "give a region or set overscan.method: none",
                )
            overscan = _section(self.overscan_region, "overscan.region", header, shape, path)
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
            raw_shape=tuple(shape),
            amplifiers=(amplifier,),
            overscan_method=self.overscan_method,
            overscan_model=self._model(),
        )

    def _model(self) -> OverscanModel:
        return OverscanModel.from_config(self.overscan_model)

    def _resolve_amplifiers(self, header, shape, path) -> FrameLayout:
        amplifiers = []
        for index, entry in enumerate(self.amplifiers, start=1):
            name = str(entry.get("name") or index)
            key = f"amplifiers[{index}]"
            light = _section(entry["light"], f"{key}.light", header, shape, path)
            serial = parallel = None
            if self.overscan_method != "none":
                if "overscan" in entry:
                    serial = _section(entry["overscan"], f"{key}.overscan", header, shape, path)
                if "parallel_overscan" in entry:
                    parallel = _section(
                        entry["parallel_overscan"], f"{key}.parallel_overscan", header, shape, path
                    )
            _check_coverage(light, serial, parallel, name, path)
            amplifiers.append(Amplifier(name, light, serial, light, parallel))
        kept = bounding_box([amp.light for amp in amplifiers])
        area = sum(amp.light.shape[0] * amp.light.shape[1] for amp in amplifiers)
        overlapping = any(
            a.light.overlaps(b.light) for i, a in enumerate(amplifiers) for b in amplifiers[i + 1 :]
        )
        if overlapping or area != kept.shape[0] * kept.shape[1]:
            raise FrameError(
                path,
                "the amplifiers' light sections "
                + ", ".join(amp.light.fits for amp in amplifiers)
                + f" do not tile the rectangle {kept.fits} exactly (gaps or overlaps)",
            )
        placed = tuple(
            Amplifier(amp.name, amp.light, amp.overscan, amp.light.relative_to(kept), amp.parallel)
            for amp in amplifiers
        )
        return FrameLayout(
            raw_shape=tuple(shape),
            amplifiers=placed,
            overscan_method=self.overscan_method,
            overscan_model=self._model(),
        )


def _check_coverage(light, serial, parallel, name, path) -> None:
    """The overscan must hold a value for every row (serial) or column (parallel) corrected."""
    if serial is not None:
        rows = (
            (light.y1, light.y2)
            if parallel is None
            else (min(light.y1, parallel.y1), max(light.y2, parallel.y2))
        )
        if not (serial.y1 <= rows[0] and rows[1] <= serial.y2):
            raise FrameError(
                path,
                f"amplifier {name}: overscan {serial.fits} covers rows {serial.y1}:{serial.y2} "
                f"but rows {rows[0]}:{rows[1]} need a per-row correction",
            )
        if serial.overlaps(light):
            raise FrameError(
                path, f"amplifier {name}: overscan {serial.fits} overlaps its light {light.fits}"
            )
    if parallel is not None:
        if not (parallel.x1 <= light.x1 and light.x2 <= parallel.x2):
            raise FrameError(
                path,
                f"amplifier {name}: parallel overscan {parallel.fits} covers columns "
                f"{parallel.x1}:{parallel.x2} but the light {light.fits} needs columns "
                f"{light.x1}:{light.x2}",
            )
        if parallel.overlaps(light):
            raise FrameError(
                path,
                f"amplifier {name}: parallel overscan {parallel.fits} overlaps its light "
                f"{light.fits}",
            )
