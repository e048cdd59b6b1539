import csv
import functools
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
from masterbias.fitsfile import write_if_changed
from masterbias.history import master_infos, series
from masterbias.layout import LayoutSpec
from masterbias.planning import plan_run
from masterbias.products import (
    WILDCARD_CONSTRAINTS,
    group_label,
    group_slot,
    product,
    remove_products,
)
from masterbias.registry import frame_facts as registry_facts
from masterbias.registry import rule_of
from masterbias.resources import job_resources
from masterbias.seals import SEAL_INDEX, SealIndex, group_seal
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
# what every frame job is told besides its own frame (each resolves the layout against
# its frame's header)
FRAME_CONFIG = {
    "layout": LayoutSpec.from_config(config).to_params(),
    "extensions": config["extensions"],
    "dtype": config["output_dtype"],
}
# what the history knows of every group
INFOS = master_infos(PLAN)
# the extensions of each master, by the jobs that combine them
PARTS = {
    group_slot(label): PLAN.groups[label].parts(config["combine"]["extensions_per_job"])
    for label in PLAN.masters
}
COMBINE = {key: config["combine"][key] for key in ("method", "reject", "reject_frames")}
# how a frame's master is chosen (masterbias.registry)
RULE = rule_of(config)


wildcard_constraints:
    **WILDCARD_CONSTRAINTS,


def path(kind, **values):
    """The path (or pattern) of a product under out_dir (masterbias.products)."""
    return product(OUT, kind, **values)


def log_path(job):
    return path("log", job=job)


def benchmark_path(job):
    return path("benchmark", job=job)


@functools.cache
def script_digest(script):
    """Content hash of the package modules a script imports (see masterbias.codehash),
    read once per process: every job and seal of a run is made with the same code."""
    return code_digest(SCRIPTS / script)


def group_of(wildcards):
    return PLAN.groups[group_label(wildcards.group)]


def master_slots():
    return [group_slot(label) for label in PLAN.masters]


def master_relpaths():
    """Group label -> its master's path relative to out_dir."""
    return {
        label: path("master", group=group_slot(label))[len(OUT) + 1 :]
        for label in PLAN.masters
    }


def slots_pattern(whole):
    """The {group} of the masters made by one job (``whole``), or of those combined in
    parts and assembled (masterbias.planning.Group.parts): the general pattern when that
    is every master, a list of them only when some masters are split and some not."""
    slots = [slot for slot, parts in PARTS.items() if (len(parts) == 1) == whole]
    if len(slots) == len(PARTS):
        return WILDCARD_CONSTRAINTS["group"]
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
    """What a frame job is told, as JSON: FRAME_CONFIG, the raw frame's path under
    raw_dir (its RAWFILE), and its size and modification time (ns), so that a frame
    replaced by other content reruns even when its modification time went back (cp -p,
    rsync -a, tar x).
    """
    frame = PLAN.biases[wildcards.frame]
    return json.dumps(
        {**FRAME_CONFIG, "fingerprint": list(frame.stamp), "name": frame.relpath},
        sort_keys=True,
    )


#: The jobs whose code makes a group's products.
GROUP_SCRIPTS = ("calibrate_frame.py", "combine_biases.py", "assemble_master.py")


@functools.cache
def seal_of(label):
    """The seal of a group (masterbias.seals): its frames, the settings and code of the
    jobs that make its products (once per process: the planning checks every group's and
    each combine job's params ask again)."""
    frames = [
        [name, frame.relpath, list(frame.stamp), frame.time.iso]
        for name, frame in (
            (name, PLAN.biases[name]) for name in PLAN.groups[label].frames
        )
    ]
    settings = {
        "frame": FRAME_CONFIG,
        "combine": COMBINE,
        "parts": PARTS[group_slot(label)],
        "code": [script_digest(script) for script in GROUP_SCRIPTS],
    }
    return group_seal(frames, settings)


def group_seal_param(wildcards):
    return seal_of(group_label(wildcards.group))


def job_command(script):
    """The command line of a job script of scripts/, run by the jobs' Python (the conda
    environment's under --sdm conda, else this one)."""
    under_conda = (
        DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    )
    python = "python" if under_conda else sys.executable
    return f"{shlex.quote(python)} {shlex.quote(str(SCRIPTS / script))}"


def shown_calibrated(wildcards):
    """The calibrated frame the figures show (the first of the master)."""
    return path("calibrated", frame=group_of(wildcards).frames[0])


def shown_raw(wildcards):
    """The raw frame of the calibrated frame the figures show (the first of the master)."""
    return PLAN.biases[group_of(wildcards).frames[0]].path


def shown_raw_hdu(wildcards):
    return PLAN.biases[group_of(wildcards).frames[0]].header.images[0].index


def forced():
    """Whether this run was told to redo jobs whatever they were made from (--forceall,
    --forcerun, --until, ...): then no group stands as it is."""
    settings = workflow.dag_settings
    return bool(
        settings.forceall
        or settings.forcerun
        or settings.forcetargets
        or settings.until
        or settings.omit_from
    )


SEALED = []


def sealed_groups():
    """The groups whose products stand as they are (masterbias.seals): left out of the
    graph of jobs. Decided once, in the main process, when the graph is built."""
    if not SEALED:
        found = set()
        if workflow.is_main_process and not forced():
            index = SealIndex(os.path.join(OUT, SEAL_INDEX))
            records = {
                label: path("combine_record", group=group_slot(label))
                for label in PLAN.masters
            }
            found = {label for label, record in records.items()
                     if index.sealed(record, seal_of(label))}  # fmt: skip
            if not workflow.dryrun:
                index.save(list(records.values()))
        SEALED.append(frozenset(found))
    return SEALED[0]


