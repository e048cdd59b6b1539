"""What each job asks the scheduler for: memory, threads, run time.

One model of each job's memory, stated here: the interpreter with numpy, fitsio and dask
(:data:`PROCESS_MB`, which ``tests/test_memory.py`` holds a job process to) plus what the
job holds.  The
combine is given ``combine.mem_limit`` on top of that and takes its working memory from
what it was given (``mem_mb`` - :data:`PROCESS_MB`), so a changed limit alone reruns
nothing: the master is the same for any limit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROCESS_MB", "JobResources", "job_resources", "working_bytes"]

#: Memory of a job process before it holds any image: Python, numpy, fitsio, dask (MB).
PROCESS_MB = 150

#: The figures job's matplotlib (MB).
MATPLOTLIB_MB = 100


def working_bytes(mem_mb: int) -> int:
    """The combine's working memory in bytes, from the ``mem_mb`` it was given."""
    from .errors import ConfigError

    if mem_mb <= PROCESS_MB:
        raise ConfigError(
            "combine.mem_limit",
            f"the job was given mem_mb = {mem_mb}, which leaves nothing beyond the "
            f"{PROCESS_MB} MB of the process itself",
        )
    return (mem_mb - PROCESS_MB) * 10**6


@dataclass(frozen=True)
class JobResources:
    """Resource functions of the rules, for one plan (Snakemake calls them per job)."""

    plan: object
    mem_limit: int

    def _group(self, wildcards):
        from .products import group_label

        return self.plan.groups[group_label(wildcards.group)]

    def _pixels(self, name: str, frames=None) -> int:
        """Pixels of a raw frame's largest image (jobs hold one image at a time)."""
        frame = (frames or self.plan.biases)[name]
        return max(rows * columns for rows, columns in
                   (image.shape for image in frame.header.images))  # fmt: skip

    def calibrate_mem_mb(self, wildcards) -> int:
        """The raw image (up to 32 bit, and cfitsio's copy of a decompressed .gz), a block
        of float64 arithmetic and the output image (up to float64)."""
        return PROCESS_MB + self._pixels(wildcards.frame) * (2 * 4 + 8) // 10**6 + 1

    def calibrate_runtime(self, wildcards) -> int:
        """Minutes, for clusters: a generous multiple of ~0.1 s per million pixels over a
        floor that covers a Snakemake start-up on a busy node."""
        return 10 + self._pixels(wildcards.frame) // 10**7

    def debias_mem_mb(self, wildcards) -> int:
        """A frame job's, with the calibrated image in float64 and the master's image."""
        return PROCESS_MB + self._pixels(wildcards.frame, self.plan.applied) * 32 // 10**6 + 1

    def debias_runtime(self, wildcards) -> int:
        """As a frame job's."""
        return 10 + self._pixels(wildcards.frame, self.plan.applied) // 10**7

    def combine_mem_mb(self, wildcards) -> int:
        return PROCESS_MB + -(-self.mem_limit // 10**6)

    def combine_threads(self, wildcards) -> int:
        """One per 1024 rows of the image, at most 4: the bands are independent, and more
        threads than that gain little over the reading; a smaller image (a night of an
        archive of 1k frames) is combined in 0.3 s, and its cores are better given to the
        frame jobs beside it."""
        rows = max(extension.shape[0] for extension in self._group(wildcards).extensions)
        return max(1, min(4, rows // 1024))

    def combine_runtime(self, wildcards) -> int:
        """Minutes: 15 plus one per 200 million stacked values."""
        group = self._group(wildcards)
        pixels = sum(rows * columns for rows, columns in (e.shape for e in group.extensions))
        return 15 + len(group.frames) * pixels // (2 * 10**8)

    def assemble_mem_mb(self, wildcards) -> int:
        """One plane of one extension of the master at a time (float32)."""
        pixels = max(r * c for r, c in (e.shape for e in self._group(wildcards).extensions))
        return PROCESS_MB + 4 * pixels // 10**6 + 1

    def figures_mem_mb(self, wildcards) -> int:
        """Either figures job: one image at a time, besides the raw frame shown next to its
        calibrated self (the raw image as stored, up to 4 bytes a pixel, cfitsio's copy of
        a decompressed .gz, and the float32 calibrated frame); plus matplotlib."""
        pixels = self._pixels(self._group(wildcards).frames[0])
        return PROCESS_MB + MATPLOTLIB_MB + pixels * (2 * 4 + 4) // 10**6


def job_resources(plan, config: dict) -> JobResources:
    return JobResources(plan, config["combine"]["mem_limit"])
