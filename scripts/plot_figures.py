"""Snakemake job: the QC figures of one master bias."""

from masterbias.jobs import run_job
from masterbias.task_figures import FIGURES, draw_figures


def main(snakemake):
    run_job(
        lambda logger: draw_figures(
            list(snakemake.input.calibrated),
            snakemake.input.raw,
            snakemake.params.raw_hdu,
            snakemake.input.master,
            snakemake.input.record,
            snakemake.params.frames,
            {key: snakemake.output[key] for key in [*FIGURES, "extensions"]},
            logger,
        ),
        "plot_figures",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
