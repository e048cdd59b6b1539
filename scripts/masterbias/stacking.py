"""Stacking calibrated frames in row bands with dask, within a memory limit.

The master is computed extension by extension and, within one, band by band: a dask task
reads rows ``r0:r1`` of that extension of every calibrated frame (only those bytes of the
uncompressed file, located by fitsio, so each extension of each file is read once over
the whole run), combines them with :func:`masterbias.combine.combine_stack`, and writes
the band into the master's data units in place.  Reading and writing release the GIL, so
the dask threads overlap.  The band height follows from the memory limit, the number of
frames and the number of dask workers; because the combination is per pixel, any band
height gives the same master, bit for bit.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from functools import partial

import fitsio
import numpy as np

from . import keywords as kw
from .combine import WORK_BYTES_PER_PIXEL, CombineSettings, combine_stack
from .errors import ConfigError, FrameError
from .keywords import Planes
from .noise import AmplifierRegions, NoiseModel, measure_noise
from .rawio import read_at, write_at
from .verification import NoiseHistogram, master_statistics, verify

__all__ = ["BandPlan", "CombinedExtension", "plan_bands", "combine_extension"]


@dataclass(frozen=True)
class BandPlan:
    """How the image is cut into bands of rows.

    Attributes
    ----------
    rows, columns : int
        Image shape.
    n_frames : int
    band_rows : int
        Rows per band (the last band may be shorter).
    workers : int
        Bands combined at the same time.
    row_bytes : int
        Working memory of one row of a band (all frames), by the model of
        :meth:`masterbias.combine.CombineSettings.work_bytes_per_value` and
        :data:`masterbias.combine.WORK_BYTES_PER_PIXEL`.
    """

    rows: int
    columns: int
    n_frames: int
    band_rows: int
    workers: int
    row_bytes: int

    @property
    def bands(self) -> list[tuple[int, int]]:
        """``(first_row, end_row)`` of every band, 0-based, end-exclusive."""
        return [
            (start, min(start + self.band_rows, self.rows))
            for start in range(0, self.rows, self.band_rows)
        ]

    @property
    def band_bytes(self) -> int:
        """Working memory of one band."""
        return self.band_rows * self.row_bytes

    def describe(self) -> str:
        return (
            f"{self.n_frames} frames of {self.rows} x {self.columns}: {len(self.bands)} bands "
            f"of {self.band_rows} rows, {self.workers} at a time, "
            f"{self.band_bytes * self.workers / 1e6:.1f} MB of working memory"
        )


#: Preferred working set of one band.  Bands much larger than the CPU caches only add page
#: faults, and many small bands keep every worker busy; the memory limit is a ceiling.
PREFERRED_BAND_BYTES = 16 * 2**20

#: ... but at least this many rows where the limit allows: every band reads every frame,
#: so with many frames thin bands mean many small reads (16 rows: 160 frames of 2048
#: columns run in ~2/3 of the time they take in bands of 5 rows).
PREFERRED_MIN_ROWS = 16


def plan_bands(
    n_frames: int,
    shape: tuple[int, int],
    mem_limit: int,
    settings: CombineSettings,
    workers: int = 1,
    itemsize: int = 4,
) -> BandPlan:
    """Choose the band height so that ``workers`` bands of ``n_frames`` frames stored
    with ``itemsize`` bytes a pixel, combined with ``settings``, fit in ``mem_limit``
    bytes.

    Bands are no larger than about :data:`PREFERRED_BAND_BYTES` of working memory (but at
    least :data:`PREFERRED_MIN_ROWS` rows when the limit allows), which is
    faster than filling the limit; the result is the same for any band height.

    Raises
    ------
    ConfigError
        If even a single row per band does not fit.
    """
    rows, columns = shape
    per_value = settings.work_bytes_per_value(itemsize)
    per_row = columns * (n_frames * per_value + WORK_BYTES_PER_PIXEL)
    workers = max(1, min(workers, rows))
    band_rows = mem_limit // (per_row * workers)
    if band_rows < 1 and workers > 1:
        workers, band_rows = 1, mem_limit // per_row
    if band_rows < 1:
        raise ConfigError(
            "combine.mem_limit",
            f"{mem_limit} bytes cannot hold one row of {n_frames} frames of {columns} "
            f"columns; it needs at least {per_row} bytes",
        )
    preferred = max(PREFERRED_MIN_ROWS, PREFERRED_BAND_BYTES // per_row)
    band_rows = min(band_rows, preferred, rows)
    return BandPlan(rows, columns, n_frames, band_rows, workers, per_row)


@dataclass(frozen=True)
class StoredImage:
    """Where the pixels of one calibrated image lie in its file.

    The workflow writes its calibrated frames as uncompressed, unscaled float images, so
    their rows are big-endian floats, one after the other, from ``offset`` on (the FITS
    standard's layout of an image's data unit; fitsio reads the headers and says where
    it starts).

    Attributes
    ----------
    path : str
    offset : int
        Byte offset of the first pixel.
    shape : tuple of int
        Rows, columns.
    dtype : numpy.dtype
        The pixels as stored (``>f4`` or ``>f8``).
    """

    path: str
    offset: int
    shape: tuple[int, int]
    dtype: np.dtype

    @classmethod
    def locate(cls, path: str, ext, name: str) -> StoredImage:
        """Extension ``ext`` of the calibrated frame at ``path`` (``name`` for errors).

        Raises
        ------
        FrameError
            If the extension cannot be read or is not an uncompressed, unscaled 2-D float
            image.
        """
        try:
            with fitsio.FITS(str(path)) as fits:
                hdu = fits[ext]
                dims, header = hdu.get_dims(), hdu.read_header()
                compressed = hdu.is_compressed()
                offset = hdu.get_offsets()["data_start"]
        except (OSError, KeyError, ValueError) as err:
            raise FrameError(name, f"cannot read extension {ext}: {err}") from None
        if len(dims) != 2:
            raise FrameError(name, f"extension {ext} holds no 2-D image (dimensions {dims})")
        bitpix = header["BITPIX"]
        scaled = header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0
        if compressed or scaled or bitpix not in (-32, -64):
            raise FrameError(
                name,
                f"extension {ext} is not an uncompressed, unscaled float image (BITPIX "
                f"{bitpix}{', compressed' if compressed else ''}{', scaled' if scaled else ''})"
                ", as the workflow writes its calibrated frames",
            )
        image = cls(str(path), offset, (dims[0], dims[1]), np.dtype(f">f{-bitpix // 8}"))
        end = offset + dims[0] * dims[1] * image.dtype.itemsize
        size = os.path.getsize(path)
        if size < end:
            raise FrameError(name, f"extension {ext} is truncated: the file ends at byte "
                             f"{size}, its image at byte {end}")  # fmt: skip
        return image

    def row_offset(self, row: int) -> int:
        """Byte offset of the first pixel of ``row``."""
        return self.offset + row * self.shape[1] * self.dtype.itemsize

    def grid(self, rows: slice, columns: slice) -> np.ndarray:
        """The image at a regular grid of pixels (for the noise model), native order: only
        the grid's rows are read."""
        numbers = range(*rows.indices(self.shape[0]))
        row = np.empty(self.shape[1], dtype=self.dtype)
        grid = np.empty((len(numbers), len(row[columns])), dtype=self.dtype.newbyteorder("="))
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            for index, number in enumerate(numbers):
                read_at(descriptor, row, self.row_offset(number), self.path)
                grid[index] = row[columns]
        finally:
            os.close(descriptor)
        return grid


