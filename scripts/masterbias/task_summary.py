"""The summary: a table of every raw file, what its header says, and whether it is a bias.

The planning reads every header once (:mod:`masterbias.planning`); :func:`summary_rows`
takes the table's rows from its reading, the planning keeps them in a file that changes
only when they do, and the job writes the table from it: a changed selection, grouping or
header changes the rows, and so reruns the job.
"""

from __future__ import annotations

import csv
import logging

__all__ = ["SUMMARY_COLUMNS", "SUMMARY_KEYWORDS", "summary_rows", "write_summary"]

#: The table's columns: the guide's ImageFileCollection columns, then the selection.
SUMMARY_COLUMNS = ["file", "imagetyp", "filter", "exptime", "naxis1", "naxis2", "selected",
                   "reason", "group"]  # fmt: skip
#: The header keywords in the table.
SUMMARY_KEYWORDS = ("IMAGETYP", "FILTER", "EXPTIME")


def summary_rows(plan) -> list[list]:
    """One row per raw file of ``plan`` (a :class:`masterbias.planning.Plan`), in the
    order of :data:`SUMMARY_COLUMNS`."""
    rows = []
    for frame in plan.frames:
        reason = plan.verdicts[frame.relpath]
        group = ""
        if reason is None:
            found = plan.group_of(frame.calibrated)
            group, reason = found.label, (f"no master: {found.skipped}" if found.skipped else "")
        rows.append(
            [frame.relpath]
            + [frame.keywords.get(keyword, "") for keyword in SUMMARY_KEYWORDS]
            + [
                frame.shape[1],
                frame.shape[0],
                plan.verdicts[frame.relpath] is None,
                reason,
                group,
            ]  # fmt: skip
        )
    return rows


def write_summary(rows: list[list], output: str, logger: logging.Logger | None = None) -> None:
    """Write the summary table from its planned ``rows`` (:func:`summary_rows`)."""
    from .fitsfile import atomic_output

    logger = logger or logging.getLogger(__name__)
    with atomic_output(output) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(rows)
    selected = sum(1 for row in rows if row[6])
    logger.info("%d raw files, %d selected as biases; wrote %s", len(rows), selected, output)
