"""The code digest of a job follows the package modules its script imports, at any depth."""

from conftest import REPO
from masterbias.codehash import code_digest, package_modules

SCRIPTS = REPO / "scripts"


def names(script):
    return {path.stem for path in package_modules(script)}


def test_a_job_depends_on_the_modules_it_imports_and_not_on_the_others():
    frame = names(SCRIPTS / "calibrate_frame.py")
    # calibration and headers are imported inside calibrate_file, not at the top
    assert {"task_calibrate", "calibration", "headers", "fitsfile", "layout"} <= frame
    assert not {"combine", "stacking", "figures", "planning"} & frame
    combine = names(SCRIPTS / "combine_biases.py")
    assert {"task_combine", "stacking", "combine", "rejection"} <= combine
    assert "figures" not in combine


def test_imports_in_functions_and_blocks_are_followed(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        "import json\n"
        "def main():\n"
        "    try:\n"
        "        if True:\n"
        "            from masterbias.figures import save_png\n"
        "    except ImportError:\n"
        "        import masterbias.history\n"
        "    finally:\n"
        "        pass\n"
    )
    assert {"figures", "history", "__init__"} <= names(script)
    assert "combine" not in names(script)
    other = tmp_path / "other.py"
    other.write_text("from masterbias import keywords\n")
    assert code_digest(script) != code_digest(other)
