"""Real raw biases from five cameras (../shared/realdata), from their presets alone.

Each camera's calibrated frames are checked against an independent computation with
ccdproc on the same regions, amplifier by amplifier, and the master against
ccdproc.combine.  Skipped cleanly where ../shared is absent (a user's clone).
"""

import csv
import glob
import warnings

import fitsio
import numpy as np
import pytest

from conftest import REALDATA, Workflow, guide_combine

pytestmark = [pytest.mark.realdata, pytest.mark.workflow]

ccdproc = pytest.importorskip("ccdproc")


def ccdproc_frame(path, hdu, amplifiers):
    """ccdproc's subtract_overscan and trim_image, per amplifier, assembled by columns."""
    from astropy.nddata import CCDData

    data = fitsio.read(path, ext=hdu)
    pieces = []
    for serial, parallel, light in amplifiers:
        ccd = CCDData(data, unit="adu")
        if serial is not None:
            ccd = ccdproc.subtract_overscan(ccd, overscan=ccd[serial], overscan_axis=1,
                                            median=True)  # fmt: skip
        if parallel is not None:
            ccd = ccdproc.subtract_overscan(ccd, overscan=ccd[parallel], overscan_axis=0,
                                            median=True)  # fmt: skip
        pieces.append(ccdproc.trim_image(ccd[light]).data)
    return np.hstack(pieces).astype(np.float32)


# numpy regions of each preset, written out again independently of the presets
CAMERAS = {
    "shane_kast_blue": (3, [
        (np.s_[:, 2049:2080], None, np.s_[:, 0:1024]),
        (np.s_[:, 2080:2111], None, np.s_[:, 1024:2048]),
    ]),
    "lowell_hall42_nasa42": (19, [(np.s_[:, 1387:1431], None, np.s_[:, 17:1382])]),
    "ntt_efosc2": (5, [(np.s_[:, 1023:1029], np.s_[1024:1030, :], np.s_[0:1024, 0:1023])]),
    "not_alfosc": (5, [(None, np.s_[2066:2097, :], np.s_[0:2064, 3:400])]),
}  # fmt: skip


# e-/ADU: Kast from PypeIt (its header says 1), Lowell AGAIN_01, EFOSC2 CONAD, ALFOSC GAIN
GAINS = {"shane_kast_blue": 1.2, "lowell_hall42_nasa42": 4.95, "ntt_efosc2": 1.1,
         "not_alfosc": 0.16}  # fmt: skip


def run_preset(tmp_path, camera):
    work = tmp_path / camera
    work.mkdir()
    flow = Workflow(work, {"camera": camera, "raw_dir": str(REALDATA / camera)})
    flow.run()
    return flow


@pytest.mark.parametrize("camera", sorted(CAMERAS))
def test_camera_preset_matches_ccdproc(tmp_path, realdata, camera):
    from astropy.nddata import CCDData

    count, amplifiers = CAMERAS[camera]
    flow = run_preset(tmp_path, camera)
    # the default rejection first: its noise model and how little it rejects
    with fitsio.FITS(str(flow.master)) as fits:
        header = fits[0].read_header()
        default = fits[0].read()
        rejected = fits["REJECTED"].read()
    fraction = header["NREJECT"] / (count * default.size)
    noise = [header[f"RDNOISE{i}"] for i in range(1, 3) if f"RDNOISE{i}" in header]
    print(f"{camera}: ccdclip rejected {100 * fraction:.4f} %, read noise {noise} ADU")
    assert header["REJECT"] == "ccdclip" and rejected.sum() == header["NREJECT"]
    assert fraction < 1e-3
    # then the guide's clipping, the first version's setting: only the combine reruns
    flow.config["combine"] = {"sigma_clip": {"low": 5, "high": 5}}
    flow.write_config()
    assert set(flow.planned_jobs()) <= {
        "combine_biases", "write_qc_tables", "all", "plot_master_figures"
    }  # fmt: skip
    flow.run()
    raws = sorted(glob.glob(str(realdata / camera / "*.fits*")))
    calibrated = sorted((flow.results / "calibrated").glob("*.fits"))
    assert len(calibrated) == count
    hdu = 1 if camera == "not_alfosc" else 0
    expected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw, ours in zip(raws, calibrated, strict=True):
            theirs = ccdproc_frame(raw, hdu, amplifiers)
            np.testing.assert_array_equal(fitsio.read(str(ours)), theirs)
            expected.append(CCDData(theirs, unit="adu"))
        master = guide_combine(expected)
        ours = CCDData.read(flow.master)
    np.testing.assert_array_equal(ours.mask, master.mask)
    np.testing.assert_allclose(ours.data, master.data, rtol=1.2e-7, atol=1e-4)
    # a bias, calibrated, is centred on zero to well within its read noise (ALFOSC's ~32 ADU)
    assert abs(float(np.median(ours.data))) < 10
    # read noise in electrons from each preset's gain (a keyword, or a number)
    night = next(csv.DictReader(open(flow.results / "qc" / "night.csv")))
    assert float(night["gain_e_per_adu"]) == GAINS[camera]
    assert float(night["read_noise_e"]) == pytest.approx(GAINS[camera] * min(noise), rel=0.15)
    # the two rejections give the same master but where the guide's clipped good values
    # or missed outliers: the typical difference is a small part of the master's noise
    difference = default.astype(np.float64) - ours.data
    guide_fraction = fitsio.read_header(str(flow.master))["NREJECT"] / (count * default.size)
    print(f"{camera}: the guide's clipping rejected {100 * guide_fraction:.4f} %")
    print(f"{camera}: ccdclip - guide: median |difference| {np.median(np.abs(difference)):.4f} ADU")
    assert np.median(np.abs(difference)) < 0.1 * min(noise) / np.sqrt(count)


def test_saao_preset_has_no_bias_to_select(tmp_path, realdata):
    work = tmp_path / "saao"
    work.mkdir()
    flow = Workflow(work, {"camera": "saao_1m_ste3", "raw_dir": str(realdata / "saao_1m_ste3")})
    text = flow.fail()
    assert "no bias selected among 1 files" in text and "IMAGETYP: 'object' (1)" in text
