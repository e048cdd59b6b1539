"""When a frame was taken, where, and which observing night it belongs to.

The time comes from the header, parsed with ``astropy.time`` in the planning process (and
remembered in the header cache), tried in this order: ``DATE-OBS`` in ISO form with a
time; the old split form, a date in ``DATE-OBS`` and the time in ``UT``, ``TIME-OBS``,
``UTC-OBS``, ``UTCSTART`` or ``UTSTART``; then ``DATE-BEG``, ``MJD-OBS`` and ``DATE``.
Times are taken as UTC, kept to the millisecond (truncated, never rounded up: a frame at
11:59:59.9996 is not moved to noon), and only between :data:`PLAUSIBLE_YEARS` (a header
left at ``0001-01-01T00:00:00`` by a clock never set is not a time).  A value that cannot
be read is said in the :class:`Timestamp`, never raised: the planning names the file.

A frame's observing night is the local date at the start of its night: the calendar date
of (time - 12 h) in local mean solar time, i.e. UT + longitude / 15 h.  Afternoon biases
and the next morning's fall on the same night wherever the observatory is.  Every
longitude, from the configuration or a header, is folded into (-180, 180] by
:func:`east_longitude` in :func:`observing_night`, so that 200 and -160 give one night.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "TIME_KEYWORDS",
    "LONGITUDE_KEYWORDS",
    "Timestamp",
    "observation_time",
    "header_longitude",
    "observing_night",
    "east_longitude",
    "frame_night",
    "PLAUSIBLE_YEARS",
    "READ_KEYWORDS",
]

#: The keywords tried, in order, for the time of a frame (for messages).
TIME_KEYWORDS = ("DATE-OBS", "DATE-OBS + UT/TIME-OBS/UTC-OBS/UTCSTART/UTSTART", "DATE-BEG",
                 "MJD-OBS", "DATE")  # fmt: skip
_SPLIT_TIME = ("UT", "TIME-OBS", "UTC-OBS", "UTCSTART", "UTSTART")

#: Years a frame's time may fall in (first, end): outside them a value is a placeholder.
PLAUSIBLE_YEARS = (1950, 2200)

#: Header keywords holding the observatory's longitude, in degrees east, tried in order.
LONGITUDE_KEYWORDS = ("OBSGEO-L", "LONGITUD", "SITELONG", "LONG-OBS", "ESO TEL GEOLON")

#: Every keyword :func:`observation_time` and :func:`header_longitude` read.
READ_KEYWORDS = frozenset(("DATE-OBS", *_SPLIT_TIME, "DATE-BEG", "MJD-OBS", "DATE",
                           *LONGITUDE_KEYWORDS, "OBSGEO-X", "OBSGEO-Y"))  # fmt: skip


@dataclass(frozen=True)
class Timestamp:
    """A frame's time, or why it has none.

    Attributes
    ----------
    iso : str or None
        UTC as ``YYYY-MM-DDTHH:MM:SS.sss``.
    source : str
        The keyword(s) it came from, or, without a time, what was wrong.
    """

    iso: str | None
    source: str


def _clock(value) -> float | None:
    """Seconds after midnight from ``'HH:MM:SS.s'`` or a number of hours."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) * 3600.0 if 0 <= value < 24 else None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*", str(value))
    if match is None:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
    if hours > 23 or minutes > 59 or seconds >= 61:
        return None
    return hours * 3600.0 + minutes * 60.0 + seconds


def _date(text) -> str | None:
    """``YYYY-MM-DD`` from a date-only value (``YYYY-MM-DD`` or the old ``DD/MM/YY``), or
    None when it is not a date of the calendar (``2026-02-30``, month 13)."""
    text = str(text).strip()
    match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{2})", text)
    if match:  # the FITS standard's pre-2000 form: 19YY
        text = f"19{match[3]}-{match[2]}-{match[1]}"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return None
    return text


def _iso(value, fmt: str = "isot") -> str | None:
    """astropy's reading of ``value`` as a UTC time, ``YYYY-MM-DDTHH:MM:SS.sss`` (truncated
    to the millisecond), or None when it is not a time or lies outside
    :data:`PLAUSIBLE_YEARS`."""
    import warnings

    from astropy.time import Time

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # erfa's "dubious year" for placeholders
            text = Time(value, format=fmt, scale="utc", precision=9).isot
    except (ValueError, TypeError, OverflowError):
        return None
    year = text[:4]
    if len(text) < 23 or not year.isdigit():
        return None
    if not PLAUSIBLE_YEARS[0] <= int(year) < PLAUSIBLE_YEARS[1]:
        return None
    return text[:23]


