"""Terminals in a session's worktree: Jupyter's own terminals, with their output kept.

A session terminal is a named terminal of Jupyter's terminal manager (terminado), so the
lab's Terminal widget and ``/terminals/websocket/<name>`` work unchanged. An
``OutputRecorder`` sits among the terminal's clients, batches what it prints and appends it
to the store, keeping at most ``output_cap_bytes`` per terminal (the newest output).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chat.environment import allowed
from .errors import InvalidInput, NotFound, QuotaExceeded, Unavailable
from .store import Store
from .workspace import WorkspaceService
from .workspace.service import LIVE_STATES


@dataclass
class TerminalSettings:
    max_per_user: int = 5
    output_cap_bytes: int = 1_000_000
    flush_interval: float = 0.5
    #: "inherit": the server's environment (a Jupyter terminal's usual); "allow_list": only
    #: what Claude Code may see (``chat/environment.py``) plus ``env_passthrough``
    env: str = "inherit"
    env_passthrough: tuple[str, ...] = ()


class OutputRecorder:
    """A terminado client that never reads input: it only records what the terminal prints.

    Reads are kept in memory (never more than the cap: older reads are let go and counted)
    and one writer task stores them at most once per ``flush_interval``, so a flood costs
    the event loop no more than appending to a deque."""

    size = (None, None)  # take no part in sizing the terminal

    def __init__(
        self,
        store: Store,
        terminal_id: str,
        user_id: str,
        settings: TerminalSettings,
        log: logging.Logger,
    ):
        self.store = store
        self.user_id = user_id  # whose terminal (for the per-user limit)
        self.terminal_id = terminal_id
        self.settings = settings
        self.logger = log
        self._pending: deque[str] = deque()
        self._pending_chars = 0
        self._dropped_bytes = 0  # let go before reaching the store
        self._wake = asyncio.Event()
        self._ended = False
        self.closed = asyncio.Event()
        self._writer = asyncio.ensure_future(self._write_loop())

    # terminado calls these from the event loop for every read of the pty
    def on_pty_read(self, text: str) -> None:
        self._pending.append(text)
        self._pending_chars += len(text)
        cap = self.settings.output_cap_bytes
        while len(self._pending) > 1 and self._pending_chars - len(self._pending[0]) >= cap:
            old = self._pending.popleft()
            self._pending_chars -= len(old)
            self._dropped_bytes += len(old.encode("utf-8", "replace"))
        self._wake.set()

    def on_pty_died(self) -> None:
        self._ended = True
        self._wake.set()

    async def _write_loop(self) -> None:
        while not self.closed.is_set():
            await self._wake.wait()
            if not self._ended:  # gather a batch: one write per interval at most
                await asyncio.sleep(self.settings.flush_interval)
            self._wake.clear()
            await self._write(final=self._ended)

    async def _write(self, *, final: bool) -> None:
        text = "".join(self._pending)
        dropped = self._dropped_bytes
        self._pending.clear()
        self._pending_chars = 0
        self._dropped_bytes = 0
        try:
            if text or dropped:
                await self.store.terminals.append_output(
                    self.terminal_id, text, self.settings.output_cap_bytes, dropped_before=dropped
                )
            if final:
                await self.store.terminals.close(self.terminal_id)
        except Exception:  # losing a chunk of output must not break the terminal
            self.logger.exception("could not store terminal output")
        finally:
            if final:
                self.closed.set()

    async def flush_now(self) -> None:
        """Store what is pending and stop (at shutdown, before the store closes)."""
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self._write(final=False)


class TerminalService:
    def __init__(
        self,
        store: Store,
        workspace: WorkspaceService,
        manager: Callable[[], Any | None],
        settings: TerminalSettings,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.workspace = workspace
        self._manager = manager
        self.settings = settings
        self.logger = log or logging.getLogger(__name__)
        self._recorders: dict[str, OutputRecorder] = {}  # terminal id -> recorder
        workspace.before_delete.append(self.close_session_terminals)

    def manager(self) -> Any:
        manager = self._manager()
        if manager is None:
            raise Unavailable("Terminals are disabled on this server.")
        return manager

    def _running(self, row: dict[str, Any]) -> bool:
        manager = self._manager()
        recorder = self._recorders.get(row["id"])
        return bool(
            manager is not None
            and recorder is not None
            and not recorder.closed.is_set()
            and row["name"] in manager.terminals
        )

    def _recording(self, row: dict[str, Any]) -> bool:
        """More output may still be stored (the process runs or its last batch is on its way)."""
        recorder = self._recorders.get(row["id"])
        return recorder is not None and not recorder.closed.is_set()

    def public(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": row["name"],
            "session_id": row["session_id"],
            "cwd": row["cwd"],
            "running": self._running(row),
            "created_at": row["created_at"],
            "closed_at": row["closed_at"],
            "stored_bytes": row["stored_bytes"],
            "dropped_bytes": row["dropped_bytes"],
        }

    async def create(self, user_id: str, session_id: str) -> dict[str, Any]:
        manager = self.manager()
        session = await self.workspace.get(user_id, session_id)
        worktree = Path(session["worktree_path"])
        if session["state"] not in LIVE_STATES or not worktree.is_dir():
            raise InvalidInput(
                "The session's worktree is gone, so no terminal can open in it.",
                details={"state": session["state"]},
            )
        running = sum(
            1
            for recorder in self._recorders.values()
            if not recorder.closed.is_set() and recorder.user_id == user_id
        )
        if running >= self.settings.max_per_user:
            raise QuotaExceeded(
                f"You already have {running} terminals open, the limit is "
                f"{self.settings.max_per_user}. Close one to open another.",
                limit=self.settings.max_per_user,
                remaining=0,
                reset=time.time() + 60,
                retry_after=60,
            )
        for gone in [t for t, r in self._recorders.items() if r.closed.is_set()]:
            del self._recorders[gone]
        model = manager.create(cwd=str(worktree), extra_env=self._env(session_id, session))
        name = model["name"]
        terminal_id = str(uuid.uuid4())
        recorder = OutputRecorder(self.store, terminal_id, user_id, self.settings, self.logger)
        manager.get_terminal(name).clients.append(recorder)
        self._recorders[terminal_id] = recorder
        row = await self.store.terminals.add(
            {
                "id": terminal_id,
                "name": name,
                "session_id": session_id,
                "user_id": user_id,
                "cwd": str(worktree),
            }
        )
        return self.public({**row, "stored_bytes": 0, "dropped_bytes": 0})

    def _env(self, session_id: str, session: dict[str, Any]) -> dict[str, str | None]:
        """terminado's ``extra_env``: added to the server's environment; a None value
        removes that variable (how the allow-list leaves the rest out)."""
        env: dict[str, str | None] = {}
        if self.settings.env == "allow_list":
            passthrough = self.settings.env_passthrough
            env = {k: None for k in os.environ if not allowed(k, os.environ, passthrough)}
        return {
            **env,
            "LAWLESS_SESSION_ID": session_id,
            "LAWLESS_BRANCH": session["branch"],
            "LAWLESS_WORKTREE": session["worktree_path"],
        }

    async def list(self, user_id: str, session_id: str) -> list[dict[str, Any]]:
        await self.workspace.get(user_id, session_id)
        return [self.public(r) for r in await self.store.terminals.of_session(session_id)]

    async def _find(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        await self.workspace.get(user_id, session_id)
        rows = [r for r in await self.store.terminals.of_session(session_id) if r["name"] == name]
        if not rows:
            raise NotFound(f"The session has no terminal {name[:64]!r}.")
        return rows[-1]  # names are reused across restarts; the newest is meant

    async def close(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        row = await self._find(user_id, session_id, name)
        if not self._running(row):
            raise NotFound(f"The terminal {name[:64]!r} is not running.")
        await self._terminate(row)
        return self.public(await self._find(user_id, session_id, name))

    async def _terminate(self, row: dict[str, Any]) -> None:
        manager = self.manager()
        recorder = self._recorders.get(row["id"])
        await manager.terminate(row["name"], force=True)
        if recorder is not None:
            try:
                await asyncio.wait_for(recorder.closed.wait(), 10)
            except asyncio.TimeoutError:
                self.logger.warning("terminal %s did not report its end", row["name"])
                await self.store.terminals.close(row["id"])

    async def output(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        row = await self._find(user_id, session_id, name)
        return {
            "name": name,
            "output": await self.store.terminals.output(row["id"]),
            "running": self._recording(row),
            "truncated": row["dropped_bytes"] > 0,
            "dropped_bytes": row["dropped_bytes"],
        }

    async def close_session_terminals(self, session_id: str) -> None:
        """Before a session is deleted its terminals are closed."""
        for row in await self.store.terminals.of_session(session_id):
            if self._running(row):
                await self._terminate(row)

    async def shutdown(self) -> None:
        for recorder in list(self._recorders.values()):
            if not recorder.closed.is_set():
                await recorder.flush_now()
