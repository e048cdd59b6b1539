"""Configuration mistakes stop the run before any job, naming the key and what is allowed."""

import subprocess
import sys

import fitsio
import pytest

from conftest import REPO

pytestmark = pytest.mark.workflow


def message(flow, **changes):
    for key, value in changes.items():
        flow.config[key] = value
    flow.write_config()
    text = flow.fail()
    lines = [line for line in text.splitlines() if line.startswith("masterbias: ")]
    assert lines, text[-3000:]
    assert not flow.results.joinpath("calibrated").exists()  # no job ran
    return lines[0]


def test_unknown_key(flow):
    line = message(flow, combne={"method": "median"})
    assert "config key 'combne': is not a known setting" in line and "combine" in line


def test_unknown_nested_key(flow):
    line = message(flow, combine={"method": "average", "sigmaclip": None})
    assert "'combine.sigmaclip': is not a known setting" in line and "sigma_clip" in line


def test_wrong_type(flow):
    line = message(flow, combine={"mem_limit": [512]})
    assert "'combine.mem_limit'" in line and "is not of type" in line


def test_value_not_allowed(flow):
    line = message(flow, overscan={"method": "average", "region": "[70:80,*]"})
    assert "'overscan.method'" in line and "allowed: 'median', 'mean', 'none'" in line


def test_malformed_section(flow):
    line = message(flow, overscan={"method": "median", "region": "2056:2080"})
    assert "config overscan.region" in line and "malformed" in line
    assert "expected '[x1:x2,y1:y2]'" in line


def test_bad_memory_size(flow):
    line = message(flow, combine={"mem_limit": "lots"})
    assert "'combine.mem_limit'" in line and "is not a size" in line


def test_out_dir_inside_raw_dir(flow):
    line = message(flow, out_dir=str(flow.directory.parent / "raw" / "reduced"))
    assert "config key 'out_dir'" in line and "inside raw_dir" in line


def test_out_dir_equal_to_raw_dir(flow):
    line = message(flow, out_dir=flow.config["raw_dir"])
    assert "config key 'out_dir'" in line and "inside raw_dir" in line


def test_raw_dir_missing(flow):
    line = message(flow, raw_dir=str(flow.directory / "nowhere"))
    assert "config key 'raw_dir'" in line and "is not an existing folder" in line


def test_raw_dir_empty(flow):
    (flow.directory / "empty").mkdir()
    line = message(flow, raw_dir=str(flow.directory / "empty"))
    assert "config key 'raw_dir'" in line and "holds no FITS files" in line


def test_no_bias_selected_says_what_the_headers_hold(flow):
    line = message(flow, select={"IMAGETYP": ["ZERO"]})
    assert "config key 'select': no bias selected among 7 files" in line
    assert "'BIAS' (5)" in line and "'FLATFIELD' (1)" in line and "'OBJECT' (1)" in line


def test_raw_dir_inside_out_dir(flow):
    (flow.directory / "results" / "incoming").mkdir(parents=True)
    line = message(flow, raw_dir=str(flow.directory / "results" / "incoming"))
    assert "config key 'raw_dir'" in line and "is inside out_dir" in line


def test_braces_in_out_dir_or_a_raw_name_say_what_to_do(flow):
    line = message(flow, out_dir="out_{4}")
    assert "config key 'out_dir'" in line and "holds '{' or '}'" in line
    flow.config["out_dir"] = "results"
    raw = flow.directory / flow.config["raw_dir"]
    (raw / "small.0002.fits").rename(raw / "bias_{4}.fits")
    line = message(flow)
    assert "bias_{4}.fits: its name holds '{' or '}'" in line and "'exclude'" in line
    flow.config["exclude"] = ["bias_*"]
    flow.write_config()
    flow.run()


def test_impossible_rejection_and_memory_are_refused_before_any_job(flow):
    line = message(flow, combine={"reject": {"algorithm": "minmax", "nlow": 2, "nhigh": 3}})
    assert "config key 'combine.reject': minmax rejects nlow + nhigh = 5" in line
    assert "none of the 5 biases" in line
    line = message(flow, combine={"mem_limit": "1KB"})
    assert "config key 'combine.mem_limit': 1000 bytes cannot hold one row of 5 frames" in line


def test_nested_settings_on_the_command_line(flow):
    # Snakemake reads the values of a block given on the command line as strings
    done = flow.run("--config", "combine={method: median, min_frames: 4, reject_frames: null}")
    assert "Traceback" not in done.stderr
    header = fitsio.read_header(str(flow.master))
    assert header["COMBMETH"] == "median" and header["REJECT"] == "ccdclip"
    text = flow.fail("--config", "combine={methd: median}")
    line = next(line for line in text.splitlines() if line.startswith("masterbias: "))
    assert "config key 'combine.methd': is not a known setting" in line


def test_a_config_file_mistake_is_named_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("raw_dir: raw\ncombine:\n\tmethod: median\n")
    done = subprocess.run(
        [sys.executable, "-m", "masterbias.config", "--check", str(bad)],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "scripts")},
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().startswith(f"masterbias: {bad}:3:1: not valid YAML")
    assert "\n" not in done.stderr.strip()