def open_groups():
    """The masters Snakemake checks: all but the sealed ones."""
    return [label for label in PLAN.masters if label not in sealed_groups()]


def summary_plan(wildcards):
    """The summary's rows, kept in a file that changes only when they do."""
    guard_run()
    return path("summary_plan")


def history_plan(wildcards):
    """What the QC tables and the history are made from, kept in a file that changes only
    when it does: every group, its record and master, and each frame's time and gain."""
    guard_run()
    return path("history_plan")


def write_plans():
    """Write the summary's rows and the history's plan where they changed."""
    records = {
        label: path("combine_record", group=group_slot(label)) for label in PLAN.masters
    }
    plans = {
        "summary_plan": summary_rows(PLAN),
        "history_plan": {
            "out_dir": OUT,
            "infos": [info.to_json() for info in INFOS],
            "masters": master_relpaths(),
            "records": records,
            "frames": frame_facts(PLAN, config["gain"]),
            "rule": RULE,
            "applied": {
                name: applied_facts(frame) for name, frame in PLAN.applied.items()
            },
            "debiased": {
                name: path("debiased", frame=name)[len(OUT) + 1 :]
                for name in PLAN.applied
            },
        },
    }
    for kind, content in plans.items():
        write_if_changed(path(kind), json.dumps(content, sort_keys=True))


def open_records(wildcards):
    """The records of the masters Snakemake checks (the sealed ones stand as files)."""
    return [path("combine_record", group=group_slot(label)) for label in open_groups()]


def figure_groups():
    """The masters whose figures are drawn (config figures): every one, or with nights
    the latest of each series and those the history flags (after it is written)."""
    if config["figures"] == "none":
        return []
    if config["figures"] == "all" or "night" not in config["group_by"]:
        return PLAN.masters
    latest = {items[-1].label for items in series(INFOS).values()}
    with open(checkpoints.write_qc_tables.get().output.history) as stream:
        rows = list(csv.DictReader(stream))
    masters = set(PLAN.masters)
    flagged = {row["group"] for row in rows if row["flags"] and row["group"] in masters}
    return sorted(latest | flagged)


def all_products(wildcards):
    """Every product of README "What comes out" (a missing one is rebuilt): those of the
    groups Snakemake checks, the tables and the history (the figures: chosen_figures).
    """
    guard_run()
    slots = [group_slot(label) for label in open_groups()]
    sealed = sealed_groups()
    grouped = [
        path("calibrated", frame=name)
        for label, group in PLAN.groups.items()
        if label not in sealed
        for name in group.frames
    ]
    return (
        [path("summary"), path("frames_table"), path("night_table")]
        + [path("rejections_table"), path("history"), path("history_figure")]
        + grouped
        + expand(path("master"), group=slots)
    )


def chosen_figures(wildcards):
    """The figures of the masters figure_groups chooses (after the history, when they are
    chosen by its flags)."""
    shown = [group_slot(label) for label in figure_groups()]
    return expand(path("figure"), group=shown, figure=list(FIGURES))


def applied_facts(frame):
    """What choosing the master of a frame apply.select chose needs (masterbias.registry)."""
    labels = [image.label for image in frame.header.images]
    facts = registry_facts(frame.keywords, labels, frame.time, frame.longitude[0], RULE)
    return {"raw": frame.relpath, **facts}


CHOICES = {}


def chosen(name):
    """The master chosen for a frame of apply.select, once the history is written (the
    choice needs every master's verification)."""
    table = checkpoints.write_qc_tables.get().output.choices
    stamp = os.stat(table).st_mtime_ns
    if CHOICES.get("stamp") != stamp:
        with open(table) as stream:
            rows = {row["file"]: row for row in csv.DictReader(stream)}
        CHOICES.clear()
        CHOICES.update(stamp=stamp, rows=rows)
    return CHOICES["rows"][PLAN.applied[name].relpath]


def debiased_products(wildcards):
    """The debiased frames of the frames apply.select chose that have a master; those
    without are said, one line each, and a debiased frame one of them had before (its
    master now failing, say) is removed."""
    made = []
    for name, frame in PLAN.applied.items():
        row = chosen(name)
        if row["master"]:
            made.append(path("debiased", frame=name))
        elif workflow.is_main_process:
            logger.warning(f"masterbias: {frame.path}: no master: {row['reason']}")
            if not workflow.dryrun:
                remove_products(
                    [p for p in [path("debiased", frame=name)] if os.path.exists(p)],
                    OUT,
                )
    return made


def applied_raw(wildcards):
    return PLAN.applied[wildcards.frame].path


def chosen_master(wildcards):
    return os.path.join(OUT, chosen(wildcards.frame)["master"])


def debias_settings(wildcards):
    """What a debias job is told, as JSON: frame_settings' fields for its raw frame, and
    the master chosen (its path, night, SHA-256 and why), so that a frame whose master
    changes is done again."""
    frame, row = PLAN.applied[wildcards.frame], chosen(wildcards.frame)
    away = row["nights_away"]
    master = {
        "path": os.path.join(OUT, row["master"]),
        "name": row["master"],
        "night": row["night"] or None,
        "sha256": row["master_sha256"],
        "nights_away": int(away) if away else None,
        "reason": row["reason"],
    }
    return json.dumps(
        {
            **FRAME_CONFIG,
            "fingerprint": list(frame.stamp),
            "name": frame.relpath,
            "master": master,
        },
        sort_keys=True,
    )
