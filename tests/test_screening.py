"""Bad frames are left out before the combination, with the reason, never silently."""

import csv

import fitsio
import numpy as np
import pytest

from conftest import Workflow, base_config
from masterbias.screening import FrameMetrics, screen_frames
from masterbias.synth import CAMERAS, make_frame, make_truth, quantise, write_frame


def metrics(name, level=1100.0, median=0.0, noise=4.0, gradient=0.3):
    return FrameMetrics(name, level, median, noise, gradient)


def test_outliers_in_each_metric_are_named_with_the_reason():
    frames = [metrics(f"f{i}", level=1100 + i * 0.5) for i in range(8)]
    frames += [metrics("leak", median=35.0, gradient=60.0), metrics("noisy", noise=12.0)]
    excluded = screen_frames(frames, sigma=10)
    assert set(excluded) == {"leak", "noisy"}
    assert excluded["leak"].startswith("median 35.000 ADU is") and "above" in excluded["leak"]
    assert excluded["noisy"].startswith("noise 12.000 ADU is")


def test_small_sets_and_quiet_sets_are_left_alone():
    assert screen_frames([metrics("a"), metrics("b", noise=40.0)], sigma=10) == {}
    quiet = [metrics(f"q{i}", median=0.01 * i) for i in range(9)]  # spread ~0.03 ADU
    assert screen_frames(quiet, sigma=10) == {}


@pytest.mark.workflow
def test_a_light_leak_and_a_noisy_frame_are_left_out(tmp_path):
    camera = CAMERAS["small"]
    truth = make_truth(camera, 3)
    raw = tmp_path / "raw"
    raw.mkdir()
    header = [{"name": "IMAGETYP", "value": "BIAS"}]
    for index in range(8):
        rng = np.random.default_rng(index)
        frame = make_frame(camera, truth, rng)
        if index == 3:  # a light leak: a glow across the light area
            frame[:, :64] += np.linspace(0, 80, 64)[np.newaxis, :]
        if index == 5:  # a noisy readout
            frame += rng.normal(0, 12.0, frame.shape)
        write_frame(raw / f"b{index}.fits", quantise(frame, "uint16"), header)
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, base_config(raw))
    flow.run()
    master_header = fitsio.read_header(str(flow.master))
    assert master_header["NCOMBINE"] == 6
    assert {master_header["EXCL0001"], master_header["EXCL0002"]} == {"b3.fits", "b5.fits"}
    rows = {
        row["file"]: row for row in csv.DictReader(open(flow.results / "qc" / "rejections.csv"))
    }
    assert rows["b3.fits"]["left_out"].startswith(("median", "gradient"))
    assert rows["b5.fits"]["left_out"].startswith("noise")
    log = (flow.results / "logs" / "combine_biases.log").read_text()
    assert "left out b3.fits" in log and "left out b5.fits" in log

    flow.config["combine"] = {"reject_frames": None}  # the user keeps every frame
    flow.write_config()
    flow.run()
    assert fitsio.read_header(str(flow.master))["NCOMBINE"] == 8
