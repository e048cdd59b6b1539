"""The QC figures: pure functions from arrays to matplotlib figures.

Each function takes numbers (no file names, no Snakemake) and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas, so nothing depends on a display
or on pyplot's global state.  Images are shown with a robust percentile stretch and, when
larger than about :data:`DISPLAY_PIXELS` on a side, binned first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .stats import robust_std, sample_grid

__all__ = [
    "DISPLAY_PIXELS", "bin_image", "bin_by", "stretch", "raw_and_calibrated", "histogram_edges",
    "pixel_histogram", "overscan_along_rows", "master_with_profiles", "mosaic_view",
    "mosaic_binning", "rejection_map", "night_trends", "history_trends", "save_png",
]  # fmt: skip

#: Images are binned to at most about this many pixels on a side before they are drawn.
DISPLAY_PIXELS = 1024


def bin_image(image: np.ndarray, limit: int = DISPLAY_PIXELS, how: str = "mean") -> np.ndarray:
    """Bin ``image`` by the smallest whole factor that leaves at most ``limit`` pixels on a
    side; ``how`` is ``'mean'`` (images) or ``'sum'`` (counts: nothing binned away).

    Rows and columns that do not fill a last bin are dropped.
    """
    return bin_by(image, max(1, -(-max(image.shape) // limit)), how)


def bin_by(image: np.ndarray, factor: int, how: str = "mean") -> np.ndarray:
    """Bin ``image`` by ``factor`` on both axes (see :func:`bin_image`)."""
    if factor == 1:
        return np.asarray(image, dtype=np.float64)
    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    # a view in the stored type, reduced in float64: no float64 copy of the whole image
    blocks = image[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    reduce = blocks.sum if how == "sum" else blocks.mean
    return reduce(axis=(1, 3), dtype=np.float64)


def stretch(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """Display limits: the ``low`` and ``high`` percentiles of the finite pixels."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    vmin, vmax = np.percentile(finite, [low, high])
    return float(vmin), float(vmax if vmax > vmin else vmin + 1.0)


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _show(figure: Figure, axes, image: np.ndarray, title: str, label: str = "ADU"):
    """Draw ``image`` binned for display, axes in the image's own pixel numbers."""
    binned = bin_image(image)
    vmin, vmax = stretch(binned)
    extent = (0.5, image.shape[1] + 0.5, 0.5, image.shape[0] + 0.5)
    shown = axes.imshow(binned, origin="lower", cmap="gray", vmin=vmin, vmax=vmax,
                        interpolation="nearest", aspect="auto", extent=extent)  # fmt: skip
    axes.set_title(title if binned.shape == image.shape else f"{title} (binned)")
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    figure.colorbar(shown, ax=axes, label=label, shrink=0.9)
    return shown


def raw_and_calibrated(raw: np.ndarray, calibrated: np.ndarray, name: str) -> Figure:
    """The guide's figure: a raw bias next to the same frame calibrated, each with its
    own 1-99 % stretch."""
    figure = _figure(12, 5.5)
    left, right = figure.subplots(1, 2)
    _show(figure, left, raw, f"raw {name}")
    _show(figure, right, calibrated, "overscan subtracted, trimmed")
    return figure


def histogram_edges(sample: np.ndarray, low: float, high: float, bins: int = 200) -> np.ndarray:
    """About ``bins`` bins from ``low`` to ``high``; for digitised values (whole or half
    ADU after a per-row median) the bins are whole numbers of that step, centred on the
    values, so that no bin is empty by construction."""
    step = (high - low) / bins
    for quantum in (1.0, 0.5):
        if np.all(sample * (1.0 / quantum) == np.round(sample * (1.0 / quantum))):
            step = max(1, round(step / quantum)) * quantum
            first = np.floor(low / quantum) * quantum - quantum / 2
            return np.arange(first, high + step, step)
    return np.linspace(low, high, bins + 1)


