"""Where each product of a run lives under ``out_dir``: one table, one helper.

Paths are Snakemake patterns: ``{frame}`` is a calibrated frame's path relative to
``calibrated/`` (the raw path without ``.gz``/``.fz``), ``{group}`` is ``''`` for the one
master of a run without ``group_by`` and ``'/<label>'`` for each group's, so that
``master_bias{group}.fits`` is ``master_bias.fits`` or ``master_bias/<label>.fits``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRODUCTS", "product", "group_slot", "group_label", "stale_products",
           "remove_products"]  # fmt: skip

#: Product -> its path under out_dir.
PRODUCTS = {
    "summary": "summary.csv",
    "summary_plan": ".cache/plan/summary.json",
    "history_plan": ".cache/plan/history.json",
    "calibrated": "calibrated/{frame}",
    "master": "master_bias{group}.fits",
    "combine_record": "qc/combine{group}.json",
    "master_part": "parts/master_bias{group}.{part}.fits",
    "record_part": "parts/combine{group}.{part}.json",
    "frames_table": "qc/frames.csv",
    "night_table": "qc/night.csv",
    "rejections_table": "qc/rejections.csv",
    "figure": "qc/figures{group}/{figure}.png",
    "extension_figures": "qc/figures{group}/extensions",
    "comparison": ".cache/changes{group}.json",
    "history": "calibrations.csv",
    "registry": "calibrations.json",
    "debiased": "debiased/{frame}",
    "choices": "debiased.csv",
    "history_figure": "qc/figures/history.png",
    "log": "logs/{job}.log",
    "benchmark": "benchmarks/{job}.tsv",
}

#: Snakemake's constraints of the wildcards above.
WILDCARD_CONSTRAINTS = {"group": r"(|/[^/]+)", "frame": r".+", "part": r"\d+"}


def product(out_dir: str, kind: str, **values: str) -> str:
    """The path of product ``kind`` under ``out_dir``, with the wildcards given in
    ``values`` filled in and the others left as ``{name}`` patterns."""
    template = PRODUCTS[kind]
    names = {name: values.get(name, "{" + name + "}") for name in _wildcards(template)}
    return f"{out_dir}/{template.format(**names)}"


def _wildcards(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def group_slot(label: str) -> str:
    """The ``{group}`` wildcard of a group: '' for the one group of a run without
    ``group_by``, else ``/label``."""
    return f"/{label}" if label else ""


def group_label(slot: str) -> str:
    """The group label of a ``{group}`` wildcard value (see :func:`group_slot`)."""
    return slot.removeprefix("/")


#: The products made per group: what :func:`stale_products` looks for.
GROUP_PRODUCTS = ("master", "combine_record", "comparison", "figure", "extension_figures",
                  "master_part", "record_part")  # fmt: skip


def stale_products(out_dir: str, calibrated, slots, debiased=()) -> list[str]:
    """Products under ``out_dir`` that the run as planned does not make: calibrated frames
    of raw frames that are gone (or no longer biases), whatever was made for a group that
    no longer exists (a night whose frames moved, a run that was not grouped), and figures
    older than their master (drawn before it was made again; a run that chooses them draws
    them again).

    Parameters
    ----------
    out_dir : str
    calibrated : iterable of str
        The calibrated names of the run (``{frame}``).
    debiased : iterable of str
        The debiased names of the run (the frames ``apply.select`` chooses).
    slots : iterable of str
        The ``{group}`` of every master of the run.

    Returns
    -------
    list of str
        Paths of stale files and folders, sorted; temporary files (``.partial-*``) are left
        to the writers that clean them.
    """
    top = Path(out_dir)

    def found(kind: str, group: str) -> set[Path]:
        values = {"group": group, "frame": "**/*", "figure": "*", "part": "*"}
        pattern = os.path.relpath(product(out_dir, kind, **values), out_dir)
        return {path for path in top.glob(pattern) if not path.name.startswith(".partial-")}

    current = {Path(product(out_dir, "calibrated", frame=name)) for name in calibrated}
    current |= {Path(product(out_dir, "debiased", frame=name)) for name in debiased}
    current.add(Path(product(out_dir, "history_figure")))
    for slot in slots:
        master = Path(product(out_dir, "master", group=slot))
        made = master.stat().st_mtime_ns if master.exists() else 0
        for kind in GROUP_PRODUCTS:
            current |= {path for path in found(kind, slot) if kind != "figure"
                        or path.stat().st_mtime_ns >= made}  # fmt: skip
    existing = {path for kind in ("calibrated", "debiased") for path in found(kind, "")
                if path.is_file()}  # fmt: skip
    for kind in GROUP_PRODUCTS:
        existing |= found(kind, "") | found(kind, "/*")
    return sorted(str(path) for path in existing - current)


def remove_products(paths, out_dir: str) -> None:
    """Remove files and folders under ``out_dir``, and the folders they leave empty."""
    import shutil

    top = Path(out_dir).resolve()
    for text in paths:
        path = Path(text)
        if top not in path.resolve().parents:
            raise ValueError(f"{text} is not under {out_dir}")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent.resolve() == top or top not in parent.resolve().parents:
                break
            try:
                parent.rmdir()
            except OSError:  # not empty
                break
