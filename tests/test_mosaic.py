"""Mosaic cameras: every extension and amplifier of multi-extension, tile-compressed files."""

import re

import fitsio
import numpy as np
import pytest

from conftest import Workflow
from masterbias.sections import parse_section
from masterbias.synth import MOSAICS, write_mosaic_night

pytestmark = pytest.mark.workflow


def decam_config(raw, **settings):
    """The DECam preset with every extension of the small simulated DECam."""
    return {"raw_dir": str(raw), "camera": "decam", "extensions": "all", **settings}


def expected_calibrated(raw_extension: np.ndarray, ccd) -> np.ndarray:
    """An independent per-amplifier computation: per row, the median of the amplifier's
    overscan subtracted from its light, in float64; the lights placed in their bounding
    box; float32."""
    shape = raw_extension.shape
    lights = [parse_section(amp.light, shape) for amp in ccd.amps]
    x0, y0 = min(s.x1 for s in lights), min(s.y1 for s in lights)
    out = np.zeros((max(s.y2 for s in lights) - y0 + 1, max(s.x2 for s in lights) - x0 + 1))
    for amp, light in zip(ccd.amps, lights, strict=True):
        overscan = parse_section(amp.overscan, shape)
        levels = np.median(raw_extension[overscan.slices], axis=1)
        rows = slice(light.y1 - overscan.y1, light.y2 - overscan.y1 + 1)
        corrected = raw_extension[light.slices] - levels[rows, np.newaxis]
        out[light.y1 - y0 : light.y2 - y0 + 1, light.x1 - x0 : light.x2 - x0 + 1] = corrected
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def decam_night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decam")
    raw = folder / "raw"
    write_mosaic_night(raw, "decam_like", n_bias=5, n_flat=1, seed=8)
    work = folder / "work"
    work.mkdir()
    flow = Workflow(work, decam_config(raw, combine={"reject": {"algorithm": "none"}}))
    flow.run()
    return raw, flow


def test_each_extension_is_calibrated_amplifier_by_amplifier(decam_night):
    raw, flow = decam_night
    model = MOSAICS["decam_like"]
    for path in sorted(raw.glob("decam_like_000[1-5].fits.fz")):
        calibrated = flow.results / "calibrated" / path.name.removesuffix(".fz")
        with fitsio.FITS(str(path)) as source, fitsio.FITS(str(calibrated)) as result:
            assert [hdu.get_extname() for hdu in result][:5] == ["", "S1", "S2", "N1", "N2"]
            assert result[0].read_header()["RAWFILE"] == path.name
            for ccd in model.ccds:
                expected = expected_calibrated(source[ccd.extname].read().astype(np.int64), ccd)
                np.testing.assert_array_equal(result[ccd.extname].read(), expected)
                header = result[ccd.extname].read_header()
                assert header["CCDNUM"] == ccd.ccdnum and header["DETSEC"] == ccd.detsec
            table = result["OVERSCAN"].read()
            assert set(table["EXTNAME"]) == {"S1", "S2", "N1", "N2"}
            assert set(table["AMP"]) == {"A", "B"}


def test_the_master_of_each_extension_is_the_mean_of_its_frames(decam_night):
    from astropy.nddata import CCDData

    raw, flow = decam_night
    names = [f"decam_like_000{i}.fits" for i in range(1, 6)]
    for ccd in MOSAICS["decam_like"].ccds:
        frames = [fitsio.read(str(flow.results / "calibrated" / n), ext=ccd.extname) for n in names]
        stack = np.stack(frames, axis=-1).astype(np.float64)
        expected = (stack.sum(axis=-1) / len(frames)).astype(np.float32)
        master = fitsio.read(str(flow.master), ext=ccd.extname)
        np.testing.assert_array_equal(master, expected)
        ccd_data = CCDData.read(
            flow.master, hdu=ccd.extname, hdu_uncertainty=f"{ccd.extname}_UNCERT",
            hdu_mask=f"{ccd.extname}_MASK", unit="adu",
        )  # fmt: skip
        assert ccd_data.shape == master.shape and ccd_data.uncertainty is not None
        header = fitsio.read_header(str(flow.master), ext=ccd.extname)
        assert header["NCOMBINE"] == 5 and header["VERIFY"] == "pass"
        assert {"RDNOISE1", "RDNOISE2", "MNOISE1", "MNOISE2"} <= set(header.keys())
    # the amplifiers' read noise, measured (planted: A 6, B 7 ADU, and the overscan
    # median's noise per row on top)
    noise = fitsio.read_header(str(flow.master), ext="S1")
    assert 6.0 < noise["RDNOISE1"] < 6.6 and 7.0 < noise["RDNOISE2"] < 7.7


