"""A seeded generator of raw CCD frames, for the demo night and for tests with known truth.

A raw bias here is, in ADU::

    level + drift[row] + pattern[column] + hot[row, column] + leak[column] + noise

``drift`` is a smooth, frame-specific wander of the level along the readout (what the
per-row overscan removes), ``pattern`` a fixed column pattern of the light area (what a
master bias keeps), ``hot`` a fixed set of warm pixels, ``leak`` charge that spills into the
first overscan columns, and ``noise`` Gaussian read noise.  Flats and lights add signal.

Run ``python -m masterbias.synth --help`` to write a night to a folder.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import fitsio
import numpy as np

from .sections import parse_section

__all__ = [
    "CameraModel", "CAMERAS", "BiasTruth", "make_truth", "make_frame", "write_night",
    "Change", "NightSpec", "write_archive", "MOSAICS", "MosaicModel", "decam_ccd",
    "write_mosaic_night",
    "OutlierStack", "make_outlier_stack",
]  # fmt: skip


@dataclass(frozen=True)
class CameraModel:
    """Geometry and noise of a simulated single-amplifier camera.

    Attributes
    ----------
    name : str
    rows, columns : int
        Raw image shape (NAXIS2, NAXIS1).
    light : str
        FITS section of the light-sensitive area.
    overscan : str
        FITS section of the serial overscan columns (what BIASSEC says).
    leak_columns : int
        How many of the first overscan columns carry leaked charge.
    leak_adu : float
        Leaked charge in the first overscan column of a bias, ADU; it halves per column.
    level : float
        Mean bias level, ADU.
    read_noise : float
        Gaussian read noise, ADU.
    drift_adu : float
        Typical size of the row-to-row wander of the level, ADU.
    pattern_adu : float
        RMS of the fixed column pattern in the light area, ADU.
    hot_pixels : int
        Number of warm pixels, each 50-500 ADU above the level.
    dtype : str
        Stored type; ``uint16`` is written with BZERO = 32768 as cameras do.
    """

    name: str
    rows: int
    columns: int
    light: str
    overscan: str
    leak_columns: int = 6
    leak_adu: float = 40.0
    level: float = 1100.0
    read_noise: float = 4.0
    drift_adu: float = 3.0
    pattern_adu: float = 1.5
    hot_pixels: int = 40
    dtype: str = "uint16"
    extra_header: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def clean_overscan(self) -> str:
        """The overscan columns after those with leaked charge, as a FITS section: what the
        guide subtracts."""
        overscan = parse_section(self.overscan, (self.rows, self.columns))
        return f"[{overscan.x1 + self.leak_columns}:{overscan.x2},*]"


CAMERAS = {
    # The astropy guide's camera: Palomar LFC, 4128 rows x 2080 columns, overscan
    # columns 2049-2080 of which the first six carry leaked charge.
    "palomar_lfc": CameraModel(
        name="palomar_lfc",
        rows=4128,
        columns=2080,
        light="[1:2048,1:4128]",
        overscan="[2049:2080,1:4128]",
        extra_header={"INSTRUME": "lfc", "TELESCOP": "P200", "DETECTOR": "SITe (simulated)"},
    ),
    # Small layouts for tests: two shapes, overscan on the right.
    "small": CameraModel(
        name="small",
        rows=64,
        columns=80,
        light="[1:64,1:64]",
        overscan="[65:80,1:64]",
        leak_columns=3,
        hot_pixels=8,
    ),
    # A few rows of very many columns: one row of a few frames fills a megabyte of
    # working memory, so small memory limits mean many bands.
    "strip": CameraModel(
        name="strip",
        rows=16,
        columns=8100,
        light="[1:8000,1:16]",
        overscan="[8001:8100,1:16]",
        leak_columns=3,
        hot_pixels=4,
    ),
    "wide": CameraModel(
        name="wide",
        rows=40,
        columns=150,
        light="[1:128,1:40]",
        overscan="[129:150,1:40]",
        leak_columns=4,
        hot_pixels=6,
        level=700.0,
        read_noise=6.0,
    ),
}


@dataclass(frozen=True)
class BiasTruth:
    """The parts of a camera's bias that stay from frame to frame.

    Attributes
    ----------
    pattern : ndarray
        Column pattern plus warm pixels over the whole raw frame (zero outside the light
        area): the structure a master bias should recover.
    leak : ndarray
        Leaked charge per raw column (non-zero only in the first overscan columns).
    """

    pattern: np.ndarray
    leak: np.ndarray


def make_truth(camera: CameraModel, seed: int) -> BiasTruth:
    """The fixed structure of ``camera``'s bias, drawn from ``seed``."""
    rng = np.random.default_rng([seed, 0])
    shape = (camera.rows, camera.columns)
    light = parse_section(camera.light, shape)
    overscan = parse_section(camera.overscan, shape)
    pattern = np.zeros(shape)
    rows, cols = light.slices
    pattern[rows, cols] = rng.normal(0.0, camera.pattern_adu, size=light.shape[1])[np.newaxis]
    hot_y = rng.integers(rows.start, rows.stop, size=camera.hot_pixels)
    hot_x = rng.integers(cols.start, cols.stop, size=camera.hot_pixels)
    pattern[hot_y, hot_x] += rng.uniform(50.0, 500.0, size=camera.hot_pixels)
    leak = np.zeros(camera.columns)
    first = overscan.x1 - 1
    for k in range(min(camera.leak_columns, overscan.shape[1])):
        leak[first + k] = camera.leak_adu * 0.5**k
    return BiasTruth(pattern=pattern, leak=leak)


