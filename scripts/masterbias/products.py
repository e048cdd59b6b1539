"""Where each product of a run lives under ``out_dir``: one table, one helper.

Paths are Snakemake patterns: ``{frame}`` is a calibrated frame's path relative to
``calibrated/`` (the raw path without ``.gz``/``.fz``), ``{group}`` is ``''`` for the one
master of a run without ``group_by`` and ``'/<label>'`` for each group's, so that
``master_bias{group}.fits`` is ``master_bias.fits`` or ``master_bias/<label>.fits``.
"""

from __future__ import annotations

__all__ = ["PRODUCTS", "product", "group_slot", "group_label"]

#: Product -> its path under out_dir.
PRODUCTS = {
    "summary": "summary.csv",
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
    "changes": "qc/changes{group}.json",
    "history": "calibrations.csv",
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