class OpenFrames:
    """One extension of the calibrated frames, open for reading bands of rows.

    A band reads a few rows of every frame, and a run has bands x frames reads: each file
    is opened once (at most ``keep_open`` of them; frames beyond that are opened for each
    read) and its rows read with :func:`masterbias.rawio.read_at`, which releases the GIL
    while the other threads combine.  ``close()`` closes them all.
    """

    def __init__(self, images: list[StoredImage], ext, keep_open: int):
        self.images = list(images)
        self.ext = ext
        self._descriptors = [os.open(image.path, os.O_RDONLY) for image in
                             self.images[:keep_open]]  # fmt: skip

    def __len__(self) -> int:
        return len(self.images)

    def read_rows(self, index: int, first_row: int, out: np.ndarray) -> None:
        """Fill ``out`` (rows of the stored dtype) with frame ``index``'s rows from
        ``first_row`` on."""
        image = self.images[index]
        start = image.row_offset(first_row)
        if index < len(self._descriptors):
            read_at(self._descriptors[index], out, start, image.path)
            return
        descriptor = os.open(image.path, os.O_RDONLY)
        try:
            read_at(descriptor, out, start, image.path)
        finally:
            os.close(descriptor)

    def close(self) -> None:
        for descriptor in self._descriptors:
            os.close(descriptor)
        self._descriptors.clear()


