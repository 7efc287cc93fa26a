"""A session notebook's changes, cell by cell, through nbdime (the Jupyter standard).

Blocking (git, file IO, nbdime): call it off the loop. The answer is what nbdime's own web
diff and its JupyterLab widget read: ``base`` (the notebook at the commit, an nbformat
dict) and ``diff`` (``nbdime.diff_notebooks(base, current)``). A notebook new in the session
diffs against an empty notebook; a deleted one diffs the old notebook against an empty one,
so every cell shows as removed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import nbdime
import nbformat

from ..errors import InvalidInput, LawlessError, NotFound, PayloadTooLarge
from .gitrepo import GitRepository


class InvalidNotebook(LawlessError):
    """The file is not a notebook nbformat can read (corrupt JSON, not a notebook)."""

    status = 422
    code = "invalid_notebook"


def notebook_path(path: object) -> str:
    """A ``.ipynb`` path relative to the worktree, in git's spelling (no ``./``)."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("'path' is required: a notebook's path in the worktree.")
    if "\x00" in path or path.startswith("-"):
        raise InvalidInput("'path' is not a usable path.", details={"path": path[:200]})
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise InvalidInput(
            "'path' must be relative to the worktree and stay inside it.",
            details={"path": path[:200]},
        )
    if pure.suffix != ".ipynb":
        raise InvalidInput(
            "Only notebooks (.ipynb) have a notebook diff; other files are in git/diff.",
            details={"path": path[:200]},
        )
    return pure.as_posix()


def _parse(text: str, path: str, where: str) -> dict[str, Any]:
    """The notebook as nbformat 4. Not schema-validated: that would cost as much as a third
    of the diff of a large notebook, and nbdime diffs any JSON; only what the diff and the
    panel's widget rely on (a list of cells, each with a type and a source) is checked."""
    try:
        nb = nbformat.convert(nbformat.reader.reads(text), 4)
    except Exception as e:  # nbformat raises several kinds (NotJSONError, KeyError...)
        raise InvalidNotebook(
            f"{path} {where} is not a notebook nbformat can read: {str(e)[:200]}",
            details={"path": path, "where": where},
        ) from e
    cells = nb.get("cells")
    if not isinstance(cells, list) or not all(
        isinstance(c, dict) and isinstance(c.get("cell_type"), str) and "source" in c for c in cells
    ):
        raise InvalidNotebook(
            f"{path} {where} is not a notebook: its cells are not a list of cells.",
            details={"path": path, "where": where},
        )
    return nb


def _worktree_text(worktree: Path, path: str, max_bytes: int) -> str | None:
    """The worktree's copy of ``path``, refusing one that leads outside the worktree (a
    symlink Claude made); None when it was deleted."""
    top = Path(os.path.realpath(worktree))
    real = Path(os.path.realpath(worktree / path))
    if top not in real.parents:
        raise InvalidInput(f"{path} leads outside the session's worktree.", details={"path": path})
    if not real.exists():
        return None
    if real.stat().st_size > max_bytes:
        raise PayloadTooLarge(f"{path} is larger than {max_bytes} bytes.")
    return real.read_text(encoding="utf-8", errors="replace")


def session_notebook_diff(
    gitrepo: GitRepository, worktree: Path, commit: str, path: str, max_bytes: int
) -> dict[str, Any]:
    """``path`` at ``commit`` against the worktree now, in nbdime's format."""
    if path not in gitrepo.session_changes(worktree, commit):
        raise NotFound(f"{path} has no changes in this session to diff.", details={"path": path})
    old = gitrepo.show_file(worktree, commit, path)
    if old is not None and len(old.encode("utf-8", "replace")) > max_bytes:
        raise PayloadTooLarge(f"{path} at {commit[:12]} is larger than {max_bytes} bytes.")
    new = _worktree_text(worktree, path, max_bytes)
    empty = nbformat.v4.new_notebook()
    base = _parse(old, path, "at the commit") if old is not None else empty
    current = _parse(new, path, "in the worktree") if new is not None else empty
    return {
        "path": path,
        "status": "added" if old is None else "deleted" if new is None else "modified",
        "base": base,
        "diff": nbdime.diff_notebooks(base, current),
    }
