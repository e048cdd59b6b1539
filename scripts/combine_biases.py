"""Snakemake job: combine the calibrated biases into the master bias (or a part of a
mosaic's: some of its extensions), in row bands."""

from masterbias.jobs import run_job
from masterbias.resources import working_bytes
from masterbias.task_combine import combine_files


def main(snakemake):
    run_job(
        lambda logger: combine_files(
            list(snakemake.input.calibrated),
            snakemake.params.frames,
            snakemake.output.master,
            snakemake.output.record,
            snakemake.params.combine,
            working_bytes(snakemake.resources.mem_mb),
            snakemake.threads,
            logger,
            snakemake.params.get("extensions"),
            snakemake.params.get("seal"),
        ),
        "combine_biases",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
