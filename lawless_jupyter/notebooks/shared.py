"""An open notebook's shared document, when jupyter-collaboration serves it.

With jupyter-collaboration (its server extension ``jupyter_server_ydoc``) a notebook open in
JupyterLab lives in a *room* on the server: a Y document (``jupyter_ydoc.YNotebook``) that
every open view edits and that the room itself saves to disk. Claude's notebook tools change
that document, cell by cell, instead of the file: every view shows the change at once, a
person's unsaved typing in other cells stays, and the room's own save writes the file. A
file written behind a room's back would be read back into it by its file watcher, dropping
whatever the person typed since the room last saved.

Without the extension, or with no room open for the notebook, the tools write the file as
before (a room opened later loads it). Everything here runs on the event loop: a room's
document belongs to it (pycrdt documents are not shared across threads). So a change reads
only an outline of the notebook (ids, types, sources: about 16 ms for 200 cells here), and
the whole notebook with its outputs is read with jupyter_ydoc's ``aget``, which lets the
loop run between cells.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

EXTENSION = "jupyter_server_ydoc"  # jupyter-collaboration's server extension


class SharedNotebooks:
    """Finds the open room of a notebook through the collaboration extension's public API
    (``YDocExtension.get_document``)."""

    def __init__(self, serverapp: Callable[[], Any], root_dir: Path, log: logging.Logger):
        self.serverapp = serverapp
        self.root_dir = Path(root_dir)
        self.log = log

    def _extension(self) -> Any:
        app = self.serverapp()
        manager = getattr(app, "extension_manager", None)
        apps = manager.extension_apps.get(EXTENSION) if manager is not None else None
        return next(iter(apps), None) if apps else None

    async def open(self, target: Path) -> SharedNotebook | None:
        """The shared document of the notebook at ``target`` (a real path) when a room holds
        it; None when there is no collaboration extension or no room (nothing is opened)."""
        extension = self._extension()
        if extension is None:
            return None
        try:
            path = target.relative_to(self.root_dir.resolve()).as_posix()
        except ValueError:
            return None  # outside Jupyter's root: the lab cannot have it open
        try:
            document = await extension.get_document(
                path=path, content_type="notebook", file_format="json", copy=False
            )
        except Exception:  # an extension that fails must not break the tools: use the file
            self.log.warning("No shared document for %s; writing the file", path, exc_info=True)
            return None
        return SharedNotebook(document) if document is not None else None


def _number(value: Any) -> Any:
    """Numbers as Yjs keeps them (floats), as jupyter_ydoc stores a notebook it loads; an
    int would reach the browser as a BigInt."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


class SharedNotebook:
    """One room's notebook, read and changed the way JupyterLab changes it."""

    def __init__(self, document: Any):
        self.document = document  # a jupyter_ydoc YNotebook

    async def read(self) -> Any:
        """The whole notebook, outputs too, as every open view has it now (the person's
        unsaved edits too)."""
        content = await self.document.aget()
        return await asyncio.to_thread(nbformat.from_dict, content)

    def outline(self) -> Any:
        """The notebook's metadata and each cell's id, type and source, as they are now:
        enough to find and change a cell, read in one go (no await: what it says still
        holds for a change made right after it)."""
        from pycrdt import Map

        ydoc = self.document.ydoc
        with ydoc.transaction():
            meta = ydoc.get("meta", type=Map).to_py() or {}
            found = [
                {"id": c.get("id"), "cell_type": c.get("cell_type"), "source": str(c["source"])}
                for c in self.document.ycells
            ]
        return nbformat.from_dict(
            {
                "cells": found,
                "metadata": meta.get("metadata") or {},
                "nbformat": int(meta.get("nbformat", 4)),
                "nbformat_minor": int(meta.get("nbformat_minor", 5)),
            }
        )

    def edit(self, position: int, source: str) -> None:
        # only the changed stretch of the text: a cursor in that cell stays where it was
        self.document.set_cell(position, source=source)

    def insert(self, index: int, cell: dict[str, Any]) -> None:
        self.document.ycells.insert(index, self.document.create_ycell(_number(dict(cell))))

    def delete(self, position: int) -> None:
        del self.document.ycells[position]

    def move(self, source: int, to: int) -> None:
        # as JupyterLab moves a cell: a copy of it (as it is now) in the new place
        with self.document.ydoc.transaction():
            cell = self.document.get_cell(source)
            del self.document.ycells[source]
            self.document.ycells.insert(to, self.document.create_ycell(_number(cell)))

    def save_outputs(self, position: int, outputs: list[Any], execution_count: Any) -> None:
        """A run's outputs and count into the cell, its source left as it is."""
        from pycrdt import Array, Map, Text  # installed with jupyter-collaboration

        ycell = self.document.ycells[position]
        youtputs = []
        for output in _number(copy.deepcopy([dict(o) for o in outputs])):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                output["text"] = Text(text if isinstance(text, str) else "".join(text))
            youtputs.append(Map(output))
        with self.document.ydoc.transaction():
            ycell["execution_count"] = _number(execution_count)
            # the cell's own list, emptied and refilled: the lab's views observe that one
            if not isinstance(ycell.get("outputs"), Array):
                ycell["outputs"] = Array()
            ycell["outputs"].clear()
            ycell["outputs"].extend(youtputs)
