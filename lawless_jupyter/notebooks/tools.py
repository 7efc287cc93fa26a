"""The ``jupyter`` MCP server Claude gets in a workspace session (``mcp__jupyter__<tool>``).

An in-process server of the Claude Agent SDK, one per conversation, bound to its session's
kernel and worktree. Whether a call may run is decided before it gets here, by the chat's
permission policy (running code asks like a shell command; edits follow file edits).
Every problem is a tool error result Claude can read, never an exception.

A notebook open in a collaborative room (jupyter-collaboration) is read and changed through
the room's shared document (``shared.py``); any other is read and written as a file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from .._version import __version__
from ..errors import LawlessError
from . import cells
from .cells import NotebookError
from .kernels import Execution, SessionKernels
from .outputs import render
from .shared import SharedNotebook, SharedNotebooks

SERVER = "jupyter"
PREFIX = f"mcp__{SERVER}__"
READ_NOTEBOOK_CHARS = 60_000  # the whole answer of read_notebook
CELL_OUTPUT_CHARS = 5_000  # the outputs of one cell in read_notebook

_PATH = {"type": "string", "description": "The notebook's path, relative to the worktree."}
_INDEX = {"type": "integer", "minimum": 0, "description": "The cell's position, from 0."}
_CELL_ID = {"type": "string", "description": "The cell's id (read_notebook shows it)."}
_TIMEOUT = {
    "type": "number",
    "exclusiveMinimum": 0,
    "description": "Seconds the code may run; past it the kernel is interrupted.",
}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "is_error": True}


def _text(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}]}


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
#: a change of a notebook: done to ``nb`` (checked, said), then the same to the shared
#: document when the notebook has one
Change = Callable[[Any], tuple[str, Callable[[SharedNotebook], None]]]


def _reported(handler: Handler) -> Handler:
    """A tool whose failures come back as its error result."""

    async def run(args: dict[str, Any]) -> dict[str, Any]:
        try:
            return await handler(args)
        except NotebookError as e:
            return _error(str(e))
        except LawlessError as e:
            return _error(e.message)
        except OSError as e:
            return _error(f"The notebook could not be read or written: {e.strerror or e}.")

    return run


def _ended(execution: Execution, timeout: float) -> tuple[str, bool]:
    """What to say before the outputs, and whether the call is an error."""
    if execution.status == "timeout":
        return (
            f"The code did not finish within {timeout:g} seconds, so the kernel was "
            "interrupted (KeyboardInterrupt). The kernel is still usable and keeps its "
            "variables.",
            True,
        )
    if execution.status == "died":
        return (
            "The kernel died while running this code (the process exited or was killed, "
            "e.g. out of memory). It is restarted on the next run; its variables and "
            "imports are gone.",
            True,
        )
    if execution.status == "interrupted":
        return "Stopped: the person interrupted the kernel.", True
    return "", execution.status == "error"


class NotebookTools:
    """The tools of one session: its kernel (``kernels``) and its worktree."""

    def __init__(
        self,
        kernels: SessionKernels,
        session_id: str,
        worktree: Path,
        shared: SharedNotebooks | None = None,
    ):
        self.kernels = kernels
        self.session_id = session_id
        self.worktree = Path(worktree)
        self.shared = shared
        self._files = asyncio.Lock()  # one change of a notebook file at a time

    async def _shared(self, target: Path) -> SharedNotebook | None:
        return await self.shared.open(target) if self.shared is not None else None

    async def _read(self, target: Path, shown: str, *, outputs: bool = False) -> Any:
        """The notebook as the person sees it: its shared document's (its outline, unless
        ``outputs``), else its file's."""
        document = await self._shared(target)
        if document is not None:
            return await document.read() if outputs else document.outline()
        return await asyncio.to_thread(cells.read, target, shown)

    def server(self) -> McpSdkServerConfig:
        return create_sdk_mcp_server(SERVER, __version__, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        return [
            tool(
                "execute",
                "Run code in this session's Jupyter kernel (working directory: the worktree; "
                "variables persist between calls). Returns printed text, results, errors "
                "and images.",
                _schema({"code": {"type": "string"}, "timeout": _TIMEOUT}, ["code"]),
            )(_reported(self.execute)),
            tool(
                "read_notebook",
                "Read a notebook: every cell with its id, type, source and outputs.",
                _schema({"path": _PATH}, ["path"]),
            )(_reported(self.read_notebook)),
            tool(
                "run_cell",
                "Run one code cell of a notebook in this session's kernel and save its "
                "outputs and execution count into the notebook file.",
                _schema(
                    {"path": _PATH, "index": _INDEX, "cell_id": _CELL_ID, "timeout": _TIMEOUT},
                    ["path"],
                ),
            )(_reported(self.run_cell)),
            tool(
                "edit_cell",
                "Replace the source of a notebook cell.",
                _schema(
                    {
                        "path": _PATH,
                        "index": _INDEX,
                        "cell_id": _CELL_ID,
                        "source": {"type": "string"},
                    },
                    ["path", "source"],
                ),
            )(_reported(self.edit_cell)),
            tool(
                "insert_cell",
                "Insert a new cell at a position (0 = first; the cell count = at the end).",
                _schema(
                    {
                        "path": _PATH,
                        "index": _INDEX,
                        "source": {"type": "string"},
                        "cell_type": {"type": "string", "enum": list(cells.CELL_TYPES)},
                    },
                    ["path", "index", "source"],
                ),
            )(_reported(self.insert_cell)),
            tool(
                "delete_cell",
                "Delete a notebook cell.",
                _schema({"path": _PATH, "index": _INDEX, "cell_id": _CELL_ID}, ["path"]),
            )(_reported(self.delete_cell)),
            tool(
                "move_cell",
                "Move a notebook cell from one position to another.",
                _schema({"path": _PATH, "from": _INDEX, "to": _INDEX}, ["path", "from", "to"]),
            )(_reported(self.move_cell)),
        ]

    # -- running code -------------------------------------------------------------------------

    async def execute(self, args: dict[str, Any]) -> dict[str, Any]:
        code = args.get("code")
        if not isinstance(code, str) or not code.strip():
            return _error("'code' must be the code to run.")
        timeout = args.get("timeout")
        execution = await self.kernels.execute(
            self.session_id, self.worktree, code, timeout=timeout
        )
        return self._result(execution, timeout)

    def _result(self, execution: Execution, timeout: Any, header: str = "") -> dict[str, Any]:
        said, failed = _ended(execution, timeout or self.kernels.settings.execute_timeout)
        lead = "\n".join(p for p in (*execution.notes, header, said) if p)
        rendered = render(execution.outputs, header=lead)
        return {"content": rendered.content, "is_error": failed}

    async def run_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        path = args.get("path")
        target = cells.resolve(self.worktree, path)
        nb = await self._read(target, str(path))
        position = cells.locate(nb, args.get("index"), args.get("cell_id"))
        cell = nb.cells[position]
        if cell.cell_type != "code":
            return _error(f"Cell {position} is a {cell.cell_type} cell; only code cells run.")
        execution = await self.kernels.execute(
            self.session_id,
            self.worktree,
            cell.source,
            timeout=args.get("timeout"),
            kernel_name=cells.kernel_name(nb),
        )
        where = await self._save_outputs(target, str(path), cell.get("id"), position, execution)
        return self._result(execution, args.get("timeout"), where)

    async def _save_outputs(
        self, target: Path, shown: str, cell_id: str | None, position: int, execution: Execution
    ) -> str:
        """Write the run's outputs into the cell as it is now (the person may have changed
        or saved the notebook while the cell ran)."""
        async with self._files:

            def save(nb: Any) -> tuple[str, int | None]:
                try:
                    at = cells.locate(nb, position if cell_id is None else None, cell_id)
                except NotebookError:
                    return f"The cell left {shown} while it ran; its outputs were not saved.", None
                cell = nb.cells[at]
                cell.outputs = execution.outputs
                cell.execution_count = execution.execution_count
                return f"Ran cell {at} (id {cell.get('id')}) of {shown}; outputs saved.", at

            document = await self._shared(target)
            if document is not None:
                said, at = save(document.outline())
                if at is not None:
                    document.save_outputs(at, execution.outputs, execution.execution_count)
                return said

            def save_file() -> str:
                nb = cells.read(target, shown)
                said, at = save(nb)
                if at is not None:
                    cells.write(target, nb)
                return said

            return await asyncio.to_thread(save_file)

    # -- reading ------------------------------------------------------------------------------

    async def read_notebook(self, args: dict[str, Any]) -> dict[str, Any]:
        path = args.get("path")
        target = cells.resolve(self.worktree, path)
        nb = await self._read(target, str(path), outputs=True)
        return _text(describe(nb, str(path)))

    # -- changing cells -----------------------------------------------------------------------

    async def _change(self, args: dict[str, Any], change: Change) -> dict[str, Any]:
        path = args.get("path")
        target = cells.resolve(self.worktree, path)
        async with self._files:
            document = await self._shared(target)
            if document is not None:
                # read, check and change with no await between: no update from a browser
                # comes in between, so the positions checked are the positions changed
                said, replay = change(document.outline())
                replay(document)
                return _text(said)

            def apply() -> str:
                nb = cells.read(target, str(path))
                said, _ = change(nb)
                cells.write(target, nb)
                return said

            return _text(await asyncio.to_thread(apply))

    async def edit_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        def change(nb: Any) -> tuple[str, Callable[[SharedNotebook], None]]:
            at = cells.locate(nb, args.get("index"), args.get("cell_id"))
            cell = cells.edit(nb, at, args.get("source"))
            said = f"Cell {at} (id {cell.get('id')}) of {args['path']} now has the new source."
            return said, lambda document: document.edit(at, cell.source)

        return await self._change(args, change)

    async def insert_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        def change(nb: Any) -> tuple[str, Callable[[SharedNotebook], None]]:
            kind = args.get("cell_type") or "code"
            at = args.get("index")
            cell = cells.insert(nb, at, args.get("source"), kind)
            said = (
                f"Inserted a {kind} cell (id {cell.get('id')}) at {at} in "
                f"{args['path']}; it has {len(nb.cells)} cells."
            )
            return said, lambda document: document.insert(at, cell)

        return await self._change(args, change)

    async def delete_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        def change(nb: Any) -> tuple[str, Callable[[SharedNotebook], None]]:
            at = cells.locate(nb, args.get("index"), args.get("cell_id"))
            cell = cells.delete(nb, at)
            said = (
                f"Deleted cell {at} (id {cell.get('id')}) of {args['path']}; "
                f"{len(nb.cells)} cells are left."
            )
            return said, lambda document: document.delete(at)

        return await self._change(args, change)

    async def move_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        def change(nb: Any) -> tuple[str, Callable[[SharedNotebook], None]]:
            source, to = args.get("from"), args.get("to")
            cell = cells.move(nb, source, to)
            said = f"Moved cell {cell.get('id')} from {source} to {to}."
            return said, lambda document: document.move(source, to)

        return await self._change(args, change)


async def cell_source(
    tool: str,
    tool_input: dict[str, Any],
    worktree: Path,
    shared: SharedNotebooks | None = None,
) -> str | None:
    """The source of the cell a ``run_cell`` call would run, for its approval card (None
    for other tools, or when the cell cannot be read: the tool itself then says why). From
    the notebook's shared document when it has one: that is what the cell will run."""
    if tool != f"{PREFIX}run_cell":
        return None
    path = tool_input.get("path")
    try:
        target = cells.resolve(worktree, path)
        document = await shared.open(target) if shared is not None else None
        nb = (
            document.outline()
            if document is not None
            else await asyncio.to_thread(cells.read, target, str(path))
        )
        cell = nb.cells[cells.locate(nb, tool_input.get("index"), tool_input.get("cell_id"))]
    except (NotebookError, OSError):
        return None
    return cell.source if cell.cell_type == "code" else None


#: Claude Code's own tools that write a file (a notebook's too) in one go
FILE_WRITERS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})


