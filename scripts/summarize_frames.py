"""Snakemake job: the table of every raw file's header and whether it was selected."""

import json

from masterbias.jobs import run_job
from masterbias.task_summary import write_summary


def work(snakemake, logger):
    with open(snakemake.input.plan) as stream:
        rows = json.load(stream)  # what the planning read (rules/common.smk: summary_plan)
    write_summary(rows, snakemake.output.summary, logger)


def main(snakemake):
    run_job(lambda logger: work(snakemake, logger), "summarize_frames", snakemake.log[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