def make_frame(
    camera: CameraModel,
    truth: BiasTruth,
    rng: np.random.Generator,
    signal: float = 0.0,
    level_offset: float = 0.0,
) -> np.ndarray:
    """One raw frame as float64 ADU before quantisation.

    Parameters
    ----------
    signal : float
        Mean light signal in the light area (0 for a bias), ADU; a fraction leaks into the
        first overscan columns as on a real CCD.
    level_offset : float
        Added to the bias level of this frame (frame-to-frame level changes).
    """
    shape = (camera.rows, camera.columns)
    steps = rng.normal(0.0, camera.drift_adu / 8.0, size=camera.rows)
    drift = np.cumsum(steps)
    drift -= drift.mean()
    frame = rng.normal(0.0, camera.read_noise, size=shape)
    frame += camera.level + level_offset + drift[:, np.newaxis]
    frame += truth.pattern
    leak = truth.leak * (1.0 + signal / 2000.0)
    frame += leak[np.newaxis, :]
    if signal:
        light = parse_section(camera.light, shape)
        yy, xx = np.mgrid[0 : light.shape[0], 0 : light.shape[1]]
        vignetting = 1.0 - 0.2 * (
            ((yy - light.shape[0] / 2) / light.shape[0]) ** 2
            + ((xx - light.shape[1] / 2) / light.shape[1]) ** 2
        )
        lit = signal * vignetting
        frame[light.slices] += rng.poisson(np.maximum(lit, 0)).astype(float)
    return frame


def quantise(frame: np.ndarray, dtype: str) -> np.ndarray:
    """Round to the stored type, clipping to its range as an ADC does."""
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is None:
        return frame.astype(dtype)
    return np.clip(np.rint(frame), info.min, info.max).astype(dtype)


def _header(camera: CameraModel, imagetyp: str, exptime: float, filt: str, index: int):
    header = [
        {"name": "IMAGETYP", "value": imagetyp, "comment": "frame type"},
        {"name": "EXPTIME", "value": exptime, "comment": "exposure time, s"},
        {"name": "FILTER", "value": filt, "comment": "filter"},
        {"name": "DATE-OBS", "value": f"2026-11-23T02:{index // 60:02d}:{index % 60:02d}"},
        {"name": "BIASSEC", "value": camera.overscan, "comment": "overscan section"},
        {"name": "DATASEC", "value": camera.light, "comment": "light section"},
        {"name": "CAMERA", "value": camera.name, "comment": "synthetic camera model"},
        {"name": "ORIGIN", "value": "masterbias.synth", "comment": "simulated frame"},
    ]
    header += [{"name": key, "value": value} for key, value in camera.extra_header.items()]
    return header


