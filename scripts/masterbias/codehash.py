"""Content hashes of the code a script runs, so that Snakemake reruns what it affects.

Snakemake's ``code`` rerun trigger sees only the file named in ``script:``, not the modules
it imports.  :func:`code_digest` follows a script's imports of this package (transitively)
and hashes the source of every module reached; a rule passes the digest as a ``params``
value, so editing ``overscan.py`` reruns the per-frame jobs and editing ``combine.py`` only
the combine.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

__all__ = ["code_digest", "package_modules"]

PACKAGE = "masterbias"
PACKAGE_DIR = Path(__file__).resolve().parent


def _import_statements(node: ast.AST):
    """The import statements in ``node``, at any depth of statements (in functions, ``if``
    and ``try`` blocks, ...); expressions, which hold none, are not visited."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, ()):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            else:
                yield from _import_statements(child)


@functools.cache  # every rule asks for the modules of its script: each file read once
def _imported_modules(source_path: Path) -> frozenset[str]:
    """Names of the package's modules imported by the file (absolute or relative)."""
    tree = ast.parse(source_path.read_text(), filename=str(source_path))
    inside = source_path.parent == PACKAGE_DIR
    found = set()
    for node in _import_statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
                parts = node.module.split(".")
            elif node.level == 1 and inside:
                parts = [PACKAGE] + (node.module.split(".") if node.module else [])
            else:
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # "from masterbias import x": x may be a module or a name in __init__
                found.add("__init__")
                found.update(alias.name for alias in node.names)
    if found:
        found.add("__init__")  # importing any module runs the package's __init__ first
    return frozenset(name for name in found if (PACKAGE_DIR / f"{name}.py").is_file())


def package_modules(script: str | Path) -> list[Path]:
    """The package's module files that ``script`` imports, directly or through others."""
    pending = [Path(script).resolve()]
    seen: set[Path] = set()
    while pending:
        current = pending.pop()
        for name in _imported_modules(current):
            module = PACKAGE_DIR / f"{name}.py"
            if module not in seen:
                seen.add(module)
                pending.append(module)
    return sorted(seen)


def code_digest(script: str | Path) -> str:
    """SHA-256 over the package modules ``script`` uses (not the script itself)."""
    digest = hashlib.sha256()
    for module in package_modules(script):
        digest.update(module.name.encode() + b"\0" + module.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
