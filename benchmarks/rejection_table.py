"""The README's tables of rejection on simulated biases with planted outliers.

Every algorithm on the same seeded stacks (masterbias.synth.make_outlier_stack: read noise
4 ADU quantised to whole ADU, outliers of 10-30 sigma of either sign in 0.1 % of the
pixels), scored against the truth: the fraction of good values rejected, the fraction of
clean pixels touched (one value or more rejected), the planted outliers kept, and the
master's noise over sigma / sqrt(N); and the default's threshold from N = 3 to 50.

    python benchmarks/rejection_table.py [--frames 3 6 10 25] [--auto]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]  # the package; tests/stacks.py

from masterbias.combine import (  # noqa: E402
    CombineSettings,
    auto_threshold,
    combine_stack,
    reject_mask,
)
from masterbias.noise import AmplifierRegions, measure_noise  # noqa: E402
from masterbias.synth import make_outlier_stack  # noqa: E402
from stacks import score_rejection  # noqa: E402

MODES = {
    "ccdclip auto (default)": CombineSettings.default(),
    "ccdclip 4/4 (the previous default)": CombineSettings.default(low=4.0, high=4.0),
    "avsigclip auto": CombineSettings.default(reject="avsigclip"),
    "minmax 1/1": CombineSettings.default(reject="minmax"),
    "ccdproc 5/5 (the guide)": CombineSettings.default(reject="ccdproc", low=5.0, high=5.0),
    "ccdproc 3/3": CombineSettings.default(reject="ccdproc", low=3.0, high=3.0),
    "none": CombineSettings.default(reject="none"),
}

#: The numbers of frames of the default's table (docs/method.md "Rejection").
AUTO_FRAMES = (3, 4, 5, 7, 10, 15, 20, 30, 40, 50)


def score(frames: int, settings: CombineSettings, seed: int, shape=(500, 400)):
    """Score a rejection on a seeded stack, the noise model measured as the combine does."""
    case = make_outlier_stack(shape, frames, seed=seed)
    spread = None
    if settings.needs_noise_model:
        images = case.stack
        regions = AmplifierRegions.from_header({}, shape)
        model = measure_noise(lambda i, r, c: images[i][r, c], frames, regions, shape)
        spread = model.spread(regions.labels(np.arange(shape[0]), np.arange(shape[1])))
    band = combine_stack(case.stack, settings, spread)
    return score_rejection(case, reject_mask(case.stack, settings, spread), band.data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[3, 6, 10, 25])
    parser.add_argument("--auto", action="store_true", help="the default's table, N = 3-50")
    args = parser.parse_args(argv)
    if args.auto:
        print("| N | threshold | clean pixels touched | good values rejected | outliers kept |")
        print("|---:|---:|---:|---:|---:|")
        for frames in AUTO_FRAMES:
            result = score(frames, MODES["ccdclip auto (default)"], 200 + frames, (700, 700))
            print(
                f"| {frames} | {auto_threshold(frames):.2f} | "
                f"{100 * result.touched_fraction:.4f} % | {100 * result.false_fraction:.5f} % | "
                f"{result.missed} of {result.planted} |"
            )
        return
    print(
        "| rejection | N | good values rejected | clean pixels touched | outliers kept | "
        "master noise / (σ/√N) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, settings in MODES.items():
        for frames in args.frames:
            result = score(frames, settings, seed=100 + frames)
            print(
                f"| {name} | {frames} | {100 * result.false_fraction:.4f} % | "
                f"{100 * result.touched_fraction:.4f} % | {result.missed} of {result.planted} "
                f"| {result.noise_ratio:.4f} |"
            )


if __name__ == "__main__":
    main()