def files_to_keep_open(spare: int = 64) -> int:
    """How many calibrated frames may stay open: the process's limit on open files, less
    ``spare`` for everything else."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 4096
    return max(0, soft - spare)


def read_band(frames: OpenFrames, first_row: int, end_row: int) -> np.ndarray:
    """Rows ``first_row:end_row`` of every frame as one ``(frames, rows, columns)`` stack,
    in the files' float type, native byte order."""
    image = frames.images[0]
    rows = (end_row - first_row, image.shape[1])
    stack = np.empty((len(frames),) + rows, dtype=image.dtype.newbyteorder("="))
    stored = np.empty(rows, dtype=image.dtype)
    for index in range(len(frames)):
        frames.read_rows(index, first_row, stored)
        # a cast, unlike an in-place byte swap, runs without the GIL
        stack[index] = stored
    return stack


class _Tally:
    """What the bands count, summed by the worker threads: rejected values per frame and
    per amplifier, and the histograms of the master's noise."""

    def __init__(self, frames: int, amplifiers: int):
        self.per_frame = np.zeros(frames, dtype=np.int64)
        self.per_amplifier = np.zeros(amplifiers, dtype=np.int64)
        self.noise = NoiseHistogram(amplifiers)
        self._lock = threading.Lock()

    def add(self, band, labels: np.ndarray, spread: np.ndarray | None) -> None:
        hit = np.flatnonzero(band.rejected)  # few: rejections are rare
        amplifier, count = labels.reshape(-1)[hit], band.rejected.reshape(-1)[hit]
        per_amplifier = np.bincount(amplifier[amplifier >= 0], weights=count[amplifier >= 0],
                                    minlength=self.per_amplifier.size).astype(np.int64)  # fmt: skip
        with self._lock:
            self.per_frame += band.rejected_per_frame
            self.per_amplifier += per_amplifier
        if spread is not None:
            self.noise.add(band.split, spread, labels)


def _combine_band(frames, first_row, end_row, settings, tally, regions, noise, model, writer):
    """Combine rows ``first_row:end_row`` and write them; ``noise``: the read noise measured
    (for the master's verification), ``model``: the same when the rejection uses it."""
    stack = read_band(frames, first_row, end_row)
    columns = stack.shape[2]
    labels = regions.labels(np.arange(first_row, end_row), np.arange(columns))
    spread = noise.spread(labels) if noise is not None else None
    band = combine_stack(stack, settings, spread if model is not None else None, labels)
    del stack
    tally.add(band, labels, spread)
    writer.write(first_row, band)


class _BandWriter:
    """Writes bands of the four planes straight into the master's file.

    The HDUs are created (their data units zero-filled) and flushed by fitsio first; each
    band is then cast to the planes' big-endian types and written at its place in each data
    unit (:func:`masterbias.rawio.write_at`), both without the GIL, so that bands are
    written while others are combined.  ``close()`` closes the file.
    """

    def __init__(self, path: str, places: list[tuple[int, np.dtype]], columns: int):
        self.path = path
        self.places = places  # (offset of the data unit, stored type) of each plane
        self.columns = columns
        self._descriptor = os.open(path, os.O_WRONLY)

    def write(self, first_row: int, band) -> None:
        planes = (band.data, band.uncertainty, band.mask, band.rejected)
        for (offset, dtype), values in zip(self.places, planes, strict=True):
            stored = values.astype(dtype)
            start = offset + first_row * self.columns * dtype.itemsize
            write_at(self._descriptor, stored, start, self.path)

    def close(self) -> None:
        os.close(self._descriptor)