def pixel_histogram(image: np.ndarray, name: str) -> Figure:
    """Histogram of all of a calibrated frame's pixels (log counts), its median and robust
    standard deviation (from a grid of :data:`masterbias.stats.SAMPLE_PIXELS`) marked.

    The counts are accumulated over blocks of rows, so no copy of the image is made.
    """
    sample = image[sample_grid(image.shape)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    median, spread = float(np.median(sample)), robust_std(sample)
    low, high = np.percentile(sample, [0.01, 99.99])
    low, high = min(low, median - 6 * spread), max(high, median + 6 * spread)
    edges = histogram_edges(sample, low, high)
    counts = np.zeros(edges.size - 1, dtype=np.int64)
    for first in range(0, image.shape[0], 256):
        counts += np.histogram(image[first : first + 256], bins=edges)[0]
    figure = _figure(8, 4.5)
    axes = figure.subplots()
    axes.stairs(counts, edges, fill=True, color="0.4")
    axes.set_yscale("log")
    axes.axvline(median, color="C1", label=f"median {median:.2f} ADU")
    for sign in (-1, 1):
        axes.axvline(median + sign * spread, color="C0", linestyle="--",
                     label=f"±1 robust σ ({spread:.2f} ADU)" if sign > 0 else None)  # fmt: skip
    axes.set_xlabel("calibrated value (ADU)")
    axes.set_ylabel("pixels")
    axes.set_title(f"{name}: pixel values")
    axes.legend()
    return figure


#: Lines an overscan figure draws at most: beyond, one line per amplifier (the median
#: over the frames) instead of one per frame and amplifier.
MAX_LINES = 48


def overscan_along_rows(levels: dict[str, Sequence[tuple[str, np.ndarray, np.ndarray]]]) -> Figure:
    """The overscan level subtracted from each row, one line per frame and amplifier (per
    amplifier, the median over the frames, when that would be more than
    :data:`MAX_LINES` lines: a mosaic).

    Parameters
    ----------
    levels : dict
        Frame name -> list of (amplifier, raw row numbers, levels in ADU).
    """
    figure = _figure(10, 5)
    axes = figure.subplots()
    lines = sum(len(amplifiers) for amplifiers in levels.values())
    if lines > MAX_LINES:
        series: dict[str, list] = {}
        for amplifiers in levels.values():
            for amp, rows, values in amplifiers:
                series.setdefault(amp, []).append((rows, values))
        for index, found in enumerate(series.values()):
            rows = found[0][0]
            median = np.median([values for _, values in found if len(values) == len(rows)], axis=0)
            axes.plot(rows, median, linewidth=0.7, color=f"C{index % 10}")
        title = f"median over {len(levels)} frames of each of {len(series)} amplifiers"
    else:
        for index, (name, amplifiers) in enumerate(sorted(levels.items())):
            for amp, rows, values in amplifiers:
                label = name if len(amplifiers) == 1 else f"{name} amp {amp}"
                axes.plot(rows, values, linewidth=0.7, color=f"C{index % 10}",
                          label=label if lines <= 12 else None)  # fmt: skip
        title = f"{len(levels)} frames"
        if 0 < lines <= 12:
            axes.legend(fontsize="small", ncol=2)
    axes.set_xlabel("raw row")
    axes.set_ylabel("overscan level subtracted (ADU)")
    axes.set_title(f"overscan level along the rows, {title}")
    return figure


def master_with_profiles(master: np.ndarray, frames: int) -> Figure:
    """The master bias, with the mean of each row (right) and of each column (below)."""
    figure = _figure(10, 9)
    grid = figure.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(4, 1))
    image = figure.add_subplot(grid[0, 0])
    _show(figure, image, master, f"master bias ({frames} frames)")
    rows = figure.add_subplot(grid[0, 1])
    row_means = np.mean(master, axis=1, dtype=np.float64)
    rows.plot(row_means, np.arange(row_means.size) + 1, linewidth=0.7)
    rows.set_xlabel("row mean (ADU)")
    rows.set_ylabel("row")
    columns = figure.add_subplot(grid[1, 0])
    column_means = np.mean(master, axis=0, dtype=np.float64)
    columns.plot(np.arange(column_means.size) + 1, column_means, linewidth=0.7)
    columns.set_xlabel("column")
    columns.set_ylabel("column mean (ADU)")
    return figure