_PLAUSIBLE = f" in the years {PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1] - 1}"


def observation_time(keywords: dict) -> Timestamp:
    """The time a frame was taken, from its header keywords (see the module's order)."""
    date_obs = keywords.get("DATE-OBS")
    tried = []
    if isinstance(date_obs, str) and "T" in date_obs:
        iso = _iso(date_obs.strip())
        if iso:
            return Timestamp(iso, "DATE-OBS")
        tried.append(f"DATE-OBS = {date_obs!r} is not a time{_PLAUSIBLE}")
    elif date_obs is not None:
        day = _date(date_obs)
        clocks = [(key, _clock(keywords[key])) for key in _SPLIT_TIME if key in keywords]
        clock = next(((key, seconds) for key, seconds in clocks if seconds is not None), None)
        if day and clock:
            moment = datetime.fromisoformat(day) + timedelta(seconds=clock[1])
            iso = _iso(moment.isoformat())
            if iso:
                return Timestamp(iso, f"DATE-OBS + {clock[0]}")
        reason = " is not a date" if not day else "" if clock else " without a time"
        tried.append(f"DATE-OBS = {date_obs!r}{reason}{_PLAUSIBLE if day and clock else ''}")
    for key in ("DATE-BEG", "MJD-OBS", "DATE"):
        value = keywords.get(key)
        if value is None:
            continue
        if key == "MJD-OBS":
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            iso = _iso(float(value), "mjd") if number else None
        else:
            text = str(value).strip()
            iso = _iso(text) if "T" in text else None
        if iso:
            return Timestamp(iso, key)
        tried.append(f"{key} = {value!r} is not a time{_PLAUSIBLE}")
    found = "; ".join(tried) if tried else "none of them is in the header"
    return Timestamp(None, f"no usable time in {', '.join(TIME_KEYWORDS)} ({found})")


def _degrees(value) -> float | None:
    """Degrees from a number or a sexagesimal string (``'-70:44:12.1'``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    match = re.fullmatch(r"([+-]?)(\d+)[:\s](\d+)[:\s](\d+(?:\.\d*)?)", text)
    if match:
        size = int(match[2]) + int(match[3]) / 60 + float(match[4]) / 3600
        return -size if match[1] == "-" else size
    try:
        return float(text)
    except ValueError:
        return None


def header_longitude(keywords: dict) -> tuple[float | None, str]:
    """The observatory's longitude in degrees east from the header, and the keyword; from
    ``OBSGEO-X``/``OBSGEO-Y`` (geocentric metres) when no keyword gives it directly."""
    for key in LONGITUDE_KEYWORDS:
        if key in keywords:
            degrees = _degrees(keywords[key])
            if degrees is not None and -360 <= degrees <= 360:
                return degrees, key
    x, y = keywords.get("OBSGEO-X"), keywords.get("OBSGEO-Y")
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and (x or y):
        return math.degrees(math.atan2(y, x)), "OBSGEO-X/Y"
    return None, ""


def frame_night(iso: str, configured: float | None, header: float | None) -> str:
    """A frame's observing night: at ``night.longitude`` (``configured``) when set, else at
    the longitude its header gives, else in UT."""
    longitude = configured if configured is not None else header
    return observing_night(iso, longitude if longitude is not None else 0.0)


def east_longitude(degrees: float) -> float:
    """A longitude in degrees east folded into (-180, 180]: 200 is -160, -180 is 180."""
    return 180.0 - (180.0 - degrees) % 360.0


def observing_night(iso: str, longitude: float) -> str:
    """The observing night (``YYYY-MM-DD``) of a UTC time (as :func:`observation_time`
    gives it) at ``longitude`` degrees east (any turn: see :func:`east_longitude`): the
    local mean solar date of the time less 12 hours."""
    if iso[17:19] == "60":  # a leap second: the night is that of the second before
        iso = iso[:17] + "59.999"
    hours = east_longitude(longitude) / 15.0 - 12.0
    return (datetime.fromisoformat(iso) + timedelta(hours=hours)).date().isoformat()