@dataclass(frozen=True)
class CombinedExtension:
    """What the combination of one extension did.

    Attributes
    ----------
    plan : BandPlan
    shape : tuple of int
    rejected : int
        Values rejected in all.
    rejected_per_frame : ndarray of int
        In the order of the frames combined.
    noise : NoiseModel or None
        Each amplifier's noise measured from the frames (None with fewer than two).
    verification : list of Verification
        Per amplifier (none with fewer than two frames).
    """

    plan: BandPlan
    shape: tuple[int, int]
    rejected: int
    rejected_per_frame: np.ndarray
    noise: NoiseModel | None
    verification: list


def combine_extension(
    paths: list[str],
    names: list[str],
    ext,
    out: fitsio.FITS,
    out_path: str,
    planes: Planes,
    header: fitsio.FITSHDR,
    settings: CombineSettings,
    mem_limit: int,
    workers: int,
    log=None,
) -> CombinedExtension:
    """Combine extension ``ext`` of calibrated frames into four new HDUs of ``out``.

    Parameters
    ----------
    paths : list of str
        Calibrated frames, as cfitsio can open them (:func:`masterbias.fitsfile.cfitsio_paths`).
    names : list of str
        Their names, for messages.
    ext : int or str
        The extension (HDU number or EXTNAME) in every frame.
    out : fitsio.FITS
        The master, open for writing; the data HDU is appended with ``header`` (the
        primary HDU when ``planes.data`` is None and ``out`` is empty).
    out_path : str
        The file ``out`` writes (the bands are written into it directly).
    planes : Planes
    settings : CombineSettings
    mem_limit : int
        Bytes of working memory the bands may use together.
    workers : int
        Threads for dask.
    log : callable, optional
        Receives progress lines.

    Returns
    -------
    CombinedExtension
    """
    images = [StoredImage.locate(path, ext, name) for path, name in zip(paths, names, strict=True)]
    shape, dtype = images[0].shape, images[0].dtype
    which = f" [{ext}]" if ext else ""
    for image, name in zip(images[1:], names[1:], strict=True):
        if image.shape != shape:
            raise FrameError(
                name,
                f"calibrated image{which} is {image.shape[0]} x {image.shape[1]} but "
                f"{names[0]}'s is {shape[0]} x {shape[1]}; frames of different shapes cannot "
                "be combined",
            )
        if image.dtype != dtype:
            raise FrameError(name, f"calibrated image{which} holds {image.dtype.name} but "
                             f"{names[0]}'s holds {dtype.name}; calibrate them alike")  # fmt: skip
    plan = plan_bands(len(paths), shape, mem_limit, settings, workers, dtype.itemsize)
    log = log or (lambda line: None)
    log(plan.describe())
    clock = time.perf_counter()
    with fitsio.FITS(paths[0]) as fits:
        regions = AmplifierRegions.from_header(fits[ext].read_header(), shape)
    noise = None
    if len(paths) >= 2:
        noise = measure_noise(lambda index, rows, columns: images[index].grid(rows, columns),
                              len(paths), regions, shape, plan.workers)  # fmt: skip
        for line in noise.describe():
            log(line)
        log(f"noise measured in {time.perf_counter() - clock:.2f} s")
        for index, sigma in enumerate(noise.sigmas, start=1):
            kw.RDNOISE.put(header, sigma, index)
    model = noise if settings.needs_noise_model and len(paths) >= 3 else None

    tally = _Tally(len(paths), len(regions.names))
    kw.NREJECT.put(header, 0)
    uncert_header = fitsio.FITSHDR()
    kw.UTYPE.put(uncert_header, "StdDevUncertainty")
    hdus, stored = [], []
    for name, kind, cards in (
        (planes.data, "f4", header), (planes.uncertainty, "f4", uncert_header),
        (planes.mask, "u1", None), (planes.rejected, "i2", None),
    ):  # fmt: skip
        # create_image_hdu only reserves room for the cards; write_keys fills it
        out.create_image_hdu(dims=list(shape), dtype=kind, extname=name, header=cards)
        if cards is not None:
            out[-1].write_keys(cards)
        hdus.append(len(out) - 1)
        stored.append(np.dtype(kind).newbyteorder(">"))
    out.reopen()  # everything cfitsio wrote is in the file, none of it kept in its buffers
    places = [(out[hdu].get_offsets()["data_start"], kind)
              for hdu, kind in zip(hdus, stored, strict=True)]  # fmt: skip
    writer = _BandWriter(out_path, places, shape[1])
    frames = OpenFrames(images, ext, files_to_keep_open())
    # the arguments every band shares are bound once: dask would otherwise walk them
    # (arrays, dataclasses) for every task
    band = partial(_combine_band, frames, settings=settings, tally=tally, regions=regions,
                   noise=noise, model=model, writer=writer)  # fmt: skip
    clock = time.perf_counter()
    try:
        _run_bands(band, plan)
    finally:
        frames.close()
        writer.close()
    # cfitsio may hold blocks of these data units from before the bands were written (the
    # reopen read every header and checked every fill) and would write them back when a
    # header grows and moves the data after it: it drops them here
    out.reopen()
    seconds = time.perf_counter() - clock
    values = len(paths) * shape[0] * shape[1]
    log(f"{len(plan.bands)} bands read, combined and written in {seconds:.2f} s "
        f"({seconds / values * 1e9:.1f} ns per stacked value)")  # fmt: skip
    rejected = int(tally.per_frame.sum())
    kw.NREJECT.write(out[hdus[0]], rejected)
    clock = time.perf_counter()
    verification = _verify(out[hdus[0]], regions, noise, tally, len(paths), plan.workers)
    log(f"master verified in {time.perf_counter() - clock:.2f} s")
    return CombinedExtension(plan, shape, rejected, tally.per_frame, noise, verification)


