"""The overscan inspector on planted leaks and bad columns, and on the NASA42 frames."""

import csv

import numpy as np

from masterbias.inspect_overscan import main, profile_overscan
from masterbias.sections import parse_section
from masterbias.synth import CAMERAS, make_frame, make_truth, quantise


def small_frames(count=3, bad_column=None):
    camera = CAMERAS["small"]  # overscan [65:80,*], leaked charge in its first 3 columns
    truth = make_truth(camera, 1)
    frames = []
    for index in range(count):
        frame = make_frame(camera, truth, np.random.default_rng(index))
        if bad_column is not None:
            frame[:, bad_column - 1] -= 300.0
        frames.append(quantise(frame, "uint16"))
    return frames


def test_leaked_charge_bad_column_and_suggestion():
    frames = small_frames(bad_column=79)
    profile = profile_overscan(frames, parse_section("[65:80,*]", frames[0].shape))
    assert profile.leaking == [65, 66, 67]
    assert profile.bad == [79]
    assert profile.suggested.fits == "[68:78,1:64]"
    assert abs(profile.plateau - 1100.0) < 5


def test_clean_overscan_suggests_all_of_it():
    frames = small_frames()
    profile = profile_overscan(frames, parse_section("[68:80,*]", frames[0].shape))
    assert profile.leaking == [] and profile.bad == []
    assert profile.suggested.fits == "[68:80,1:64]"


def test_command_writes_table_and_plot_for_nasa42(tmp_path, realdata):
    frames = sorted(str(p) for p in (realdata / "lowell_hall42_nasa42").glob("*.fits.gz"))[:3]
    profile = main([*frames, "--out", str(tmp_path / "out")])  # BIASSEC from the header
    assert profile.bad == [1432]  # the dead last column, ~700 ADU low
    assert profile.suggested.fits == "[1388:1431,1:1370]"
    rows = list(csv.DictReader(open(tmp_path / "out" / "overscan_profile.csv")))
    assert rows[-1] == {**rows[-1], "column": "1432", "flag": "bad"}
    assert (tmp_path / "out" / "overscan_profile.png").read_bytes().startswith(b"\x89PNG")
