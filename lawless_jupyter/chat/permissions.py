"""What Claude may do without asking, and the broker that asks the person.

The policy is pure: given a tool call and the worktree it decides allow, deny or ask.
Paths outside the worktree (after following symlinks) are denied, never asked. The broker
keeps one future per open request; an unanswered request times out as a deny.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ..errors import InvalidInput, NotFound
from ..workspace import hooks
from .rules import rule_for, rule_matches

Decision = Literal["allow", "deny", "ask"]

# the session's ``jupyter`` MCP tools (notebooks/tools.py): reading a notebook is a read,
# changing its cells an edit; running code (KERNEL_CODE_TOOLS, rules.py) asks like Bash
JUPYTER_READ_TOOLS = frozenset({"mcp__jupyter__read_notebook"})
JUPYTER_EDIT_TOOLS = frozenset(
    f"mcp__jupyter__{name}" for name in ("edit_cell", "insert_cell", "delete_cell", "move_cell")
)
READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead", *JUPYTER_READ_TOOLS})
EDIT_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit", *JUPYTER_EDIT_TOOLS})
HARMLESS_TOOLS = frozenset({"TodoWrite", "Task", "ExitPlanMode", "BashOutput", "KillShell"})
PATH_KEYS = ("file_path", "path", "notebook_path")
# Claude Code's own project configuration names commands too (its hooks, MCP servers)
CLAUDE_CONFIG_FILES = frozenset(
    {".claude/settings.json", ".claude/settings.local.json", ".mcp.json"}
)

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


def _relative(value: str, root: Path) -> list[PurePosixPath]:
    """``value`` relative to ``root``, as written and with symlinks followed (a link into
    ``.husky`` is a write to ``.husky``). Only called for paths inside ``root``."""
    real_root = Path(os.path.realpath(root))
    given = Path(os.path.normpath(root / os.path.expanduser(value)))
    found = []
    for path, base in (
        (given, Path(os.path.normpath(root))),
        (Path(os.path.realpath(given)), real_root),
    ):
        with contextlib.suppress(ValueError):
            found.append(PurePosixPath(path.relative_to(base).as_posix()))
    return found


@dataclass
class PermissionPolicy:
    mode: str = "default"
    #: rules the person said "always allow" for: a tool name (edits and other tools), a
    #: shell command rule, ``Bash(git status:*)`` (prefix) or ``Bash(<command>)`` (exact),
    #: or ``mcp__jupyter__execute``: any code in this session's kernel (rules.py)
    remembered: set[str] = field(default_factory=set)
    #: the repository's ``core.hooksPath`` relative to the worktree (None: unset/outside)
    hooks_path: PurePosixPath | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"Unknown permission mode {self.mode!r}; use one of {MODES}.")

    def guarded(self, tool: str, tool_input: dict[str, Any], root: Path) -> tuple[Decision, str]:
        """An edit of a file that would become a command: git's own files and hook folders
        are refused, hook configuration asks. ("allow", "") for any other call."""
        if tool not in EDIT_TOOLS:
            return "allow", ""
        for key in PATH_KEYS:
            value = tool_input.get(key)
            if not isinstance(value, str) or not value:
                continue
            for rel in _relative(value, root):
                if hooks.is_git_file(rel):
                    return "deny", (
                        f"{value} is one of git's own files; editing it could make git run "
                        "commands nobody approved, so Claude may not."
                    )
                if hooks.in_hook_dir(rel, self.hooks_path):
                    return "deny", (
                        f"{value} is in a git hook folder; a hook is a command git runs on "
                        "commit or merge, so Claude may not write it."
                    )
            for rel in _relative(value, root):
                if hooks.is_hook_config(rel) or rel.as_posix() in CLAUDE_CONFIG_FILES:
                    return "ask", f"{value} names commands that run later."
        return "allow", ""

    def decide(self, tool: str, tool_input: dict[str, Any], root: Path) -> tuple[Decision, str]:
        outside = outside_paths(tool_input, root)
        if outside:
            return "deny", f"{outside[0]} is outside the session's worktree."
        if tool in READ_TOOLS or tool in HARMLESS_TOOLS:
            return "allow", ""
        if self.mode == "read_only":
            return "deny", f"{tool} is not allowed in a read-only chat."
        if self.mode == "trusted":  # the person's explicit "everything in the worktree"
            return "allow", ""
        guard, reason = self.guarded(tool, tool_input, root)
        if guard != "allow":
            return guard, reason
        if any(rule_matches(rule, tool, tool_input) for rule in self.remembered):
            return "allow", ""
        if tool in EDIT_TOOLS and self.mode == "default":
            return "allow", ""
        return "ask", ""

    def rule_for(self, tool: str, tool_input: dict[str, Any], root: Path) -> str | None:
        """What "Always allow" remembers for this call (None: nothing, it asks every time)."""
        if self.guarded(tool, tool_input, root)[0] != "allow":
            return None
        return rule_for(tool, tool_input)


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
