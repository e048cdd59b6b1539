"""Snakemake job: subtract the overscan of one raw bias, trim it, write a float FITS."""

from masterbias.jobs import run_job
from masterbias.task_calibrate import calibrate_file


def main(snakemake):
    run_job(
        lambda logger: calibrate_file(
            snakemake.input.raw,
            snakemake.output.calibrated,
            snakemake.params.layout,
            snakemake.params.extensions,
            snakemake.params.dtype,
            snakemake.params.raw,
            logger,
        ),
        "calibrate_frame",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
