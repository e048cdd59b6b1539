"""Snakemake job: the table of every raw file's header and whether it was selected."""

from masterbias.jobs import run_job
from masterbias.task_summary import write_summary


def main(snakemake):
    run_job(
        lambda logger: write_summary(
            list(snakemake.input.raw), snakemake.params.rows, snakemake.output.summary, logger
        ),
        "summarize_frames",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
