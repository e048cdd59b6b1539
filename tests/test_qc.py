"""Per-frame QC: statistics, the rejected fraction, and read noise from frame differences."""

import csv

import fitsio
import numpy as np
import pytest

from masterbias.task_qc import write_frame_qc


def test_pair_noise_recovers_the_planted_read_noise(tmp_path):
    rng = np.random.default_rng(0)
    pattern = rng.normal(0, 20, (300, 200))  # fixed structure: cancels in differences
    paths = []
    for index in range(4):
        path = tmp_path / f"c{index}.fits"
        frame = (pattern + rng.normal(0, 6.0, pattern.shape) + 3.0).astype(np.float32)
        header = {"OVSCLEV1": 1000.0 + index, "OVSCRMS1": 6.1, "GAIN": 1.5}
        fitsio.write(str(path), frame, header=header)
        paths.append(str(path))
    table = tmp_path / "rejections.csv"
    table.write_text("file,rejected_pixels,rejected_fraction\nc2.fits,60,0.001\n")
    night = write_frame_qc(paths, [str(table)], str(tmp_path / "f.csv"), str(tmp_path / "n.csv"))
    assert night["frames"] == 4
    assert night["read_noise_adu"] == pytest.approx(6.0, rel=0.03)
    assert night["read_noise_e"] == pytest.approx(9.0, rel=0.03)
    rows = list(csv.DictReader(open(tmp_path / "f.csv")))
    assert [row["file"] for row in rows] == ["c0.fits", "c1.fits", "c2.fits", "c3.fits"]
    assert rows[2]["rejected_fraction"] == "0.001" and rows[0]["rejected_fraction"] == ""
    assert float(rows[1]["overscan_level_adu"]) == 1001.0
    assert float(rows[0]["median_adu"]) == pytest.approx(3.0, abs=2.0)
    assert float(rows[0]["robust_std_adu"]) == pytest.approx(np.hypot(20, 6), rel=0.05)
    for row in rows:
        assert float(row["pair_noise_adu"]) == pytest.approx(6.0, rel=0.05)
        assert float(row["read_noise_e"]) == pytest.approx(9.0, rel=0.05)


def test_workflow_writes_the_qc_tables(workflow):
    workflow.run()
    rows = list(csv.DictReader(open(workflow.results / "qc" / "frames.csv")))
    assert len(rows) == 5
    fractions = [float(row["rejected_fraction"]) for row in rows]
    assert all(0 <= f < 0.1 for f in fractions)
    night = next(csv.DictReader(open(workflow.results / "qc" / "night.csv")))
    # the small camera's read noise is 4 ADU; calibration adds the noise of the per-row
    # overscan median (13 columns) and the digitisation
    assert 3.8 < float(night["read_noise_adu"]) < 4.8


def test_gain_from_a_number_a_keyword_or_nothing():
    from masterbias.task_qc import frame_gain

    header = {"GAIN": 0.91, "ESO DET OUT1 CONAD": 1.1, "ODD": "fast"}
    assert frame_gain(header, 2.5) == 2.5
    assert frame_gain(header, "ESO DET OUT1 CONAD") == 1.1
    assert frame_gain(header, "GAIN") == 0.91
    assert frame_gain(header, "ODD") is None and frame_gain(header, "MISSING") is None
    assert frame_gain(header, None) is None
