"""Snakemake job: the QC figures of one master bias."""

from masterbias.jobs import run_job
from masterbias.task_figures import MASTER_FIGURES, draw_master_figures


def main(snakemake):
    run_job(
        lambda logger: draw_master_figures(
            list(snakemake.input.calibrated),
            snakemake.input.master,
            snakemake.input.record,
            snakemake.params.frames,
            {key: snakemake.output[key] for key in [*MASTER_FIGURES, "extensions"]},
            logger,
        ),
        "plot_master_figures",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
