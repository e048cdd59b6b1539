"""Snakemake job: per-frame statistics of the calibrated biases and the night's read noise."""

from masterbias.jobs import run_job
from masterbias.task_qc import write_frame_qc


def main(snakemake):
    run_job(
        lambda logger: write_frame_qc(
            list(snakemake.input.calibrated),
            list(snakemake.input.rejections),
            snakemake.output.frames,
            snakemake.output.night,
            logger,
            snakemake.params.gain,
        ),
        "qc_frames",
        snakemake.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 -- the object Snakemake injects into scripts
