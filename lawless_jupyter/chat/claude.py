"""One live Claude Code process (a ``ClaudeSDKClient``) per conversation.

The client stays connected between turns so a follow-up does not pay the CLI start-up; the
chat service closes it when idle. Every tool call goes through our policy twice: a
``PreToolUse`` hook that refuses paths outside the worktree (whatever the CLI's own rules
say, symlinks followed), and ``can_use_tool`` for the calls the CLI would ask about.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import claude_agent_sdk
import psutil
import sniffio
from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    CLINotFoundError,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
)

from . import environment
from .launcher import launcher
from .permissions import PermissionPolicy
from .turn import BeforeTools

# One stream-json line of Claude Code may carry a whole file (a Write's input, its result):
# past the SDK's 1 MB default the turn fails. The line is transient; events keep a cut copy.
MAX_CLI_MESSAGE_BYTES = 32 * 1024 * 1024
#: seconds a close waits for Claude Code to go before its process tree is killed
DISCONNECT_TIMEOUT = 10.0

AskPerson = Callable[[str, dict[str, Any], str | None], Awaitable[tuple[bool, str]]]
#: why the server refuses a tool call the policy allows (an open notebook's file), or None
Refusal = Callable[[str, dict[str, Any]], Awaitable[str | None]]


@dataclass
class ClaudeSettings:
    model: str | None = None
    cli_path: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: names of server variables Claude may see besides the allow-list (environment.py)
    env_passthrough: list[str] = field(default_factory=list)
    #: steps below the server's CPU priority once more than ``nice_above`` processes are
    #: live (the launcher applies it to a new one, ``renice`` to those already running)
    nice: int = 0
    nice_above: int = 0
    max_retries: int = 2
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)


class LiveClaude:
    """A conversation's Claude Code process, started on first use."""

    def __init__(
        self,
        cwd: Path,
        policy: PermissionPolicy,
        settings: ClaudeSettings,
        ask_person: AskPerson,
        resume: str | None,
        session_store: Any = None,
        mcp_servers: dict[str, Any] | None = None,
        refusal: Refusal | None = None,
    ):
        self.refusal = refusal
        #: in-process MCP servers (a session's ``jupyter`` tools), by name
        self.mcp_servers = mcp_servers or {}
        self.session_store = session_store  # where Claude Code's transcripts are kept
        self.cwd = cwd
        self.policy = policy
        self.settings = settings
        self.ask_person = ask_person
        self.resume = resume
        self.model = settings.model
        self.client: ClaudeSDKClient | None = None
        #: told when ``close`` has ended a process (its room may go to a turn in line)
        self.on_closed: Callable[[], None] | None = None
        self.last_used = time.monotonic()
        self.stderr: list[str] = []
        #: whether this process runs ``settings.nice`` below the server (decided by the chat
        #: service before it starts; raised later by ``renice``, never lowered)
        self.niced = True
        #: what must be over before any tool of the running turn runs (its checkpoint),
        #: started by the first one; when it failed, no tool runs
        self.before_tools: BeforeTools | None = None
        #: Claude Code's running total (USD) as its current process last reported it
        self.reported_cost = 0.0

    def _options(self) -> ClaudeAgentOptions:
        """Blocking (finds the CLI, writes the launcher once): call it off the loop."""
        env = {
            "CLAUDE_CODE_MAX_RETRIES": str(self.settings.max_retries),
            **self.settings.env,
        }
        # the launcher passes on only the allow-list, what we set here and the passthrough
        keep = [*self.settings.env_passthrough, *env]
        env.update(
            environment.launcher_env(
                _real_cli(self.settings.cli_path), keep, self.settings.nice if self.niced else 0
            )
        )
        return ClaudeAgentOptions(
            cwd=str(self.cwd),
            model=self.model,
            resume=self.resume,
            session_store=self.session_store,
            include_partial_messages=True,
            # "default": the CLI asks us (can_use_tool) for every edit and command, so our
            # policy is the one place that decides
            permission_mode="default",
            can_use_tool=self._can_use_tool,
            hooks={"PreToolUse": [HookMatcher(matcher=None, hooks=[self._confine])]},
            mcp_servers=dict(self.mcp_servers),
            allowed_tools=list(self.settings.allowed_tools),
            disallowed_tools=list(self.settings.disallowed_tools),
            cli_path=launcher(),
            env=env,
            stderr=self._remember_stderr,
            max_buffer_size=MAX_CLI_MESSAGE_BYTES,
        )

    def _remember_stderr(self, line: str) -> None:
        self.stderr = [*self.stderr[-49:], line]

    async def connected(self) -> ClaudeSDKClient:
        self.last_used = time.monotonic()
        if self.client is None:
            client = ClaudeSDKClient(await asyncio.to_thread(self._options))
            await client.connect()
            self.client, self.reported_cost = client, 0.0
        return self.client

    async def _unrecorded(self) -> str | None:
        """Wait for ``before_tools``; why no tool may run when it failed."""
        if self.before_tools is None:
            return None
        try:
            await asyncio.shield(self.before_tools.ready())
        except Exception:  # logged where it failed
            return (
                "The worktree's state could not be recorded before this turn, or its git "
                "hook settings read (see the server log), so no tool may change it; send "
                "the message again."
            )
        return None

    def turn_cost(self, total: float | None) -> float | None:
        """A turn's own cost: Claude Code reports what its process has cost so far (the
        running total of every turn it ran), so the increase since its last report."""
        if total is None:
            return None
        before, self.reported_cost = self.reported_cost, max(self.reported_cost, total)
        return max(0.0, total - before)

    async def _confine(self, input_data: dict[str, Any], tool_use_id: Any, context: Any):
        if (refused := await self._unrecorded()) is not None:
            return _deny(refused)
        tool, tool_input = input_data.get("tool_name", ""), input_data.get("tool_input") or {}
        decision, reason = self.policy.decide(tool, tool_input, self.cwd)
        if decision == "deny":
            return _deny(reason)
        if self.refusal is not None and (refused := await self.refusal(tool, tool_input)):
            return _deny(refused)
        return {}

    async def _can_use_tool(self, tool: str, tool_input: dict[str, Any], context: Any):
        if (refused := await self._unrecorded()) is not None:  # the hook waited already
            return PermissionResultDeny(message=refused)
        decision, reason = self.policy.decide(tool, tool_input, self.cwd)
        if decision == "ask":
            allowed, reason = await self.ask_person(
                tool, tool_input, getattr(context, "tool_use_id", None)
            )
            decision = "allow" if allowed else "deny"
        if decision == "allow":
            return PermissionResultAllow()
        return PermissionResultDeny(message=reason or f"The person did not allow {tool}.")

    def renice(self) -> None:
        """Run this process, and what it started, ``settings.nice`` below the server from now
        on (blocking: psutil; lowering a priority needs no privilege, raising one would)."""
        self.niced = True
        pid = self.pid()
        if pid is None or not self.settings.nice:
            return
        below = min(19, psutil.Process().nice() + self.settings.nice)
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            # Linux keeps a priority per thread: each of a process's threads, not only its
            # first (Claude Code's runtime has a dozen)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                for thread in proc.threads():
                    with contextlib.suppress(OSError):
                        if os.getpriority(os.PRIO_PROCESS, thread.id) < below:
                            os.setpriority(os.PRIO_PROCESS, thread.id, below)

    def pid(self) -> int | None:
        """The running Claude Code process's id (None while none runs)."""
        return _cli_pid(self.client) if self.client is not None else None

    async def interrupt(self) -> None:
        if self.client is not None:
            await self.client.interrupt()

    async def close(self, *, kill: bool = False) -> None:
        """Disconnect; with ``kill``, end the CLI and everything it started first."""
        client, self.client = self.client, None
        if client is not None:
            await _disconnect(client, kill)
            if self.on_closed is not None:
                self.on_closed()

    def close_later(self) -> asyncio.Task[None] | None:
        """Let go of the process now and disconnect it in the background (its graceful
        exit takes a moment; whoever needed the room does not wait for it)."""
        client, self.client = self.client, None
        if client is None:
            return None
        return asyncio.create_task(_disconnect(client, False), name="claude-close")