async def open_notebook_refusal(
    tool: str, tool_input: dict[str, Any], worktree: Path, shared: SharedNotebooks | None
) -> str | None:
    """Why a built-in file tool may not write this notebook (None: it may): JupyterLab has
    it open in a room, which would read the new file back over the person's unsaved typing
    (or save its own copy over Claude's). The notebook tools change the open document."""
    if tool not in FILE_WRITERS or shared is None:
        return None
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    try:
        target = cells.resolve(worktree, path)
    except NotebookError:
        return None  # not a notebook of the worktree: the other rules decide
    if await shared.open(target) is None:
        return None
    shown = target.relative_to(Path(os.path.realpath(worktree))).as_posix()
    return (
        f"{shown} is open in JupyterLab: writing its file would drop what the person has "
        f"typed there and not saved. Change it with the notebook tools, which edit the open "
        f"notebook: {PREFIX}edit_cell, {PREFIX}insert_cell, {PREFIX}delete_cell, "
        f"{PREFIX}move_cell (read it first with {PREFIX}read_notebook)."
    )


def describe(nb: Any, shown: str) -> str:
    """A notebook as text: each cell's index, id, type, source and outputs (images named,
    not shown), cut at READ_NOTEBOOK_CHARS."""
    kernel = cells.kernel_name(nb) or "none named"
    parts = [f"{shown}: {len(nb.cells)} cells, kernel {kernel}"]
    for i, cell in enumerate(nb.cells):
        count = cell.get("execution_count")
        head = f"--- cell {i} · id {cell.get('id', '(none)')} · {cell.cell_type}"
        parts.append(head + (f" · [{count}]" if count else ""))
        parts.append(cell.source)
        outputs = cell.get("outputs") or []
        if outputs:
            text = render(outputs, images=False).text
            if len(text) > CELL_OUTPUT_CHARS:
                text = text[:CELL_OUTPUT_CHARS] + f"\n… ({len(text) - CELL_OUTPUT_CHARS} more)"
            parts.append(f"--- outputs of cell {i}:\n{text}")
    text = "\n".join(parts)
    if len(text) > READ_NOTEBOOK_CHARS:
        cut = len(text) - READ_NOTEBOOK_CHARS
        text = text[:READ_NOTEBOOK_CHARS] + f"\n… (cut: {cut} more characters not shown)"
    return text
