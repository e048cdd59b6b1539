"""The astropy CCD guide's code for the bias chapters, as the benchmark's yardstick.

"Calibrating bias images" (Example 1) and "Combine bias images to make master bias", with
the guide's own calls; the only change is that calibrated frames are written without the
raw name's .gz (the workflow writes them uncompressed too).

Usage: python benchmarks/guide_ccdproc.py RAW_DIR OUT_DIR
"""

import sys
import warnings
from pathlib import Path

import ccdproc as ccdp
import numpy as np
from astropy.stats import mad_std


def main(raw_dir: str, out_dir: str) -> None:
    warnings.simplefilter("ignore")
    calibrated_data = Path(out_dir)
    calibrated_data.mkdir(parents=True, exist_ok=True)
    images_raw = ccdp.ImageFileCollection(raw_dir)
    for ccd, file_name in images_raw.ccds(
        imagetyp="BIAS", ccd_kwargs={"unit": "adu"}, return_fname=True
    ):
        ccd = ccdp.subtract_overscan(ccd, overscan=ccd[:, 2055:], median=True)
        ccd = ccdp.trim_image(ccd[:, :2048])
        ccd.write(calibrated_data / file_name.removesuffix(".gz"), overwrite=True)

    reduced_images = ccdp.ImageFileCollection(calibrated_data)
    calibrated_biases = reduced_images.files_filtered(imagetyp="bias", include_path=True)
    combined_bias = ccdp.combine(
        calibrated_biases,
        method="average",
        sigma_clip=True,
        sigma_clip_low_thresh=5,
        sigma_clip_high_thresh=5,
        sigma_clip_func=np.ma.median,
        sigma_clip_dev_func=mad_std,
        mem_limit=350e6,
    )
    combined_bias.meta["combined"] = True
    combined_bias.write(calibrated_data / "combined_bias.fit", overwrite=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
