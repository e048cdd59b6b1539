"""The overscan inspector: where leaked charge ends, which columns are bad, what to use.

The astropy guide advises to "carefully examine the overscan in a few representative
images"; this does it.  For a few raw frames it computes the level of every overscan
column (the median down the column, averaged over the frames), compares each with the
plateau of the overscan's far half, marks the leading columns still carrying leaked
charge and any column far off the plateau, and suggests the widest run of clean columns.

    python -m masterbias.inspect_overscan RAW.fits [...] --region "[2049:2080,*]" --out DIR

writes ``DIR/overscan_profile.csv`` and ``DIR/overscan_profile.png``; ``--region header``
takes BIASSEC.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fitsfile import read_image
from .rawfile import read_raw_header
from .sections import Section, parse_section
from .stats import MEDIAN_ERROR, OUTLIER_SIGMAS, robust_std

__all__ = ["OverscanProfile", "profile_overscan", "main"]

#: A column is off the plateau when it is OUTLIER_SIGMAS standard errors of a column level
#: away, and at least this much (so that perfectly quiet data do not flag 0.01 ADU).
MIN_OFFSET_ADU = 0.5


@dataclass(frozen=True)
class OverscanProfile:
    """The overscan, column by column.

    Attributes
    ----------
    region : Section
        The overscan inspected (raw coordinates).
    columns : ndarray of int
        1-based column numbers (FITS x).
    levels : ndarray of float
        Level of each column, ADU.
    plateau : float
        Median level of the far half of the region, ADU.
    tolerance : float
        How far from the plateau a column may be and still count as clean, ADU.
    leaking : list of int
        Leading columns still carrying leaked charge.
    bad : list of int
        Other columns far off the plateau.
    suggested : Section
        The widest run of clean columns, with the region's rows.
    """

    region: Section
    columns: np.ndarray
    levels: np.ndarray
    plateau: float
    tolerance: float
    leaking: list
    bad: list
    suggested: Section

    def flag(self, column: int) -> str:
        if column in self.leaking:
            return "leaking"
        if column in self.bad:
            return "bad"
        return ""


def profile_overscan(images: list[np.ndarray], region: Section) -> OverscanProfile:
    """Profile the overscan ``region`` of raw ``images`` (all of one shape).

    Parameters
    ----------
    images : list of ndarray
    region : Section
        Serial overscan columns to inspect.
    """
    rows, cols = region.slices
    per_frame = np.array([np.median(image[rows, cols], axis=0) for image in images])
    levels = per_frame.mean(axis=0)
    pixels = np.concatenate([image[rows, cols].astype(np.float64).ravel() for image in images])
    noise = robust_std(pixels)
    count = region.shape[0] * len(images)
    # the median of n values scatters about 1.25 sigma / sqrt(n)
    tolerance = max(OUTLIER_SIGMAS * MEDIAN_ERROR * noise / np.sqrt(count), MIN_OFFSET_ADU)
    far_half = levels[len(levels) // 2 :]
    plateau = float(np.median(far_half))
    off = np.abs(levels - plateau) > tolerance
    columns = np.arange(region.x1, region.x2 + 1)
    leading = 0
    while leading < len(off) and off[leading]:
        leading += 1
    leaking = [int(c) for c in columns[:leading]]
    bad = [int(c) for c, o in zip(columns[leading:], off[leading:], strict=True) if o]
    clean = ~off
    clean[:leading] = False
    best = (0, -1)
    start = None
    for index, good in enumerate(np.append(clean, False)):
        if good and start is None:
            start = index
        elif not good and start is not None:
            if index - start > best[1] - best[0] + 1:
                best = (start, index - 1)
            start = None
    if best[1] < best[0]:
        suggested = region
    else:
        suggested = Section(int(columns[best[0]]), int(columns[best[1]]), region.y1, region.y2)
    return OverscanProfile(region, columns, levels, plateau, tolerance, leaking, bad, suggested)


def write_profile(profile: OverscanProfile, folder: Path, title: str) -> tuple[Path, Path]:
    """Write the table (CSV) and the plot (PNG) of a profile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "overscan_profile.csv"
    with open(table, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["column", "level_adu", "minus_plateau_adu", "flag"])
        for column, level in zip(profile.columns, profile.levels, strict=True):
            writer.writerow([int(column), f"{level:.3f}", f"{level - profile.plateau:.3f}",
                             profile.flag(int(column))])  # fmt: skip
    figure, axis = plt.subplots(figsize=(8, 4.5))
    axis.plot(profile.columns, profile.levels - profile.plateau, "k.-", lw=1)
    for column in profile.leaking:
        axis.axvspan(column - 0.5, column + 0.5, color="tab:orange", alpha=0.3)
    for column in profile.bad:
        axis.axvspan(column - 0.5, column + 0.5, color="tab:red", alpha=0.3)
    axis.axvspan(profile.suggested.x1 - 0.5, profile.suggested.x2 + 0.5, color="tab:green",
                 alpha=0.08, label=f"suggested {profile.suggested.fits}")  # fmt: skip
    axis.axhspan(-profile.tolerance, profile.tolerance, color="grey", alpha=0.15,
                 label=f"clean: within {profile.tolerance:.2f} ADU of the plateau")  # fmt: skip
    axis.set_xlabel("column (FITS x)")
    axis.set_ylabel("column level - plateau (ADU)")
    span = max(5 * profile.tolerance, 2.0)
    axis.set_ylim(-span, span)
    axis.set_title(f"{title}: orange = leaked charge, red = bad column")
    axis.legend(loc="upper right", fontsize=8)
    plot = folder / "overscan_profile.png"
    figure.tight_layout()
    figure.savefig(plot, dpi=110)
    plt.close(figure)
    return table, plot


def main(argv: list[str] | None = None) -> OverscanProfile:
    parser = argparse.ArgumentParser(
        prog="python -m masterbias.inspect_overscan", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("frames", nargs="+", help="a few raw frames of one camera")
    parser.add_argument("--region", default="header", help="overscan columns, or 'header'")
    parser.add_argument("--out", default="overscan_inspection", help="folder for the results")
    args = parser.parse_args(argv)
    found = read_raw_header(args.frames[0])
    first = found.images[0]
    text = str(found.hdu_keywords(first)["BIASSEC"]) if args.region == "header" else args.region
    region = parse_section(text, first.shape)
    images = [read_image(path, read_raw_header(path).images[0].index) for path in args.frames]
    profile = profile_overscan(images, region)
    table, plot = write_profile(profile, Path(args.out), Path(args.frames[0]).name)
    print(f"overscan {region.fits}: plateau {profile.plateau:.2f} ADU")
    print(f"leaked charge in columns: {profile.leaking or 'none'}")
    print(f"bad columns: {profile.bad or 'none'}")
    print(f"suggested region: {profile.suggested.fits}  ({profile.suggested.describe()})")
    print(f"wrote {table} and {plot}")
    return profile


if __name__ == "__main__":
    main()
