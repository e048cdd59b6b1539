"""Snakemake job: the QC tables of the frames and the masters, and the detector's history."""

import json

from masterbias.history import write_history
from masterbias.jobs import run_job
from masterbias.registry import load, write_choices
from masterbias.task_qc import write_qc


def work(snakemake, logger):
    with open(snakemake.input.plan) as stream:
        plan = json.load(stream)  # what the planning knows (rules/common.smk: history_plan)
    write_qc(
        plan["records"],
        plan["frames"],
        snakemake.output.frames,
        snakemake.output.night,
        snakemake.output.rejections,
        logger,
    )
    write_history(
        plan["infos"],
        plan["records"],
        plan["masters"],
        plan["out_dir"],
        snakemake.output.history,
        snakemake.output.history_figure,
        snakemake.params.code,
        snakemake.threads,
        logger,
        plan["rule"],
    )
    masters = load(plan["out_dir"])["masters"]
    write_choices(plan["applied"], masters, snakemake.output.choices, plan["debiased"])


def main(snakemake):
    run_job(lambda logger: work(snakemake, logger), "write_qc_tables", snakemake.log[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
