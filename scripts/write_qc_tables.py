"""Snakemake job: the QC tables of the frames and the masters, and the detector's history."""

from masterbias.history import write_history
from masterbias.jobs import run_job
from masterbias.task_qc import write_qc


def work(snakemake, logger):
    records = dict(zip(snakemake.params.groups, snakemake.input.records, strict=True))
    write_qc(
        records,
        snakemake.params.frames,
        snakemake.output.frames,
        snakemake.output.night,
        snakemake.output.rejections,
        logger,
    )
    write_history(
        snakemake.params.infos,
        records,
        dict(zip(snakemake.params.compared, snakemake.input.changes, strict=True)),
        snakemake.params.masters,
        snakemake.output.history,
        snakemake.output.history_figure,
        logger,
    )


def main(snakemake):
    run_job(lambda logger: work(snakemake, logger), "write_qc_tables", snakemake.log[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