def _run_bands(band, plan: BandPlan) -> None:
    """``band(first_row, end_row)`` for every band of ``plan``: dask's threads run
    ``plan.workers`` at a time; with one worker they run one after the other here (a
    small night's combine then does not pay dask's import, 0.1-0.15 s a process)."""
    if plan.workers == 1:
        for first, end in plan.bands:
            band(first, end)
        return
    import dask  # here, not above: only a combine with threads needs it

    tasks = [dask.delayed(band, pure=False)(first, end) for first, end in plan.bands]
    dask.compute(*tasks, scheduler="threads", num_workers=plan.workers)


def _verify(hdu, regions, noise, tally, frames, workers) -> list:
    """Verify each amplifier of a master just written (:mod:`masterbias.verification`),
    and record it in its header; ``workers`` threads take the statistics."""
    if noise is None:
        return []
    results = []
    for index, (name, section, sigma, ratio) in enumerate(
        zip(regions.names, regions.sections, noise.sigmas, tally.noise.ratios(), strict=True),
        start=1,
    ):
        rows, columns = section.slices

        def read_rows(first, end, rows=rows, columns=columns):
            return hdu[rows.start + first : rows.start + end, columns]

        expected = ratio * sigma / np.sqrt(frames)
        statistics = master_statistics(read_rows, section.shape, expected, workers)
        pixels = section.shape[0] * section.shape[1] * frames
        result = verify(name, frames, sigma, ratio, statistics,
                        tally.per_amplifier[index - 1] / pixels)  # fmt: skip
        for keyword, value in ((kw.MNOISE, result.noise), (kw.XNOISE, result.expected_noise),
                               (kw.MMEAN, result.mean), (kw.MBADPX, result.pixels),
                               (kw.MBADCL, result.columns), (kw.MBADRW, result.rows)):  # fmt: skip
            keyword.write(hdu, value, index)
        results.append(result)
    failed = [f"amp {r.amplifier}: {r.reason}" for r in results if not r.passed]
    kw.VERIFY.write(hdu, "fail" if failed else "pass")
    for line in failed:
        kw.put_history_hdu(hdu, f"verification failed: {line}")
    return results