def _deny(reason: str | None) -> dict[str, Any]:
    """A ``PreToolUse`` hook's answer that refuses the call, with the reason Claude reads."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


async def _disconnect(client: ClaudeSDKClient, kill: bool) -> None:
    pid = _cli_pid(client)
    if kill:  # signals and waits (up to 5 s) in a thread: the loop serves everyone else
        await asyncio.to_thread(_kill_process_tree, pid)
    # Shielded: the SDK's close waits for the CLI, then SIGTERM, then SIGKILL (5 s each),
    # and a cancellation reaching it (our timeout) skips the rest, leaving a CLI that
    # ignores SIGTERM running. Past the timeout the SDK's close goes on; we end the tree.
    disconnecting = asyncio.ensure_future(client.disconnect())
    disconnecting.add_done_callback(_ignore_outcome)
    try:
        await asyncio.wait_for(asyncio.shield(disconnecting), DISCONNECT_TIMEOUT)
    except asyncio.TimeoutError:
        await asyncio.to_thread(_kill_process_tree, pid)
        await asyncio.wait({disconnecting}, timeout=DISCONNECT_TIMEOUT)
    except Exception:
        pass  # a CLI that failed on the way out: nothing left to close


def _ignore_outcome(task: asyncio.Future[None]) -> None:
    """An error of the SDK's close is not the caller's (read, so asyncio does not log it)."""
    if not task.cancelled():
        task.exception()


def declare_asyncio() -> None:
    """Say, for the calling task and those it starts, that asyncio runs them.

    anyio asks sniffio which library runs at every checkpoint, and the SDK passes each
    streamed token through a few of them; unless told, sniffio finds out through
    ``asyncio.current_task()``, which on Python 3.11 makes a ``getpid()`` system call:
    two per token (counted with strace: 22,451 calls for 10,000 tokens, 1,804 when told).
    """
    sniffio.current_async_library_cvar.set("asyncio")


def tree_rss(roots: Iterable[int]) -> dict[int, int]:
    """Resident memory (bytes) of each root process and what it started, from one pass
    over the process table (a ``children()`` per root would read it once per root)."""
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        children.setdefault(proc.info["ppid"], []).append(proc.pid)
    sizes = {}
    for root in roots:
        total, todo, alive = 0, [root], False
        while todo:
            pid = todo.pop()
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += psutil.Process(pid).memory_info().rss
                alive = alive or pid == root
            todo.extend(children.get(pid, ()))
        if alive:
            sizes[root] = total
    return sizes


def _real_cli(configured: str | None) -> str:
    """The Claude Code CLI the launcher starts: the configured one, else the SDK's bundled
    binary, else ``claude`` on PATH (the SDK's own order)."""
    if configured:
        found = shutil.which(configured)  # execve does not search PATH
        if found is None:
            raise CLINotFoundError(f"Claude Code not found at: {configured}")
        return found
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("claude")
    if found is None:
        raise CLINotFoundError("Claude Code not found: install it or set claude_cli_path.")
    return found


def _cli_pid(client: ClaudeSDKClient) -> int | None:
    # The SDK does not expose the process; its transport holds it (checked on 0.2.x).
    transport = getattr(client, "_transport", None)
    process = getattr(transport, "_process", None)
    return getattr(process, "pid", None)


def _kill_process_tree(pid: int | None) -> None:
    if pid is None:
        return
    try:
        root = psutil.Process(pid)
        victims = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)