def test_changing_one_raw_file_reruns_its_frame_and_the_master(decam_night, tmp_path):
    raw, flow = decam_night
    assert flow.planned_jobs() == {}
    path = raw / "decam_like_0003.fits.fz"
    other = write_mosaic_night(tmp_path / "other", "decam_like", n_bias=3, n_flat=0, seed=99)
    path.write_bytes(other[2].read_bytes())
    assert flow.planned_jobs() == {
        "calibrate_frame": 1, "combine_biases": 1, "write_qc_tables": 1,
        "plot_master_figures": 1, "all": 1,
    }  # fmt: skip
    flow.run()


def test_extensions_combined_in_parts_give_the_same_master(decam_night, tmp_path):
    raw, flow = decam_night
    work = tmp_path / "parts"
    work.mkdir()
    combine = {"reject": {"algorithm": "none"}, "extensions_per_job": 3}
    parts = Workflow(work, decam_config(raw, combine=combine))
    jobs = parts.planned_jobs()
    assert jobs["combine_extensions"] == 2 and jobs["assemble_master"] == 1
    parts.run()
    assert parts.master.read_bytes() == flow.master.read_bytes()
    assert not (parts.results / "parts").exists() or not any((parts.results / "parts").iterdir())


def test_unnamed_extensions_with_their_own_sections(tmp_path):
    raw = tmp_path / "raw"
    write_mosaic_night(raw, "gmos_like", n_bias=4, n_flat=1, seed=5, compress=False)
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, {"raw_dir": str(raw), "camera": "gmos_n_hamamatsu", "group_by": []})
    flow.run()
    model = MOSAICS["gmos_like"]
    with fitsio.FITS(str(flow.master)) as fits:
        assert [hdu.get_extname() for hdu in fits][1::4] == ["HDU1", "HDU2", "HDU3", "HDU4"]
    calibrated = flow.results / "calibrated" / "gmos_like_0002.fits"
    for index, ccd in enumerate(model.ccds, start=1):
        source = fitsio.read(str(raw / "gmos_like_0002.fits"), ext=index).astype(np.int64)
        np.testing.assert_array_equal(
            fitsio.read(str(calibrated), ext=f"HDU{index}"), expected_calibrated(source, ccd)
        )
    mosaic = flow.results / "qc" / "figures"
    assert sorted(p.name for p in (mosaic / "extensions").glob("*.png")) == [
        "HDU1.png", "HDU2.png", "HDU3.png", "HDU4.png",
    ]  # fmt: skip


def test_a_chosen_list_of_extensions(tmp_path):
    raw = tmp_path / "raw"
    write_mosaic_night(raw, "decam_like", n_bias=3, n_flat=0, seed=2)
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, decam_config(raw, extensions=["n2", 1]))
    flow.run()
    with fitsio.FITS(str(flow.master)) as fits:
        assert [hdu.get_extname() for hdu in fits][1::4] == ["N2", "S1"]


def line_of(text: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith("masterbias: ")]
    assert lines, text[-3000:]
    return lines[0]


def test_mosaic_mistakes_name_the_file_the_extension_and_the_reason(tmp_path):
    raw = tmp_path / "raw"
    paths = write_mosaic_night(raw, "decam_like", n_bias=3, n_flat=0, seed=4, compress=False)
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, decam_config(raw))

    def rewrite(path, change):
        with fitsio.FITS(str(path)) as fits:
            hdus = [(hdu.read(), hdu.read_header(), hdu.get_extname()) for hdu in fits]
        change(hdus)
        with fitsio.FITS(str(path), "rw", clobber=True) as fits:
            for data, header, name in hdus:
                fits.write(data, header=header, extname=name or None)

    original = paths[1].read_bytes()

    def drop_keyword(hdus):
        hdus[2][1].delete("BIASSECB")

    rewrite(paths[1], drop_keyword)
    line = line_of(flow.fail())
    assert "decam_like_0002.fits [S2]: the header has no BIASSECB" in line
    assert "amplifiers[2].overscan" in line

    paths[1].write_bytes(original)

    def other_shape(hdus):
        data, header, name = hdus[3]
        hdus[3] = (data[:, :80], header, name)

    rewrite(paths[1], other_shape)
    line = line_of(flow.fail())
    assert "decam_like_0002.fits: extension N1 is 70 x 80 but most biases are 70 x 86" in line

    paths[1].write_bytes(original)

    def no_n2(hdus):
        del hdus[4]

    rewrite(paths[1], no_n2)
    line = line_of(flow.fail())
    assert re.search(r"decam_like_0002\.fits: its image extensions differ from most biases'"
                     r".* \(S1, S2, N1, N2\): without N2;", line)  # fmt: skip

    paths[1].write_bytes(original)

    def outside(hdus):
        hdus[1][1]["DATASECA"] = "[44:90,7:70]"

    rewrite(paths[1], outside)
    line = line_of(flow.fail())
    assert "decam_like_0002.fits [S1]" in line and "outside the image" in line
