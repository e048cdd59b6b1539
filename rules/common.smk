import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The science lives in scripts/masterbias, which Snakemake also puts on the path of every
# script job.
sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from masterbias.cameras import apply_camera
from masterbias.codehash import code_digest
from masterbias.config import check_config, fill_defaults
from masterbias.errors import MasterBiasError
from masterbias.night import plan_night

SCHEMA = workflow.source_path("../config/schema.yaml")

try:
    # validated against the schema with one clear line per mistake, then the defaults
    check_config(config, SCHEMA)
    # the camera preset goes under what the configuration sets, key by key
    with_camera = apply_camera(config, Path(workflow.basedir) / "config" / "cameras")
    config.clear()
    config.update(with_camera)
    check_config(config, SCHEMA)
    fill_defaults(config, SCHEMA)
    # Only the main process refreshes the header cache and checks out_dir; jobs (local
    # subprocesses or SLURM jobs, which parse this file again) only read the cache.
    NIGHT = plan_night(config, main_process=workflow.is_main_process)
except MasterBiasError as error:
    raise WorkflowError(f"masterbias: {error}") from None

OUT = config["out_dir"].rstrip("/")
# the QC figures of a master: one folder per group with group_by
FIGURES = f"{OUT}/qc/figures/{{group}}" if NIGHT.groups else f"{OUT}/qc/figures"


def script_digest(script):
    """Content hash of the package modules a script imports (see masterbias.codehash)."""
    return code_digest(Path(workflow.basedir) / "scripts" / script)


def master_path():
    """The master's path: one master, or (with group_by) a pattern with {group}."""
    if NIGHT.groups:
        return f"{OUT}/master_bias/{{group}}.fits"
    return f"{OUT}/master_bias.fits"


def rejection_tables():
    if NIGHT.groups:
        return expand(f"{OUT}/qc/rejections-{{group}}.csv", group=sorted(NIGHT.groups))
    return [f"{OUT}/qc/rejections.csv"]


def qc_mem_mb(wildcards):
    """The QC reads a grid of SAMPLE_PIXELS of each frame: two grids and their difference
    as float64."""
    from masterbias.stats import SAMPLE_PIXELS

    return PYTHON_OVERHEAD_MB + 3 * 8 * SAMPLE_PIXELS // 10**6


def figure_paths():
    """Every figure of every master (see rules/report.smk)."""
    from masterbias.task_figures import FIGURES as NAMES

    folders = expand(FIGURES, group=sorted(NIGHT.groups)) if NIGHT.groups else [FIGURES]
    return [f"{folder}/{name}" for folder in folders for name in NAMES.values()]


def report_subcategory():
    return "{group}" if NIGHT.groups else "night"


def shown_raw(wildcards):
    """The raw frame of the calibrated frame the figures show (the first of the master)."""
    return NIGHT.biases[_shown_name(wildcards)].path


def shown_raw_hdu(wildcards):
    return NIGHT.biases[_shown_name(wildcards)].hdu


def _shown_name(wildcards):
    group = wildcards.get("group") if NIGHT.groups else None
    return sorted(NIGHT.calibrated_names(group))[0]


def figures_mem_mb(wildcards):
    """The figures job holds one image at a time, besides the raw frame shown next to its
    calibrated self: the raw image as stored (up to 4 bytes a pixel, and cfitsio's copy of
    a decompressed .gz) and the float32 calibrated frame; plus matplotlib (about 100 MB).
    """
    rows, columns = NIGHT.biases[_shown_name(wildcards)].shape
    return PYTHON_OVERHEAD_MB + 100 + rows * columns * (2 * 4 + 4) // 10**6


def group_suffix():
    """'-{group}' in log and benchmark names of the combine when there are groups."""
    return "-{group}" if NIGHT.groups else ""


def master_paths():
    if NIGHT.groups:
        return expand(master_path(), group=sorted(NIGHT.groups))
    return [master_path()]


def summary_path():
    return f"{OUT}/summary.csv"


def calibrated_paths(wildcards):
    group = wildcards.get("group") if NIGHT.groups else None
    return [f"{OUT}/calibrated/{name}" for name in NIGHT.calibrated_names(group)]


def raw_bias(wildcards):
    return NIGHT.biases[wildcards.name].path


def layout_params():
    """The configured layout, as the fields of masterbias.layout.LayoutSpec."""
    return {
        "overscan_method": config["overscan"]["method"],
        "overscan_region": str(config["overscan"]["region"]),
        "trim_region": str(config["trim"]["region"]),
        "amplifiers": config["amplifiers"],
        "overscan_model": config["overscan"]["model"],
    }


# Memory of a per-frame job, MB: the raw image (and cfitsio's copy of a decompressed .gz),
# the float64 difference and the output image, plus the interpreter with numpy and fitsio.
PYTHON_OVERHEAD_MB = 150


def calibrate_mem_mb(wildcards):
    frame = NIGHT.biases[wildcards.name]
    pixels = frame.shape[0] * frame.shape[1]
    per_pixel = 2 * 4 + 8 + 8  # raw (up to 32 bit) twice, float64, output up to float64
    return PYTHON_OVERHEAD_MB + pixels * per_pixel // 10**6


# Run time limits, minutes, for clusters: generous multiples of what a frame costs here
# (about 0.1 s per million pixels to calibrate, 1 s per hundred million values to combine)
# over a floor that covers a Snakemake start-up on a busy node.
def calibrate_runtime(wildcards):
    frame = NIGHT.biases[wildcards.name]
    return 10 + frame.shape[0] * frame.shape[1] // 10**7


def combine_runtime(wildcards):
    names = NIGHT.calibrated_names(wildcards.get("group") if NIGHT.groups else None)
    frame = NIGHT.biases[names[0]]
    values = len(names) * frame.shape[0] * frame.shape[1]
    return 15 + values // (2 * 10**8)


def combine_threads(wildcards):
    """Threads for the combine: one per 512 rows of the image, at most 4 (the bands are
    independent, and more threads than that gain little over the reading)."""
    names = NIGHT.calibrated_names(wildcards.get("group") if NIGHT.groups else None)
    rows = NIGHT.biases[names[0]].shape[0]
    return max(1, min(4, rows // 512))


def combine_mem_mb(wildcards):
    from masterbias.config import parse_memory

    return PYTHON_OVERHEAD_MB + parse_memory(config["combine"]["mem_limit"]) // 10**6
