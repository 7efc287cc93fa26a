"""What Claude may do without asking, and the broker that asks the person.

The policy is pure: given a tool call and the worktree it decides allow, deny or ask.
Paths outside the worktree (after following symlinks) are denied, never asked. The broker
keeps one future per open request; an unanswered request times out as a deny.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import InvalidInput, NotFound

Decision = Literal["allow", "deny", "ask"]

READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"})
EDIT_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
HARMLESS_TOOLS = frozenset({"TodoWrite", "Task", "ExitPlanMode", "BashOutput", "KillShell"})
PATH_KEYS = ("file_path", "path", "notebook_path")

# default: reads and edits inside the worktree, everything else asks
# ask: only reads are free; edits ask too
# read_only: reads only; everything else is denied (the default of a chat with no worktree)
# trusted: everything inside the worktree, shell commands included, runs without asking
MODES = ("default", "ask", "read_only", "trusted")


def outside_paths(tool_input: dict[str, Any], root: Path) -> list[str]:
    """The paths in a tool's input that resolve (symlinks followed) outside ``root``."""
    root = Path(os.path.realpath(root))
    found = []
    for key in PATH_KEYS:
        value = tool_input.get(key)
        if not isinstance(value, str) or not value:
            continue
        target = Path(os.path.realpath(root / os.path.expanduser(value)))
        if target != root and root not in target.parents:
            found.append(value)
    return found


@dataclass
class PermissionPolicy:
    mode: str = "default"
    remembered: set[str] = field(default_factory=set)  # tools the person said "always allow"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"Unknown permission mode {self.mode!r}; use one of {MODES}.")

    def decide(self, tool: str, tool_input: dict[str, Any], root: Path) -> tuple[Decision, str]:
        outside = outside_paths(tool_input, root)
        if outside:
            return "deny", f"{outside[0]} is outside the session's worktree."
        if tool in READ_TOOLS or tool in HARMLESS_TOOLS:
            return "allow", ""
        if self.mode == "read_only":
            return "deny", f"{tool} is not allowed in a read-only chat."
        if tool in self.remembered or self.mode == "trusted":
            return "allow", ""
        if tool in EDIT_TOOLS and self.mode == "default":
            return "allow", ""
        return "ask", ""


@dataclass
class PendingApproval:
    request_id: str
    session_key: str
    tool: str
    future: asyncio.Future[tuple[bool, bool]]


class ApprovalBroker:
    """One future per open approval request (after jupyter-ai's permission manager)."""

    def __init__(self, timeout: float = 300.0):
        self.timeout = timeout
        self._pending: dict[str, PendingApproval] = {}

    async def ask(
        self,
        session_key: str,
        tool: str,
        announce: Callable[[str], Awaitable[None]],
    ) -> tuple[bool, bool]:
        """Publish a request (``announce`` gets its id) and wait for the answer.

        Returns (allowed, remember). No answer in time counts as a deny."""
        request_id = uuid.uuid4().hex
        future: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = PendingApproval(request_id, session_key, tool, future)
        try:
            await announce(request_id)
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except asyncio.TimeoutError:
            return False, False
        finally:
            self._pending.pop(request_id, None)

    @staticmethod
    def check_answer(decision: object, remember: object) -> None:
        if decision not in ("allow", "deny"):
            raise InvalidInput("'decision' must be 'allow' or 'deny'.")
        if remember is not None and not isinstance(remember, bool):
            raise InvalidInput("'remember' must be true or false.")

    def answer(self, session_key: str, request_id: str, decision: object, remember: object) -> str:
        self.check_answer(decision, remember)
        pending = self._pending.get(request_id)
        if pending is None or pending.session_key != session_key or pending.future.done():
            raise NotFound("There is no open approval request with this id (it may have expired).")
        pending.future.set_result((decision == "allow", bool(remember)))
        return pending.tool

    def deny_all(self, session_key: str) -> int:
        denied = 0
        for pending in list(self._pending.values()):
            if pending.session_key == session_key and not pending.future.done():
                pending.future.set_result((False, False))
                denied += 1
        return denied

    def open_requests(self, session_key: str) -> list[str]:
        return [p.request_id for p in self._pending.values() if p.session_key == session_key]
