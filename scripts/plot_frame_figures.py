"""Snakemake job: the QC figures of the frame a master shows, raw and calibrated."""

from masterbias.jobs import run_job
from masterbias.task_figures import FRAME_FIGURES, draw_frame_figures


def main(snakemake):
    run_job(
        lambda logger: draw_frame_figures(
            snakemake.input.calibrated,
            snakemake.input.raw,
            snakemake.params.raw_hdu,
            {key: snakemake.output[key] for key in FRAME_FIGURES},
            logger,
        ),
        "plot_frame_figures",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
