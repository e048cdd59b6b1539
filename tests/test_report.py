"""The QC figures (planted values through the drawing functions) and the HTML report, built
by Snakemake and rendered by headless Chromium."""

import base64
import json
import os
import re
import shutil
import subprocess

import fitsio
import matplotlib.image
import numpy as np
import pytest

from masterbias import figures
from masterbias.task_figures import FIGURES, frame_times


def test_binning_keeps_every_count_and_averages_images():
    counts = np.zeros((3000, 2000), dtype=np.int16)
    counts[1234, 567] = 1  # one rejected value among six million
    binned = figures.bin_image(counts, how="sum")
    assert max(binned.shape) <= figures.DISPLAY_PIXELS and binned.sum() == 1
    image = np.arange(12.0).reshape(3, 4)
    assert figures.bin_image(image, limit=2).tolist() == [[2.5, 4.5]]
    assert figures.bin_image(image).shape == (3, 4)


def test_stretch_ignores_the_extremes():
    image = np.zeros((100, 100))
    image[0, 0], image[1, 1] = 1e6, -1e6
    image[50:] = 10.0
    assert figures.stretch(image) == (0.0, 10.0)
    assert figures.stretch(np.full((3, 3), np.nan)) == (0.0, 1.0)


def test_frame_times_from_dates_or_the_order():
    times, dated = frame_times(["2026-11-23T02:00:00", "2026-11-23T03:30:00", None])
    assert not dated and times == [0.0, 1.0, 2.0]
    times, dated = frame_times(["2026-11-23T02:00:00", "2026-11-23T03:30:00.5"])
    assert dated and times == pytest.approx([0.0, 1.5 + 0.5 / 3600])
    assert frame_times(["23/11/26", "24/11/26"]) == ([0.0, 1.0], False)


def test_night_trends_draw_every_frame_and_mark_those_left_out():
    rows = [
        {"time": hour, "dated": True, "overscan_level_adu": 1000.0 + hour, "median_adu": 0.1,
         "robust_std_adu": 4.0, "pair_noise_adu": 3.9, "left_out": ""}
        for hour in range(7)
    ]  # fmt: skip
    rows[3].update(median_adu=40.0, left_out="median 40.000 ADU is 30 sigma above")
    figure = figures.night_trends(rows)
    level_axes = figure.axes[0]
    kept, out = level_axes.lines[0], level_axes.lines[1]
    assert len(kept.get_xdata()) == 6 and list(out.get_xdata()) == [3.0]
    assert "1 left out" in level_axes.get_title()
    assert figure.axes[1].get_xlabel() == "hours since the first frame"


def test_rejection_map_counts_in_the_title():
    counts = np.zeros((50, 40), dtype=np.int16)
    counts[5, 6], counts[30, 2] = 2, 1
    figure = figures.rejection_map(counts, frames=10)
    assert figure.axes[0].get_title() == "rejected: 3 of 20000 values (0.0150 %)"


def test_overscan_figure_has_a_line_per_frame_and_amplifier():
    rows = np.arange(1, 65)
    levels = {
        "a.fits": [("1", rows, 1000 + rows * 0.01), ("2", rows, 990 + rows * 0.02)],
        "b.fits": [("1", rows, 1001 + rows * 0.01), ("2", rows, 991 + rows * 0.02)],
    }
    figure = figures.overscan_along_rows(levels)
    lines = figure.axes[0].lines
    assert len(lines) == 4 and lines[1].get_ydata()[0] == pytest.approx(990.02)


def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (make test installs it as root)")
    pytest.skip("chromium is not installed: apt-get install chromium")


def report_items(html: str) -> dict:
    """The results a Snakemake report embeds: path -> item (name, caption, data_uri)."""
    items = {}
    for match in re.finditer(r'"(results/[^"]+)": (\{"name": )', html):
        decoder = json.JSONDecoder()
        item, _ = decoder.raw_decode(html, match.start(2))
        items[match.group(1)] = item
    return items


@pytest.mark.workflow
def test_the_report_holds_every_figure_and_chromium_renders_it(flow, tmp_path):
    browser = chromium()
    flow.run()
    folder = flow.results / "qc" / "figures"
    for name in FIGURES.values():
        png = folder / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        pixels = matplotlib.image.imread(str(png))
        assert pixels.shape[0] >= 400 and pixels.shape[1] >= 700, name
        assert pixels[..., :3].std() > 0.05, f"{name} looks blank"

    report = flow.directory / "report.html"
    flow.run("--report", str(report))
    html = report.read_text()
    items = report_items(html)
    for name in FIGURES.values():
        item = items[f"results/qc/figures/{name}"]
        data = base64.b64decode(item["data_uri"].split("base64,", 1)[1])
        assert data == (folder / name).read_bytes(), name
        assert len(item["caption"]) > 200, name
    for table in ("summary.csv", "qc/frames.csv", "qc/night.csv", "qc/rejections.csv"):
        assert f"results/{table}" in items, table

    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    shot = tmp_path / "report.png"
    subprocess.run(common + ["--window-size=1280,1600", f"--screenshot={shot}",
                             report.as_uri()], capture_output=True, timeout=180)  # fmt: skip
    image = matplotlib.image.imread(str(shot))
    assert image.shape[:2] == (1600, 1280) and image[..., :3].std() > 0.1
    dom = subprocess.run(common + ["--dump-dom", report.as_uri()], capture_output=True,
                         text=True, timeout=180).stdout  # fmt: skip
    # the report's script ran: its menu and the workflow description are HTML elements
    for element in ("<span>Figures</span>", "<span>Tables</span>", "Master bias of the night</h1>"):
        assert element in dom, element
    assert "<span>Figures</span>" not in html  # not there before the script ran


@pytest.mark.workflow
def test_figures_of_each_group(tmp_path):
    from conftest import Workflow, base_config
    from masterbias.synth import write_night

    raw = tmp_path / "raw"
    for index, filt in enumerate(["B", "R"]):
        write_night(raw / filt, "small", n_bias=3, n_flat=0, n_light=0, seed=index,
                    compress=False)  # fmt: skip
        for path in (raw / filt).iterdir():
            data, header = fitsio.read(str(path), header=True)
            header["AMPMODE"] = filt
            fitsio.write(str(raw / f"{filt}-{path.name}"), data, header=header)
        shutil.rmtree(raw / filt)
    work = tmp_path / "work"
    work.mkdir()
    flow = Workflow(work, base_config(raw, group_by=["AMPMODE"]))
    flow.run()
    for group in ("B", "R"):
        for name in FIGURES.values():
            assert (flow.results / "qc" / "figures" / group / name).stat().st_size > 10_000


def test_histogram_bins_follow_digitised_values():
    whole = np.array([-3.0, 0.0, 2.0, 5.0])
    edges = figures.histogram_edges(whole, -3.0, 5.0)
    assert edges[0] == -3.5 and np.allclose(np.diff(edges), 1.0)
    halves = np.array([-1.5, 0.0, 0.5])
    assert np.allclose(np.diff(figures.histogram_edges(halves, -1.5, 0.5)), 0.5)
    wide = figures.histogram_edges(whole * 100, -300.0, 500.0)
    assert np.allclose(np.diff(wide), 4.0) and wide[0] == -300.5
    smooth = figures.histogram_edges(np.array([0.1, 0.37]), 0.0, 1.0)
    assert smooth.size == 201
