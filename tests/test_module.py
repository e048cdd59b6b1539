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


def run_parent(parent, snakefile: str) -> None:
    """Run the parent workflow ``snakefile`` in ``parent``; it must succeed."""
    (parent / "Snakefile").write_text(snakefile)
    done = subprocess.run(
        SNAKEMAKE + ["--cores", "2", "--directory", str(parent), "--snakefile",
                     str(parent / "Snakefile")],
        capture_output=True, text=True, cwd=parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]


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
    run_parent(parent, PARENT.format(snakefile=REPO / "Snakefile", config=repr(module_config)))
    assert (parent / "reduction.done").exists()
    master = parent / "results" / "master_bias.fits"
    assert master.read_bytes() == standalone.master.read_bytes()
    rules = subprocess.run(
        SNAKEMAKE + ["--list-rules", "--snakefile", str(parent / "Snakefile")],
        capture_output=True, text=True, cwd=parent,
    ).stdout.split()  # fmt: skip
    assert {"masterbias_calibrate_frame", "masterbias_combine_biases", "reduction"} <= set(rules)


CHOOSING_PARENT = """
module masterbias:
    snakefile: "{snakefile}"
    config: {config}


use rule * from masterbias as masterbias_*


rule flat_minus_bias:
    input:
        flat="{raw}/{{flat}}.fits",
        # calibrations.json: every master, verified, and the rule that chooses among them
        registry=rules.masterbias_write_qc_tables.output.registry,
    output:
        "flats/{{flat}}.txt",
    run:
        from masterbias.registry import choose_master  # the module put it on sys.path

        choice = choose_master("results", input.flat)
        if choice.master is None:
            raise ValueError(f"{{input.flat}}: no master: {{choice.reason}}")
        with open(output[0], "w") as stream:  # here, the flat less results/{{choice.master}}
            stream.write(f"results/{{choice.master}}\\n")


rule flats:
    default_target: True
    input:
        "flats/small.0006.txt",
"""


def test_a_parent_workflow_takes_each_flats_master_through_the_choice(tmp_path, small_night):
    parent = tmp_path / "parent"
    parent.mkdir()
    config = dict(base_config(small_night), group_by=["night"])
    run_parent(parent, CHOOSING_PARENT.format(snakefile=REPO / "Snakefile", config=repr(config),
                                              raw=small_night))  # fmt: skip
    (master,) = (parent / "results" / "master_bias").glob("*.fits")
    assert (parent / "flats" / "small.0006.txt").read_text().strip() == (
        f"results/master_bias/{master.name}"
    )
