import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version

min_version("9.0")

# The science lives in scripts/masterbias beside these rules; found from this file, so that
# a parent workflow importing this one as a module finds it too.
SCRIPTS = (
    Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent / "scripts"
)
sys.path.insert(0, str(SCRIPTS))

from masterbias.codehash import code_digest
from masterbias.config import load_config
from masterbias.errors import MasterBiasError
from masterbias.history import master_infos, previous_masters
from masterbias.layout import LayoutSpec
from masterbias.planning import plan_run
from masterbias.products import WILDCARD_CONSTRAINTS, group_label, group_slot, product
from masterbias.resources import job_resources
from masterbias.task_figures import FIGURES
from masterbias.task_qc import frame_facts
from masterbias.task_summary import summary_rows

try:
    # the one reading of the configuration: checked, camera preset, defaults, translated
    loaded = load_config(config)
    config.clear()
    config.update(loaded)
    # Only the main process refreshes the header cache and checks out_dir; jobs (local
    # subprocesses or SLURM jobs, which parse this file again) only read the cache.
    PLAN = plan_run(config, main_process=workflow.is_main_process)
except MasterBiasError as error:
    raise WorkflowError(f"masterbias: {error}") from None

if workflow.is_main_process:
    for note in PLAN.notes:
        logger.warning(f"masterbias: {note}")

OUT = config["out_dir"].rstrip("/")
RESOURCES = job_resources(PLAN, config)
# the layout as configured; each job resolves it against its frame's header
LAYOUT = LayoutSpec.from_config(config).to_params()
# what the history knows of every group, and the master before each in its series
INFOS = master_infos(PLAN)
PREVIOUS = previous_masters(INFOS)
# the extensions of each master, by the jobs that combine them
PARTS = {
    group_slot(label): PLAN.groups[label].parts(config["combine"]["extensions_per_job"])
    for label in PLAN.masters
}
COMBINE = {key: config["combine"][key] for key in ("method", "reject", "reject_frames")}


wildcard_constraints:
    **WILDCARD_CONSTRAINTS,


def path(kind, **values):
    """The path (or pattern) of a product under out_dir (masterbias.products)."""
    return product(OUT, kind, **values)


def log_path(job):
    return path("log", job=job)


def benchmark_path(job):
    return path("benchmark", job=job)


def script_digest(script):
    """Content hash of the package modules a script imports (see masterbias.codehash)."""
    return code_digest(SCRIPTS / script)


def group_of(wildcards):
    return PLAN.groups[group_label(wildcards.group)]


def master_slots():
    return [group_slot(label) for label in PLAN.masters]


def compared_slots():
    """The {group} of every master that has one before it in its series."""
    return [group_slot(label) for label in sorted(PREVIOUS)]


def master_relpaths():
    """Group label -> its master's path relative to out_dir."""
    return {
        label: path("master", group=group_slot(label))[len(OUT) + 1 :]
        for label in PLAN.masters
    }


def slots_pattern(whole):
    """The {group} of the masters made by one job (``whole``), or of those combined in
    parts and assembled (masterbias.planning.Group.parts)."""
    slots = [slot for slot, parts in PARTS.items() if (len(parts) == 1) == whole]
    return "(" + "|".join(re.escape(slot) for slot in slots) + ")" if slots else "(?!)"


def part_extensions(wildcards):
    return PARTS[wildcards.group][int(wildcards.part)]


def master_parts(wildcards):
    parts = range(len(PARTS[wildcards.group]))
    return [
        path("master_part", group=wildcards.group, part=str(part)) for part in parts
    ]


def record_parts(wildcards):
    parts = range(len(PARTS[wildcards.group]))
    return [
        path("record_part", group=wildcards.group, part=str(part)) for part in parts
    ]


def calibrated_frames(wildcards):
    return [path("calibrated", frame=name) for name in group_of(wildcards).frames]


def frame_times(wildcards):
    """Name -> time (ISO, UTC) of the frames of a master, in the order they are combined."""
    return {name: PLAN.biases[name].time.iso for name in group_of(wildcards).frames}


def raw_frame(wildcards):
    return PLAN.biases[wildcards.frame].path


def frame_settings(wildcards):
    """What a frame job is told, as JSON: the layout, extensions and output type, the raw
    frame's path under raw_dir (its RAWFILE), and its size and modification time (ns), so
    that a frame replaced by other content reruns even when its modification time went
    back (cp -p, rsync -a, tar x).
    """
    frame = PLAN.biases[wildcards.frame]
    return json.dumps(
        {
            "layout": LAYOUT,
            "extensions": config["extensions"],
            "dtype": config["output_dtype"],
            "fingerprint": list(frame.stamp),
            "name": frame.relpath,
        },
        sort_keys=True,
    )


def job_command(script):
    """The command line of a job script of scripts/, run by the jobs' Python (the conda
    environment's under --sdm conda, else this one)."""
    under_conda = (
        DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    )
    python = "python" if under_conda else sys.executable
    return f"{shlex.quote(python)} {shlex.quote(str(SCRIPTS / script))}"


def previous_master(wildcards):
    return path("master", group=group_slot(PREVIOUS[group_label(wildcards.group)]))


def shown_calibrated(wildcards):
    """The calibrated frame the figures show (the first of the master)."""
    return path("calibrated", frame=group_of(wildcards).frames[0])


def shown_raw(wildcards):
    """The raw frame of the calibrated frame the figures show (the first of the master)."""
    return PLAN.biases[group_of(wildcards).frames[0]].path


def shown_raw_hdu(wildcards):
    return PLAN.biases[group_of(wildcards).frames[0]].header.images[0].index


def guarded_products(wildcards):
    """What `all` asks for, once this run may write to out_dir (rules/run.smk)."""
    guard_run()
    return all_products()


def all_products():
    """Every product of README "What comes out" (a missing one is rebuilt)."""
    return (
        [path("summary"), path("frames_table"), path("night_table")]
        + [path("rejections_table"), path("history"), path("history_figure")]
        + [path("calibrated", frame=name) for name in PLAN.calibrated]
        + expand(path("master"), group=master_slots())
        + expand(path("figure"), group=master_slots(), figure=list(FIGURES))
    )
