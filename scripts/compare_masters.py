"""Snakemake job: what changed between a master and the one before it in its series."""

from masterbias.history import compare_masters
from masterbias.jobs import run_job


def main(snakemake):
    run_job(
        lambda logger: compare_masters(
            snakemake.input.master, snakemake.input.previous, snakemake.output.changes, logger
        ),
        "compare_masters",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
