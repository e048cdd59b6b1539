"""File names with spaces, quotes, unicode, brackets and leading dashes work end to end."""

import shutil

import fitsio
import pytest

from conftest import Workflow, base_config
from masterbias.synth import write_night

pytestmark = pytest.mark.workflow

NAMES = [
    "bias 1.fits",
    "it's bias.fits",
    'say "bias".fits.gz',
    "bïas-ünïcode.fits",
    "-leading-dash.fits",
    "bias[2].fits",
    "bias (3).fits.gz",
]


def test_awkward_names_end_to_end(tmp_path):
    made = write_night(tmp_path / "made", "small", n_bias=len(NAMES), n_flat=0, n_light=0, seed=4)
    raw = tmp_path / "raw [night 1]"
    raw.mkdir()
    for index, name in enumerate(NAMES):
        source = made[index % len(made)]
        if name.endswith(".gz"):
            shutil.copy(source, raw / name)
        else:  # uncompressed: cfitsio cannot write these names itself, so write then move
            plain = tmp_path / "plain.fits"
            fitsio.write(str(plain), fitsio.read(str(source)), header=fitsio.read_header(
                str(source)), clobber=True)  # fmt: skip
            shutil.move(plain, raw / name)
    work = tmp_path / "work dir"
    work.mkdir()
    flow = Workflow(work, base_config(raw))
    flow.run()
    calibrated = sorted(p.name for p in (flow.results / "calibrated").iterdir())
    assert calibrated == sorted(name.removesuffix(".gz") for name in NAMES)
    header = fitsio.read_header(str(flow.master))
    assert header["NCOMBINE"] == len(NAMES)
    ascii_names = {name.encode("ascii", "backslashreplace").decode() for name in calibrated}
    assert {header[f"IMCMB{i:03d}"] for i in range(1, len(NAMES) + 1)} == ascii_names
    assert "b\\xefas-\\xfcn\\xefcode.fits" in ascii_names  # FITS headers are ASCII
    assert flow.planned_jobs() == {}