def write_frame(path: str | os.PathLike, data: np.ndarray, header: list[dict]) -> None:
    """Write one raw frame with fitsio (``.gz`` in the name compresses it)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fitsio.write(str(path), data, header=header, clobber=True)


def write_night(
    folder: str | os.PathLike,
    camera: CameraModel | str = "palomar_lfc",
    n_bias: int = 8,
    n_flat: int = 2,
    n_light: int = 1,
    seed: int = 2026,
    compress: bool = True,
    prefix: str = "",
) -> list[Path]:
    """Write a night of raw frames (biases, flats, lights) into ``folder``.

    Returns
    -------
    list of Path
        The files written, biases first.
    """
    if isinstance(camera, str):
        camera = CAMERAS[camera]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth = make_truth(camera, seed)
    suffix = ".fits.gz" if compress else ".fits"
    plan = (
        [("BIAS", 0.0, 0.0, "") for _ in range(n_bias)]
        + [("FLATFIELD", 5.0, 15000.0, "g") for _ in range(n_flat)]
        + [("OBJECT", 120.0, 300.0, "g") for _ in range(n_light)]
    )
    written = []
    for index, (imagetyp, exptime, signal, filt) in enumerate(plan):
        rng = np.random.default_rng([seed, 1, index])
        offset = rng.normal(0.0, 2.0)
        frame = make_frame(camera, truth, rng, signal=signal, level_offset=offset)
        path = folder / f"{prefix}{camera.name}.{index + 1:04d}{suffix}"
        header = _header(camera, imagetyp, exptime, filt, index)
        write_frame(path, quantise(frame, camera.dtype), header)
        written.append(path)
    return written


@dataclass(frozen=True)
class Change:
    """A change of the detector from one night of an archive on.

    Attributes
    ----------
    night : int
        Index of the first night it holds for (in the archive's list of nights).
    kind : {'read_noise', 'level', 'column'}
        The read noise's sigma up by ``amount`` ADU, the bias level (overscan and light
        alike) up by ``amount`` ADU, or a new hot column ``column`` (1-based, in the light
        area) ``amount`` ADU above the rest.
    amount : float
    column : int or None
    """

    night: int
    kind: str
    amount: float
    column: int | None = None


@dataclass(frozen=True)
class NightSpec:
    """The biases of one observing night of an archive.

    Attributes
    ----------
    date : str
        The observing night, ``YYYY-MM-DD``: the local date at its start.
    afternoon, morning : int
        Biases taken from 16:00 local time, and from 07:00 the next morning, 2 minutes
        apart.
    time_form : {'iso', 'split', 'date'}
        How the header tells the time: ``DATE-OBS`` in ISO form; the old split form (the
        date in ``DATE-OBS``, the time in ``UT``); or only ``DATE``.
    noisy : int
        Biases (the last ones) read with three times the read noise: a master of them
        fails its verification.
    flats, lights : int
        Flat fields (``IMAGETYP = 'FLAT'``, from 17:00) and science frames
        (``IMAGETYP = 'LIGHT'``, from 22:00), 5 minutes apart, ``flat_NNN`` and
        ``light_NNN`` in the folder of their UT date.
    """

    date: str
    afternoon: int = 4
    morning: int = 4
    time_form: str = "iso"
    noisy: int = 0
    flats: int = 0
    lights: int = 0


def _time_cards(moment, form: str) -> list[dict]:
    iso = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if form == "split":
        return [{"name": "DATE-OBS", "value": iso[:10], "comment": "UT date"},
                {"name": "UT", "value": iso[11:22], "comment": "UT at start"}]  # fmt: skip
    if form == "date":
        return [{"name": "DATE", "value": iso[:19], "comment": "UT when written"}]
    return [{"name": "DATE-OBS", "value": iso, "comment": "UT at start"}]


def _write_archive_frame(folder, camera, suffix, time_form, longitude, kind, number, moment,
                         frame, imagetyp, exptime, filt) -> Path:  # fmt: skip
    """Write one frame of an archive as ``<UT date>/<kind>_<number><suffix>``, its time in
    ``time_form`` and (not None) the longitude in its header."""
    path = folder / moment.strftime("%Y%m%d") / f"{kind}_{number:03d}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    cards = _header(camera, imagetyp, exptime, filt, 0)
    header = [card for card in cards if card["name"] != "DATE-OBS"]
    header += _time_cards(moment, time_form)
    if longitude is not None:
        header.append({"name": "OBSGEO-L", "value": longitude, "comment": "deg east"})
    write_frame(path, quantise(frame, camera.dtype), header)
    return path


def write_archive(
    folder: str | os.PathLike,
    camera: CameraModel | str,
    nights: list[NightSpec],
    longitude: float,
    changes: tuple[Change, ...] = (),
    seed: int = 2026,
    longitude_in_header: bool = True,
    compress: bool = False,
) -> dict[str, list[Path]]:
    """Write an observatory's archive of biases: one folder per UT date, file numbers
    starting again in each, with the afternoon and morning biases of a night in the folders
    of their UT dates.

    Parameters
    ----------
    folder : path-like
    camera : CameraModel or str
    nights : list of NightSpec
    longitude : float
        The observatory's longitude, degrees east: local time is UT + longitude / 15 h.
    changes : tuple of Change
        What changes from a night on (each holds for every later night too).
    seed : int
    longitude_in_header : bool
        Whether the headers say the longitude (``OBSGEO-L``).
    compress : bool

    Returns
    -------
    dict
        Night -> the files of its biases.
    """
    from dataclasses import replace
    from datetime import datetime, timedelta

    if isinstance(camera, str):
        camera = CAMERAS[camera]
    folder = Path(folder)
    base = make_truth(camera, seed)
    light = parse_section(camera.light, (camera.rows, camera.columns))
    numbers: dict[str, int] = {}
    written: dict[str, list[Path]] = {}
    for index, night in enumerate(nights):
        held = [change for change in changes if change.night <= index]
        model = replace(camera, read_noise=camera.read_noise + sum(
            c.amount for c in held if c.kind == "read_noise"))  # fmt: skip
        level = sum(change.amount for change in held if change.kind == "level")
        pattern = base.pattern.copy()
        for change in held:
            if change.kind == "column":
                pattern[light.slices[0], change.column - 1] += change.amount
        truth = BiasTruth(pattern=pattern, leak=base.leak)
        start = datetime.fromisoformat(night.date) - timedelta(hours=longitude / 15.0)
        moments = [start + timedelta(hours=16, minutes=2 * k) for k in range(night.afternoon)]
        moments += [start + timedelta(hours=31, minutes=2 * k) for k in range(night.morning)]
        written[night.date] = []
        noisy = replace(model, read_noise=3.0 * model.read_noise)
        write = partial(_write_archive_frame, folder, camera, ".fits.gz" if compress else ".fits",
                        night.time_form, longitude if longitude_in_header else None)  # fmt: skip

        for k, moment in enumerate(moments):
            rng = np.random.default_rng([seed, 2, index, k])
            read = noisy if k >= len(moments) - night.noisy else model
            frame = make_frame(read, truth, rng, level_offset=level + rng.normal(0.0, 2.0))
            day = moment.strftime("%Y%m%d")
            numbers[day] = numbers.get(day, 0) + 1
            written[night.date].append(write("bias", numbers[day], moment, frame, "BIAS", 0.0, ""))
        others = [("flat", "FLAT", 5.0, 15000.0, 17, night.flats),
                  ("light", "LIGHT", 120.0, 300.0, 22, night.lights)]  # fmt: skip
        for kind, imagetyp, exptime, signal, hour, count in others:
            for k in range(count):
                rng = np.random.default_rng([seed, 3, index, k, hour])
                moment = start + timedelta(hours=hour, minutes=5 * k)
                frame = make_frame(model, truth, rng, signal=signal, level_offset=level)
                day = moment.strftime("%Y%m%d")
                numbers[(kind, day)] = numbers.get((kind, day), 0) + 1
                write(kind, numbers[(kind, day)], moment, frame, imagetyp, exptime, "g")
    return written


@dataclass(frozen=True)
class AmpModel:
    """One amplifier of a simulated mosaic CCD.

    Attributes
    ----------
    name : str
        Its letter in the section keywords (``DATASECA``), '' for ``DATASEC``/``BIASSEC``.
    light, overscan : str
        FITS sections of its light and serial overscan in the extension's raw image.
    level, read_noise : float
        Its bias level and read noise, ADU.
    """

    name: str
    light: str
    overscan: str
    level: float
    read_noise: float


@dataclass(frozen=True)
class MosaicCCD:
    """One image extension of a simulated mosaic: ``extname`` ('' for none, as raw GMOS
    files), its place in the focal plane (``detsec``), its number and amplifiers."""

    extname: str
    detsec: str
    ccdnum: int
    amps: tuple[AmpModel, ...]


@dataclass(frozen=True)
class MosaicModel:
    """A simulated mosaic camera: one image extension per CCD (or per amplifier).

    Attributes
    ----------
    name : str
    rows, columns : int
        Raw image of each extension.
    ccds : tuple of MosaicCCD
    primary : dict
        Keywords of the primary header (how a bias is told apart).
    """

    name: str
    rows: int
    columns: int
    ccds: tuple[MosaicCCD, ...]
    primary: dict


def decam_ccd(
    extname: str, ccdnum: int, column: int, north: bool, width: int = 32, height: int = 64,
    overscan: int = 8, prescan: int = 3, parallel: int = 6,
) -> MosaicCCD:  # fmt: skip
    """A CCD of DECam's layout: per row ``prescan`` and ``overscan`` columns, then
    ``width`` data columns of amplifier B; ``width`` of amplifier A, then its ``overscan``
    and ``prescan`` columns; ``height`` data rows and ``parallel`` rows of parallel overscan
    (below the data on S chips, above on N chips).  DECam itself is 1024, 4096, 50, 6, 50."""
    first_row = 1 if north else parallel + 1
    rows = f"{first_row}:{first_row + height - 1}"
    b_overscan, b_light = prescan + 1, prescan + overscan + 1
    a_light = b_light + width
    a_overscan = a_light + width
    detsec = f"[{column}:{column + 2 * width - 1},1:{height}]"
    return MosaicCCD(extname, detsec, ccdnum, (
        AmpModel("A", f"[{a_light}:{a_overscan - 1},{rows}]",
                 f"[{a_overscan}:{a_overscan + overscan - 1},{rows}]", 1500.0 + 40 * ccdnum, 6.0),
        AmpModel("B", f"[{b_light}:{a_light - 1},{rows}]",
                 f"[{b_overscan}:{b_light - 1},{rows}]", 1620.0 + 40 * ccdnum, 7.0),
    ))  # fmt: skip


def _gmos_like_ccd(index: int) -> MosaicCCD:
    """GMOS Hamamatsu's layout, small: one amplifier per unnamed extension, 32 data columns
    and 8 overscan columns, the overscan right of the data in odd extensions and left of it
    in even ones."""
    light, overscan = ("[1:32,*]", "[33:40,*]") if index % 2 else ("[9:40,*]", "[1:8,*]")
    return MosaicCCD("", f"[{32 * (index - 1) + 1}:{32 * index},1:64]", index,
                     (AmpModel("", light, overscan, 900.0 + 25 * index, 3.5),))  # fmt: skip


MOSAICS = {
    # four CCDs of DECam's layout (S1, S2, N1, N2), raw 70 x 86, .fits.fz
    "decam_like": MosaicModel(
        "decam_like",
        70,
        86,
        (
            decam_ccd("S1", 25, 1, False),
            decam_ccd("S2", 26, 65, False),
            decam_ccd("N1", 32, 129, True),
            decam_ccd("N2", 33, 193, True),
        ),
        {"OBSTYPE": "zero", "INSTRUME": "decam_like"},
    ),  # fmt: skip
    # four amplifiers of GMOS Hamamatsu's layout, unnamed extensions, raw 64 x 40
    "gmos_like": MosaicModel(
        "gmos_like",
        64,
        40,
        tuple(_gmos_like_ccd(i) for i in range(1, 5)),
        {"OBSTYPE": "BIAS", "INSTRUME": "gmos_like"},
    ),  # fmt: skip
}


def _section_cards(ccd: MosaicCCD, shape) -> list[dict]:
    from .layout import bounding_box

    lights = [parse_section(amp.light, shape) for amp in ccd.amps]
    cards = [
        {"name": "DATASEC", "value": bounding_box(lights).fits},
        {"name": "DETSEC", "value": ccd.detsec},
        {"name": "CCDNUM", "value": ccd.ccdnum},
    ]
    for amp in ccd.amps:
        if amp.name:
            cards += [{"name": f"DATASEC{amp.name}", "value": amp.light},
                      {"name": f"BIASSEC{amp.name}", "value": amp.overscan}]  # fmt: skip
        else:
            cards += [{"name": "BIASSEC", "value": amp.overscan}]
    return cards


def mosaic_extension(mosaic: MosaicModel, ccd: MosaicCCD, rng, seed: int, signal: float = 0.0,
                     cosmic_rays: int = 4) -> np.ndarray:  # fmt: skip
    """One raw extension as float64 ADU: per amplifier its level with a row drift and its
    read noise, a fixed pattern and hot pixels in the light (drawn from ``seed`` and the
    CCD), the overscan column next to the light carrying leaked charge, cosmic rays."""
    shape = (mosaic.rows, mosaic.columns)
    fixed = np.random.default_rng([seed, 7, ccd.ccdnum])
    image = np.zeros(shape)
    for amp in ccd.amps:
        light, overscan = parse_section(amp.light, shape), parse_section(amp.overscan, shape)
        rows = slice(min(light.y1, overscan.y1) - 1, max(light.y2, overscan.y2))
        drift = np.cumsum(rng.normal(0.0, 0.4, size=shape[0]))
        for section in (light, overscan):
            block = image[section.slices]
            block += amp.level + drift[section.slices[0], np.newaxis]
            block += rng.normal(0.0, amp.read_noise, size=block.shape)
        image[light.slices] += fixed.normal(0.0, 2.0, size=light.shape[1])[np.newaxis, :]
        hot = (fixed.integers(light.y1 - 1, light.y2, 3), fixed.integers(light.x1 - 1, light.x2, 3))
        image[hot] += fixed.uniform(80.0, 400.0, 3)
        next_to_light = overscan.x1 - 1 if overscan.x1 > light.x2 else overscan.x2 - 1
        image[rows, next_to_light] += 25.0 * (1.0 + signal / 2000.0)
        if signal:
            image[light.slices] += rng.poisson(signal, size=light.shape).astype(float)
        hits = (rng.integers(light.y1 - 1, light.y2, cosmic_rays),
                rng.integers(light.x1 - 1, light.x2, cosmic_rays))  # fmt: skip
        image[hits] += rng.uniform(300.0, 3000.0, cosmic_rays)
    return image


def write_mosaic_night(
    folder: str | os.PathLike,
    mosaic: MosaicModel | str,
    n_bias: int = 5,
    n_flat: int = 1,
    seed: int = 2026,
    compress: bool = True,
) -> list[Path]:
    """Write a night of a mosaic camera: one file per exposure, one image extension per
    CCD (or amplifier), RICE tile-compressed ``.fits.fz`` (``compress``) or ``.fits``.

    Returns
    -------
    list of Path
        The files written, biases first.
    """
    if isinstance(mosaic, str):
        mosaic = MOSAICS[mosaic]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shape = (mosaic.rows, mosaic.columns)
    written = []
    for index in range(n_bias + n_flat):
        flat = index >= n_bias
        rng = np.random.default_rng([seed, 3, index])
        path = folder / f"{mosaic.name}_{index + 1:04d}.fits{'.fz' if compress else ''}"
        path.unlink(missing_ok=True)
        primary = [{"name": key, "value": value} for key, value in mosaic.primary.items()]
        if flat:
            primary = [{"name": "OBSTYPE", "value": "dome flat"}] + primary[1:]
        primary += [{"name": "EXPTIME", "value": 10.0 if flat else 0.0},
                    {"name": "DATE-OBS", "value": f"2026-11-23T01:{index:02d}:00.000"}]  # fmt: skip
        with fitsio.FITS(str(path), "rw", clobber=True) as fits:
            fits.write(None, header=primary)
            for ccd in mosaic.ccds:
                data = mosaic_extension(mosaic, ccd, rng, seed, signal=8000.0 if flat else 0.0)
                fits.write(
                    quantise(data, "uint16"), header=_section_cards(ccd, shape),
                    extname=ccd.extname or None, compress="RICE" if compress else None,
                )  # fmt: skip
        written.append(path)
    return written


@dataclass(frozen=True)
class OutlierStack:
    """Calibrated biases with known truth and planted outliers, frames on the last axis.

    Attributes
    ----------
    stack : ndarray of float32, shape (frames, rows, columns)
    truth : ndarray of float64, shape (rows, columns)
        The bias structure every frame shares.
    planted : ndarray of bool, shape of ``stack``
        Where outliers were added.
    sigma : float
        Noise of one value, ADU.
    """

    stack: np.ndarray
    truth: np.ndarray
    planted: np.ndarray
    sigma: float


def make_outlier_stack(
    shape: tuple[int, int],
    frames: int,
    seed: int,
    sigma: float = 4.0,
    outlier_fraction: float = 1e-3,
    amplitude: tuple[float, float] = (10.0, 30.0),
) -> OutlierStack:
    """Frames of Gaussian noise around a fixed structure, with outliers of ``amplitude``
    sigmas (uniform in that range, either sign) in ``outlier_fraction`` of the pixels
    (one frame each), quantised to whole ADU as a camera would."""
    rng = np.random.default_rng(seed)
    truth = 1.0 + rng.normal(0.0, 3.0 * sigma, shape)
    stack = truth[..., np.newaxis] + rng.normal(0.0, sigma, shape + (frames,))
    planted = np.zeros(stack.shape, dtype=bool)
    count = max(1, int(outlier_fraction * shape[0] * shape[1]))
    pixels = rng.choice(shape[0] * shape[1], count, replace=False)
    rows, columns = np.unravel_index(pixels, shape)
    which = rng.integers(0, frames, count)
    size = rng.uniform(*amplitude, count) * rng.choice([-1.0, 1.0], count) * sigma
    stack[rows, columns, which] += size
    planted[rows, columns, which] = True
    # whole ADU, and the sigma of what the rejection sees includes the rounding
    stack = np.round(stack).astype(np.float32)
    first = np.ascontiguousarray(np.moveaxis(stack, -1, 0))  # frames first
    planted = np.ascontiguousarray(np.moveaxis(planted, -1, 0))
    return OutlierStack(first, truth, planted, float(np.sqrt(sigma**2 + 1.0 / 12.0)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m masterbias.synth", description="Write a simulated night of raw frames."
    )
    parser.add_argument("folder", help="folder to write into (created if missing)")
    parser.add_argument("--camera", default="palomar_lfc", choices=sorted(CAMERAS))
    parser.add_argument("--biases", type=int, default=8)
    parser.add_argument("--flats", type=int, default=2)
    parser.add_argument("--lights", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-compress", action="store_true", help="write .fits, not .fits.gz")
    args = parser.parse_args(argv)
    camera = CAMERAS[args.camera]
    paths = write_night(
        args.folder, camera, args.biases, args.flats, args.lights, args.seed,
        compress=not args.no_compress,
    )  # fmt: skip
    print(f"wrote {len(paths)} frames of {camera.name} to {args.folder}")


if __name__ == "__main__":
    main()
