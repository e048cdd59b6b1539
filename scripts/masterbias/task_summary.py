"""The summary job: a table of every raw file's header and whether it is a bias."""

from __future__ import annotations

import logging
import os

__all__ = ["summarize_folder"]


def summarize_folder(config: dict, output: str, logger: logging.Logger | None = None) -> None:
    """Write the summary table of every raw file in ``config['raw_dir']``."""
    from .discovery import HeaderCache, SelectionRule, find_raw_files, read_frames, write_summary
    from .night import HEADER_CACHE, group_name

    logger = logger or logging.getLogger(__name__)
    paths = find_raw_files(config["raw_dir"], config.get("exclude", []))
    # read-only use of the cache that the main Snakemake process keeps up to date
    frames = read_frames(paths, HeaderCache(os.path.join(config["out_dir"], HEADER_CACHE)))
    rule = SelectionRule.from_config(config["select"])
    group_by = config.get("group_by") or []
    group_of = (lambda frame: group_name(frame, group_by)) if group_by else None
    write_summary(frames, rule, output, group_of)
    selected = len(rule.select(frames))
    logger.info("%d raw files, %d selected as biases; wrote %s", len(frames), selected, output)
