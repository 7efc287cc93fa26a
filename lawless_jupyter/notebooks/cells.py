"""Notebook files in a worktree, read and changed through nbformat (never JSON by hand).

Blocking (file IO): callers run these in a thread. Every problem a caller could fix (a
path outside the worktree, no such cell, a file that is not a notebook) is a
``NotebookError`` whose message Claude reads as the tool's error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import ValidationError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell
from nbformat.v4.nbbase import random_cell_id

from ..chat.permissions import outside_paths

CELL_TYPES = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


class NotebookError(Exception):
    """A notebook tool cannot do what was asked; the message says why."""


def resolve(worktree: Path, path: object) -> Path:
    """``path`` (relative to the worktree) as a notebook file inside it, symlinks followed."""
    if not isinstance(path, str) or not path.strip():
        raise NotebookError("'path' must be the notebook's path relative to the worktree.")
    if outside_paths({"path": path}, worktree):
        raise NotebookError(f"{path} is outside the session's worktree.")
    target = Path(os.path.realpath(worktree / os.path.expanduser(path)))
    if target.suffix != ".ipynb":
        raise NotebookError(f"{path} is not a notebook (a notebook's name ends in .ipynb).")
    return target


def read(target: Path, shown: str) -> Any:
    """The notebook at ``target`` (``shown``: its path as the caller wrote it)."""
    try:
        with open(target, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
    except FileNotFoundError:
        raise NotebookError(f"There is no notebook at {shown}.") from None
    except IsADirectoryError:
        raise NotebookError(f"{shown} is a folder, not a notebook.") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{shown} is not a notebook: it is not UTF-8 text.") from None
    except nbformat.reader.NotJSONError:
        raise NotebookError(f"{shown} is not a notebook: it is not valid JSON.") from None
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as e:
        # JSON, but not a notebook (nbformat reports some through jsonschema)
        message = getattr(e, "message", None) or str(e)
        raise NotebookError(f"{shown} is not a notebook nbformat can read: {message}") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{shown} is not a notebook: it has no list of cells.")
    return nb


def write(target: Path, nb: Any) -> None:
    """Write atomically (a reader never sees half a notebook), keeping the file's mode."""
    if nb.nbformat_minor < 5 or any("id" not in cell for cell in nb.cells):
        # cell ids (nbformat 4.5) let a later call name a cell however cells moved
        nb.nbformat_minor = max(nb.nbformat_minor, 5)
        for cell in nb.cells:
            cell.setdefault("id", random_cell_id())
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def locate(nb: Any, index: object = None, cell_id: object = None) -> int:
    """The position of the cell named by ``cell_id`` or ``index`` (0-based)."""
    cells = nb.cells
    if cell_id is not None:
        if not isinstance(cell_id, str):
            raise NotebookError("'cell_id' must be a string.")
        for i, cell in enumerate(cells):
            if cell.get("id") == cell_id:
                return i
        raise NotebookError(f"The notebook has no cell with id {cell_id!r}.")
    if index is None:
        raise NotebookError("Name the cell by 'index' (0-based) or 'cell_id'.")
    if isinstance(index, bool) or not isinstance(index, int):
        raise NotebookError("'index' must be a whole number.")
    if not 0 <= index < len(cells):
        raise NotebookError(_no_cell(index, len(cells)))
    return index


def _no_cell(index: int, count: int) -> str:
    if count == 0:
        return f"There is no cell at index {index}: the notebook has no cells."
    return f"There is no cell at index {index}: the notebook has {count} cells (0 to {count - 1})."


def edit(nb: Any, position: int, source: object) -> Any:
    if not isinstance(source, str):
        raise NotebookError("'source' must be a string.")
    cell = nb.cells[position]
    cell.source = source
    return cell


def insert(nb: Any, index: object, source: object, cell_type: object) -> Any:
    if cell_type not in CELL_TYPES:
        raise NotebookError("'cell_type' must be code, markdown or raw.")
    if not isinstance(source, str):
        raise NotebookError("'source' must be a string.")
    if isinstance(index, bool) or not isinstance(index, int):
        raise NotebookError("'index' must be a whole number.")
    if not 0 <= index <= len(nb.cells):
        raise NotebookError(
            f"A cell can be inserted at 0 to {len(nb.cells)} (the end); not at {index}."
        )
    cell = CELL_TYPES[str(cell_type)](source=source)
    nb.cells.insert(index, cell)
    return cell


def delete(nb: Any, position: int) -> Any:
    return nb.cells.pop(position)


def move(nb: Any, source: object, to: object) -> Any:
    count = len(nb.cells)
    for name, value in (("from", source), ("to", to)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise NotebookError(f"'{name}' must be a whole number.")
        if not 0 <= value < count:
            raise NotebookError(_no_cell(value, count))
    cell = nb.cells.pop(source)
    nb.cells.insert(to, cell)
    return cell


def kernel_name(nb: Any) -> str | None:
    spec = nb.metadata.get("kernelspec") or {}
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None