def mosaic_view(tiles: list[tuple[str, tuple[int, int, int, int] | None, np.ndarray]],
                title: str, label: str = "ADU", how: str = "mean") -> Figure:  # fmt: skip
    """A mosaic's extensions laid out as they sit in the focal plane.

    Parameters
    ----------
    tiles : list
        Per extension: its name, its place ``(x1, x2, y1, y2)`` in detector pixels
        (``DETSEC``, 1-based, inclusive; None: placed in a row after the others) and its
        image, binned already by the same factor as every other tile.
    how : {'mean', 'sum'}
        What the tiles hold (images, or counts: drawn from 0).
    """
    placed, column = [], 0
    xs = [place[0] for _, place, _ in tiles if place] + [place[1] for _, place, _ in tiles if place]
    origin = (min(xs) if xs else 1, min([p[2] for _, p, _ in tiles if p] or [1]))
    scale = max(1.0, max((abs(p[1] - p[0]) + 1) / image.shape[1] for _, p, image in tiles
                         if p) if xs else 1.0)  # fmt: skip
    for name, place, image in tiles:
        if place is None:
            left, bottom = column, 0
        else:
            left = (min(place[0], place[1]) - origin[0]) / scale
            bottom = (min(place[2], place[3]) - origin[1]) / scale
        column = max(column, left + image.shape[1] + 2)
        placed.append((name, left, bottom, image))
    finite = np.concatenate([image[np.isfinite(image)].ravel() for *_, image in placed])
    vmin, vmax = (0.0, max(1.0, float(finite.max()))) if how == "sum" else stretch(finite)
    figure = _figure(10, 9)
    axes = figure.subplots()
    for name, left, bottom, image in placed:
        shown = axes.imshow(image, origin="lower", cmap="magma" if how == "sum" else "gray",
                            vmin=vmin, vmax=vmax, interpolation="nearest",
                            extent=(left, left + image.shape[1], bottom,
                                    bottom + image.shape[0]))  # fmt: skip
        axes.text(left + image.shape[1] / 2, bottom + image.shape[0] / 2, name, color="C1",
                  ha="center", va="center", fontsize=8)  # fmt: skip
    axes.autoscale()
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    figure.colorbar(shown, ax=axes, label=label, shrink=0.8)
    axes.set_title(title)
    return figure


