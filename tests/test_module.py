"""The workflow as a building block: a parent workflow imports it with Snakemake's module."""

import subprocess

import pytest

from conftest import REPO, SNAKEMAKE, Workflow, base_config

pytestmark = pytest.mark.workflow

PARENT = """
# A larger reduction that makes its master bias with this workflow.
module masterbias:
    snakefile: "{snakefile}"
    config: {config}


use rule * from masterbias as masterbias_*


rule reduction:
    default_target: True
    input:
        rules.masterbias_all.input,
    output:
        "reduction.done",
    shell:
        "touch {{output}}"
"""


def test_a_parent_workflow_gets_the_standalone_master(tmp_path, small_night):
    config = base_config(small_night)
    (tmp_path / "standalone").mkdir()
    standalone = Workflow(tmp_path / "standalone", config)
    standalone.run()

    parent = tmp_path / "parent"
    parent.mkdir()
    # the parent passes the whole configuration as a dict; no config file of ours is read,
    # so the camera preset of config/config.yaml is not under it
    module_config = dict(config, camera="palomar_lfc")
    snakefile = PARENT.format(snakefile=REPO / "Snakefile", config=repr(module_config))
    (parent / "Snakefile").write_text(snakefile)
    done = subprocess.run(
        SNAKEMAKE + ["--cores", "2", "--directory", str(parent), "--snakefile",
                     str(parent / "Snakefile")],
        capture_output=True, text=True, cwd=parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (parent / "reduction.done").exists()
    master = parent / "results" / "master_bias.fits"
    assert master.read_bytes() == standalone.master.read_bytes()
    rules = subprocess.run(
        SNAKEMAKE + ["--list-rules", "--snakefile", str(parent / "Snakefile")],
        capture_output=True, text=True, cwd=parent,
    ).stdout.split()  # fmt: skip
    assert {"masterbias_calibrate_frame", "masterbias_combine_biases", "reduction"} <= set(rules)
