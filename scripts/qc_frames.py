"""Snakemake job: the QC tables of the calibrated biases and of every master."""

from masterbias.jobs import run_job
from masterbias.task_qc import write_qc


def main(snakemake):
    run_job(
        lambda logger: write_qc(
            dict(zip(snakemake.params.groups, snakemake.input.records, strict=True)),
            snakemake.params.frames,
            snakemake.output.frames,
            snakemake.output.night,
            snakemake.output.rejections,
            logger,
        ),
        "qc_frames",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
