"""Snakemake job: a mosaic's master from the parts its extensions were combined in."""

from masterbias.jobs import run_job
from masterbias.task_combine import assemble_master


def main(snakemake):
    run_job(
        lambda logger: assemble_master(
            list(snakemake.input.parts),
            list(snakemake.input.records),
            snakemake.output.master,
            snakemake.output.record,
            logger,
            snakemake.params.seal,
        ),
        "assemble_master",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
