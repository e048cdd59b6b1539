"""The README's table of rejection algorithms on simulated biases with planted outliers.

Every algorithm on the same seeded stacks (masterbias.synth.make_outlier_stack: 500 x 400
pixels, read noise 4 ADU quantised to whole ADU, outliers of 10-30 sigma of either sign in
0.1 % of the pixels), scored against the truth: the fraction of good values rejected, the
planted outliers kept, and the master's noise over sigma / sqrt(N).

    python benchmarks/rejection_table.py [--frames 3 6 10 25]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from masterbias.combine import CombineSettings, combine_stack, reject_mask  # noqa: E402
from masterbias.noise import AmplifierRegions, measure_noise  # noqa: E402
from masterbias.synth import make_outlier_stack, score_rejection  # noqa: E402

MODES = {
    "ccdclip 4/4 (default)": CombineSettings.default(),
    "avsigclip 4/4": CombineSettings.default(reject="avsigclip"),
    "minmax 1/1": CombineSettings.default(reject="minmax"),
    "ccdproc 5/5 (the guide)": CombineSettings.default(
        method="average", reject="ccdproc", low=5.0, high=5.0
    ),
    "ccdproc 3/3": CombineSettings.default(method="average", reject="ccdproc", low=3.0, high=3.0),
    "none": CombineSettings.default(reject="none"),
}


def score(frames: int, settings: CombineSettings, seed: int):
    case = make_outlier_stack((500, 400), frames, seed=seed)
    spread = None
    if settings.needs_noise_model:
        images = np.moveaxis(case.stack, -1, 0)
        regions = AmplifierRegions.from_header({}, (500, 400))
        model = measure_noise(lambda i, r, c: images[i][r, c], frames, regions, (500, 400))
        spread = model.spread(0, 500, 400)
    band = combine_stack(case.stack, settings, spread)
    return score_rejection(case, reject_mask(case.stack, settings, spread), band.data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[3, 6, 10, 25])
    args = parser.parse_args(argv)
    print("| rejection | N | good values rejected | outliers kept | master noise / (σ/√N) |")
    print("|---|---:|---:|---:|---:|")
    for name, settings in MODES.items():
        for frames in args.frames:
            result = score(frames, settings, seed=100 + frames)
            print(
                f"| {name} | {frames} | {100 * result.false_fraction:.4f} % | "
                f"{result.missed} of {result.planted} | {result.noise_ratio:.4f} |"
            )


if __name__ == "__main__":
    main()
