"""FITS image sections: the one parser for every region the workflow uses.

FITS (and IRAF) sections are written ``[x1:x2,y1:y2]``: 1-based, inclusive, x (the column,
NAXIS1) first.  numpy indexes ``data[y, x]``: 0-based, end-exclusive, row first.  Every
region in this project goes through :func:`parse_section`, and a :class:`Section` can print
itself both ways so that logs show what was meant and what was sliced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Section", "SectionError", "parse_section"]


class SectionError(ValueError):
    """A section string is malformed or does not fit the image it is applied to."""


@dataclass(frozen=True)
class Section:
    """A rectangle of an image in FITS convention (1-based, inclusive, x first).

    Attributes
    ----------
    x1, x2 : int
        First and last column (NAXIS1 axis), 1-based, inclusive.
    y1, y2 : int
        First and last row (NAXIS2 axis), 1-based, inclusive.
    """

    x1: int
    x2: int
    y1: int
    y2: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """The numpy index ``(rows, columns)`` of this section."""
        return slice(self.y1 - 1, self.y2), slice(self.x1 - 1, self.x2)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the section."""
        return self.y2 - self.y1 + 1, self.x2 - self.x1 + 1

    @property
    def fits(self) -> str:
        """The section as a FITS string, e.g. ``[2056:2080,1:4128]``."""
        return f"[{self.x1}:{self.x2},{self.y1}:{self.y2}]"

    @property
    def numpy(self) -> str:
        """The section as numpy index text, e.g. ``[0:4128, 2055:2080]``."""
        rows, cols = self.slices
        return f"[{rows.start}:{rows.stop}, {cols.start}:{cols.stop}]"

    def describe(self) -> str:
        """Both forms, for logs: ``FITS [2056:2080,1:4128] = numpy [0:4128, 2055:2080]``."""
        return f"FITS {self.fits} = numpy {self.numpy}"

    def contains(self, other: Section) -> bool:
        """Whether ``other`` lies entirely inside this section."""
        return (
            self.x1 <= other.x1 <= other.x2 <= self.x2
            and self.y1 <= other.y1 <= other.y2 <= self.y2
        )

    def overlaps(self, other: Section) -> bool:
        """Whether the two sections share at least one pixel."""
        return not (
            other.x2 < self.x1 or self.x2 < other.x1 or other.y2 < self.y1 or self.y2 < other.y1
        )

    def relative_to(self, origin: Section) -> Section:
        """This section in the coordinates of an image cut out at ``origin``."""
        dx, dy = origin.x1 - 1, origin.y1 - 1
        return Section(self.x1 - dx, self.x2 - dx, self.y1 - dy, self.y2 - dy)

    @classmethod
    def full(cls, shape: tuple[int, int]) -> Section:
        """The whole image of numpy ``shape`` ``(rows, columns)``."""
        rows, cols = shape
        return cls(1, cols, 1, rows)


_AXIS = r"\s*(?:(\*)|(-?\d+)\s*(?::\s*(-?\d+))?)\s*"
_SECTION_RE = re.compile(r"^\s*\[" + _AXIS + "," + _AXIS + r"\]\s*$")


def _axis_range(star, start, stop, length, axis_name, text):
    if star:
        return 1, length
    first = int(start)
    last = int(stop) if stop is not None else first
    if first > last:
        raise SectionError(
            f"section {text!r}: {axis_name} range {first}:{last} is reversed; "
            "flipped sections are not supported, write the smaller number first"
        )
    if first < 1 or last > length:
        raise SectionError(
            f"section {text!r}: {axis_name} range {first}:{last} is outside the image, "
            f"which has {axis_name} 1:{length}"
        )
    return first, last


def parse_section(text: str, shape: tuple[int, int]) -> Section:
    """Parse a FITS section string against an image of numpy ``shape``.

    Parameters
    ----------
    text : str
        ``[x1:x2,y1:y2]`` in FITS convention; spaces anywhere are ignored (headers often
        pad: ``'[   4:  13,   1: 520]'``), ``*`` means the whole axis and a single number
        ``n`` means ``n:n``.
    shape : tuple of int
        numpy shape ``(rows, columns)`` of the image the section refers to.

    Returns
    -------
    Section

    Raises
    ------
    SectionError
        If the text is not a two-axis section, a range is reversed, or any part of it lies
        outside the image.

    Examples
    --------
    >>> parse_section("[2056:2080,*]", (4128, 2080)).numpy
    '[0:4128, 2055:2080]'
    """
    if not isinstance(text, str):
        raise SectionError(f"section {text!r} is not a string like '[x1:x2,y1:y2]'")
    match = _SECTION_RE.match(text)
    if match is None:
        raise SectionError(
            f"section {text!r} is malformed: expected '[x1:x2,y1:y2]' (FITS convention: "
            "1-based, inclusive, x = column first; '*' for a whole axis)"
        )
    rows, cols = shape
    x1, x2 = _axis_range(*match.group(1, 2, 3), cols, "x (columns)", text)
    y1, y2 = _axis_range(*match.group(4, 5, 6), rows, "y (rows)", text)
    return Section(x1, x2, y1, y2)
