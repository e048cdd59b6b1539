"""Per-frame QC: statistics, the rejected fraction, and read noise from frame differences."""

import csv

import fitsio
import numpy as np
import pytest

from masterbias.config import default_config
from masterbias.task_combine import combine_files
from masterbias.task_qc import write_qc


def test_pair_noise_recovers_the_planted_read_noise(tmp_path):
    rng = np.random.default_rng(0)
    pattern = rng.normal(0, 20, (300, 200))  # fixed structure: cancels in differences
    paths, frames = [], {}
    for index in range(4):
        path = tmp_path / f"c{index}.fits"
        frame = (pattern + rng.normal(0, 6.0, pattern.shape) + 3.0).astype(np.float32)
        header = {"OVSCLEV1": 1000.0 + index, "OVSCRMS1": 6.1, "CALMED": 3.0, "CALRMS": 21.0}
        fitsio.write(str(path), frame, header=header)
        paths.append(str(path))
        frames[path.name] = f"2026-03-0{index + 1}T12:00:00.000"
    record = tmp_path / "combine.json"
    combine = default_config()["combine"]
    combine_files(paths, frames, str(tmp_path / "m.fits"), str(record), combine, 10**8)
    facts = {name: {"time": time, "gain": 1.5} for name, time in frames.items()}
    tables = [tmp_path / name for name in ("f.csv", "n.csv", "r.csv")]
    write_qc({"": str(record)}, facts, *map(str, tables))
    night = list(csv.DictReader(open(tables[1])))
    assert len(night) == 1 and night[0]["frames"] == "4"
    assert float(night[0]["read_noise_adu"]) == pytest.approx(6.0, rel=0.03)
    assert float(night[0]["read_noise_e"]) == pytest.approx(9.0, rel=0.03)
    assert fitsio.read_header(str(tmp_path / "m.fits"))["RDNOISE1"] == pytest.approx(
        float(night[0]["read_noise_adu"]), abs=1e-4
    )  # one estimate: the master's and the table's
    rows = list(csv.DictReader(open(tables[0])))
    assert [row["file"] for row in rows] == ["c0.fits", "c1.fits", "c2.fits", "c3.fits"]
    assert [row["date_obs"] for row in rows] == list(frames.values())
    assert float(rows[1]["overscan_level_adu"]) == 1001.0
    for row in rows:
        assert float(row["pair_noise_adu"]) == pytest.approx(6.0, rel=0.05)
        assert float(row["read_noise_e"]) == pytest.approx(9.0, rel=0.05)
        assert float(row["rejected_fraction"]) < 1e-3


def test_workflow_writes_the_qc_tables(flow):
    flow.run()
    rows = list(csv.DictReader(open(flow.results / "qc" / "frames.csv")))
    assert len(rows) == 5
    fractions = [float(row["rejected_fraction"]) for row in rows]
    assert all(0 <= f < 0.1 for f in fractions)
    night = next(csv.DictReader(open(flow.results / "qc" / "night.csv")))
    assert night["read_noise_adu"] == str(fitsio.read_header(str(flow.master))["RDNOISE1"])
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