def mosaic_binning(shapes: list[tuple[int, int]], places: list, limit: int = DISPLAY_PIXELS) -> int:
    """The one binning factor that leaves a mosaic at most ``limit`` pixels a side."""
    xs = [v for place in places if place for v in place[:2]]
    ys = [v for place in places if place for v in place[2:]]
    width = (max(xs) - min(xs) + 1) if xs else sum(shape[1] for shape in shapes)
    height = (max(ys) - min(ys) + 1) if ys else max(shape[0] for shape in shapes)
    return max(1, -(-max(width, height) // limit))


def rejection_map(counts: np.ndarray, frames: int) -> Figure:
    """Where values were rejected in the combination: the count per pixel (binned by
    summing, so that no rejection disappears), and the total fraction in the title."""
    total = int(np.sum(counts, dtype=np.int64))
    fraction = total / (counts.size * frames) if counts.size and frames else 0.0
    binned = bin_image(counts, how="sum")
    figure = _figure(8, 7)
    axes = figure.subplots()
    shown = axes.imshow(binned, origin="lower", cmap="magma", vmin=0,
                        vmax=max(1.0, float(binned.max())), interpolation="nearest",
                        aspect="auto")  # fmt: skip
    figure.colorbar(shown, ax=axes, label="values rejected" + (" per bin" if binned.shape !=
                    counts.shape else ""), shrink=0.9)  # fmt: skip
    axes.set_title(f"rejected: {total} of {counts.size * frames} values ({100 * fraction:.4f} %)")
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    return figure


def night_trends(rows: list[dict]) -> Figure:
    """Level and noise of every frame through the night.

    Parameters
    ----------
    rows : list of dict
        One per frame, in time order: ``time`` (hours from the first frame, or the frame's
        index when the headers carry no date), ``overscan_level_adu``, ``median_adu``,
        ``clipped_std_adu``, ``pair_noise_adu`` (numbers or None) and ``left_out`` (the
        reason, or empty).
    """
    figure = _figure(10, 7)
    level, noise = figure.subplots(2, 1, sharex=True)
    times = np.array([row["time"] for row in rows], dtype=np.float64)
    dated = all(row.get("dated") for row in rows)
    unit = "hours"
    if dated and times.size and np.nanmax(times) < 2.0:  # a short series: minutes
        times, unit = times * 60.0, "minutes"
    out = np.array([bool(row.get("left_out")) for row in rows])

    def series(key):
        return np.array([np.nan if row.get(key) is None else row[key] for row in rows], float)

    for axes, keys in (
        (level, (("overscan_level_adu", "overscan level"),)),
        (noise, (("clipped_std_adu", "clipped std"), ("pair_noise_adu", "read noise (pairs)"))),
    ):
        for key, label in keys:
            values = series(key)
            axes.plot(times[~out], values[~out], "o-", markersize=4, label=label)
            if out.any():
                axes.plot(times[out], values[out], "x", color="red", markersize=9,
                          label=f"{label}: left out")  # fmt: skip
        axes.legend(fontsize="small")
    median = level.twinx()
    median.plot(times, series("median_adu"), "s", color="C2", markersize=3,
                label="calibrated median")  # fmt: skip
    median.set_ylabel("calibrated median (ADU)", color="C2")
    level.set_ylabel("overscan level (ADU)")
    noise.set_ylabel("noise (ADU)")
    noise.set_xlabel(f"{unit} since the first frame" if dated else "frame (no DATE-OBS)")
    level.set_title(f"{len(rows)} frames through the night ({int(out.sum())} left out)")
    return figure


def history_trends(rows: list[dict]) -> Figure:
    """The detector's history: overscan level, read noise and master noise of every master
    against its night, the masters with a flag marked and named.

    Parameters
    ----------
    rows : list of dict
        One per master, in time order: ``night`` (ISO date, or None), ``group``,
        ``overscan_level_adu``, ``read_noise_adu``, ``master_noise_adu`` and ``flags``
        (words, or empty).
    """
    from datetime import date

    figure = _figure(10, 8)
    panels = figure.subplots(3, 1, sharex=True)
    dated = all(row["night"] for row in rows)
    days = np.array([date.fromisoformat(row["night"]).toordinal() if dated else index
                     for index, row in enumerate(rows)], float)  # fmt: skip
    flagged = np.array([bool(row.get("flags")) for row in rows])
    keys = (("overscan_level_adu", "overscan level (ADU)"), ("read_noise_adu", "read noise (ADU)"),
            ("master_noise_adu", "master noise (ADU)"))  # fmt: skip
    for axes, (key, label) in zip(panels, keys, strict=True):
        values = np.array([row[key] for row in rows], dtype=np.float64)
        axes.plot(days, values, "o-", markersize=3, color="C0")
        axes.plot(days[flagged], values[flagged], "o", markersize=9, markerfacecolor="none",
                  color="red")  # fmt: skip
        axes.set_ylabel(label)
    for row, day in zip(rows, days, strict=True):
        if row.get("flags"):
            panels[0].annotate(row["flags"], (day, panels[0].get_ylim()[1]), fontsize=7,
                               color="red", rotation=90, va="top", ha="center")  # fmt: skip
    start = days.min() if days.size else 0.0
    ticks = np.linspace(start, days.max() if days.size else 1.0, min(8, max(len(rows), 2)))
    if dated:
        panels[-1].set_xticks(ticks)
        panels[-1].set_xticklabels([date.fromordinal(int(t)).isoformat() for t in ticks],
                                   rotation=30, fontsize=8)  # fmt: skip
    else:
        panels[-1].set_xlabel("master (the frames carry no date)")
    panels[0].set_title(f"{len(rows)} masters, {int(flagged.sum())} flagged (red)")
    return figure


def save_png(figure: Figure, path: str | os.PathLike) -> None:
    """Write ``figure`` as PNG to ``path`` (the caller makes it atomic).

    zlib level 1, not Pillow's 6: images of noise hardly compress at any level, and the
    encoding is a fifth of a figure's time at level 6.
    """
    figure.savefig(path, format="png", dpi=100, pil_kwargs={"compress_level": 1})
