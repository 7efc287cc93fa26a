"""One Jupyter kernel per workspace session, in its worktree.

Kernels are started through the server's own ``kernel_manager`` (so ``api/kernels`` lists
them and a person can attach a console or notebook), on first use, with the worktree as
their working directory. Claude's code runs through a jupyter_client ``AsyncKernelClient``
of our own; only the outputs of our own request are collected (a person's console on the
same kernel is left alone). Which kernel belongs to which session is kept in the store,
so start-up shuts down the kernels of deleted sessions and those a crashed server left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.session import Session
from nbformat.v4 import output_from_msg

from ..chat.environment import allowed_environment
from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..workspace import SessionState, WorkspaceService

S = SessionState
LIVE_STATES = frozenset({S.ACTIVE, S.CONNECTED, S.UPDATING})
OUTPUT_TYPES = frozenset({"stream", "execute_result", "display_data", "error"})
POLL = 0.5  # seconds between checks that the kernel is still alive while code runs
INTERRUPT_GRACE = 10.0  # seconds an interrupted run has to end before the kernel restarts


@dataclass
class KernelSettings:
    default_kernel: str = "python3"
    idle_timeout: float = 3600.0
    execute_timeout: float = 120.0  # an execute that names no timeout
    max_execute_timeout: float = 3600.0
    start_timeout: float = 60.0
    #: "inherit": the server's environment (a Jupyter kernel's usual); "allow_list": only
    #: what Claude Code may see plus ``env_passthrough`` (``LawlessApp.terminal_env``)
    env: str = "inherit"
    env_passthrough: tuple[str, ...] = ()


@dataclass
class Execution:
    """What one run of code gave: nbformat outputs and how it ended."""

    outputs: list[Any] = field(default_factory=list)
    execution_count: int | None = None
    #: ok | error (the code raised) | timeout | interrupted | died
    status: str = "ok"
    #: said before the outputs (the kernel was restarted since the last run...)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Kernel:
    kernel_id: str
    name: str
    client: Any = None  # AsyncKernelClient, made on first run
    pid: int | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one run at a time
    running: bool = False
    stopped: bool = False  # the person pressed Stop during this run
    died: bool = False  # it died during a run: the next run says it was restarted
    last_used: float = field(default_factory=time.monotonic)


class SessionKernels:
    def __init__(
        self,
        store: Store,
        workspace: WorkspaceService,
        kernel_manager: Callable[[], Any],
        root_dir: Path,
        settings: KernelSettings,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.workspace = workspace
        self.kernel_manager = kernel_manager  # the server's MappingKernelManager
        self.root_dir = Path(root_dir)
        self.settings = settings
        self.log = log or logging.getLogger(__name__)
        self._kernels: dict[str, _Kernel] = {}
        self._start_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        workspace.before_delete.append(self.shutdown_session)

    # -- starting -----------------------------------------------------------------------------

    async def ensure(self, session_id: str, worktree: Path, kernel_name: str | None = None):
        """The session's kernel, started (or restarted, when it died) if need be."""
        wanted = kernel_name or self.settings.default_kernel
        async with self._start_locks.setdefault(session_id, asyncio.Lock()):
            km = self.kernel_manager()
            kernel = self._kernels.get(session_id)
            vanished = kernel is not None and kernel.kernel_id not in km
            if kernel is not None and vanished:
                # shut down from Jupyter's side, or dead past its restarter: start anew
                self._kernels.pop(session_id, None)
                await self._close_client(kernel)
                kernel = None
            if kernel is not None:
                if kernel_name and kernel_name != kernel.name:
                    raise Conflict(
                        f"This session's kernel is {kernel.name!r} but the notebook uses "
                        f"{kernel_name!r}. Shut the session's kernel down (or change the "
                        "notebook's kernel) to run it.",
                        details={"kernel": kernel.name, "notebook": kernel_name},
                    )
                if not await km.get_kernel(kernel.kernel_id).is_alive():
                    await self._close_client(kernel)
                    await km.restart_kernel(kernel.kernel_id)
                    kernel.died, kernel.pid = True, _pid(km, kernel.kernel_id)
                return kernel
            kernel = await self._start(km, session_id, worktree, wanted)
            kernel.died = vanished  # the next run says its variables are gone
            return kernel

    async def _start(self, km: Any, session_id: str, worktree: Path, name: str) -> _Kernel:
        where: dict[str, Any]
        real, root = worktree.resolve(), self.root_dir.resolve()
        if real.is_relative_to(root):  # Jupyter's way: a path below its root
            where = {"path": real.relative_to(root).as_posix()}
        else:  # worktrees_dir configured outside the root
            where = {"cwd": str(real)}
        try:
            # asked first: a start with an unknown name leaves a half-made kernel in
            # Jupyter's list (the server's own shutdown then trips on it)
            await asyncio.to_thread(km.kernel_spec_manager.get_kernel_spec, name)
        except NoSuchKernel as e:
            raise InvalidInput(
                f"There is no Jupyter kernel named {name!r} on this server.",
                details={"kernel": name},
            ) from e
        kernel_id = await km.start_kernel(
            kernel_name=name, env=self._env(session_id, real), **where
        )
        kernel = _Kernel(kernel_id, name, pid=_pid(km, kernel_id))
        self._kernels[session_id] = kernel
        started = await asyncio.to_thread(_started_at, kernel.pid)
        await self.store.kernels.record(session_id, kernel_id, name, kernel.pid, started)
        self.log.info("Kernel %s (%s) started for session %s", kernel_id, name, session_id)
        return kernel

    def _env(self, session_id: str, worktree: Path) -> dict[str, str]:
        """The kernel's whole environment (Jupyter uses it in place of the server's)."""
        if self.settings.env == "allow_list":
            env = allowed_environment(os.environ, self.settings.env_passthrough)
        else:
            env = dict(os.environ)
        return {**env, "LAWLESS_SESSION_ID": session_id, "LAWLESS_WORKTREE": str(worktree)}

    async def _client(self, kernel: _Kernel) -> Any:
        if kernel.client is None:
            manager = self.kernel_manager().get_kernel(kernel.kernel_id)
            # a Session of its own: the kernel manager's would give our shell socket the
            # same ZMQ identity as the server's own clients (a restart's, another
            # extension's), and the kernel's ROUTER drops one of two such peers
            own = Session(
                key=manager.session.key,
                signature_scheme=manager.session.signature_scheme,
                username="lawless",
            )
            client = manager.client(session=own)
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=self.settings.start_timeout)
            except BaseException:
                client.stop_channels()
                raise
            kernel.client = client
        return kernel.client

    @staticmethod
    async def _close_client(kernel: _Kernel) -> None:
        client, kernel.client = kernel.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.stop_channels()

    # -- running code -------------------------------------------------------------------------

    async def execute(
        self,
        session_id: str,
        worktree: Path,
        code: str,
        *,
        timeout: float | None = None,
        kernel_name: str | None = None,
    ) -> Execution:
        """Run ``code`` in the session's kernel. A run past ``timeout`` is interrupted; a
        kernel that dies is reported and restarted on the next run."""
        timeout = self.settings.execute_timeout if timeout is None else timeout
        if not 0 < timeout <= self.settings.max_execute_timeout:
            raise InvalidInput(
                f"'timeout' must be more than 0 and at most "
                f"{self.settings.max_execute_timeout:g} seconds."
            )
        kernel = await self.ensure(session_id, worktree, kernel_name)
        async with kernel.lock:
            result = Execution()
            if kernel.died:
                kernel.died = False
                result.notes.append(
                    "The session's kernel had stopped (it died or was shut down) and was "
                    "started again: variables and imports from before are gone."
                )
            kernel.running, kernel.stopped = True, False
            kernel.last_used = time.monotonic()
            try:
                await self._run(kernel, code, timeout, result)
            finally:
                kernel.running = False
                kernel.last_used = time.monotonic()
            return result

    async def _run(self, kernel: _Kernel, code: str, timeout: float, result: Execution) -> None:
        km = self.kernel_manager()
        manager = km.get_kernel(kernel.kernel_id)
        client = await self._client(kernel)
        loop = asyncio.get_running_loop()
        msg_id = client.execute(code, store_history=True, allow_stdin=False)
        deadline = loop.time() + timeout
        interrupted_at: float | None = None
        while True:
            now = loop.time()
            if interrupted_at is None and now >= deadline:
                result.status = "timeout"
                interrupted_at = now
                await km.interrupt_kernel(kernel.kernel_id)
            elif interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE:
                # it ignored the interrupt: only a restart gets the kernel back
                await self._close_client(kernel)
                await km.restart_kernel(kernel.kernel_id)
                kernel.pid = _pid(km, kernel.kernel_id)
                result.notes.append("The kernel did not stop when interrupted; it was restarted.")
                return
            wait = POLL if interrupted_at is not None else max(0.01, min(POLL, deadline - now))
            try:
                msg = await client.get_iopub_msg(timeout=wait)
            except queue.Empty:
                if not await manager.is_alive() or _pid(km, kernel.kernel_id) != kernel.pid:
                    result.status = "died"
                    kernel.died = False  # this result says so; the next run restarts it
                    await self._close_client(kernel)
                    return
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # someone else's request on the same kernel
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "execute_input":
                result.execution_count = content.get("execution_count")
            elif kind == "clear_output":
                result.outputs.clear()
            elif kind in OUTPUT_TYPES:
                output = output_from_msg(msg)
                last = result.outputs[-1] if result.outputs else None
                if kind == "stream" and last and last.get("name") == output.name:
                    last.text += output.text  # one stream output per run of prints
                else:
                    result.outputs.append(output)
                if kind == "error" and result.status == "ok":
                    result.status = "error"
        if result.status == "error" and kernel.stopped:
            result.status = "interrupted"
        await _drain_reply(client, msg_id)

    async def interrupt(self, session_id: str) -> bool:
        """The person pressed Stop: interrupt Claude's run in this session's kernel, if one
        is going (a run of the person's own, from a console, is left alone)."""
        kernel = self._kernels.get(session_id)
        if kernel is None or not kernel.running:
            return False
        kernel.stopped = True
        await self.kernel_manager().interrupt_kernel(kernel.kernel_id)
        return True

    # -- the routes ---------------------------------------------------------------------------

    async def describe(self, user_id: str, session_id: str) -> dict[str, Any] | None:
        """The session's kernel as ``api/kernels`` shows it, or None before its first use."""
        await self.workspace.get(user_id, session_id)  # 404 unless it is theirs
        kernel = self._kernels.get(session_id)
        km = self.kernel_manager()
        if kernel is None or kernel.kernel_id not in km:
            return None
        return {**km.kernel_model(kernel.kernel_id), "running_claude_code": kernel.running}

    async def restart(self, user_id: str, session_id: str) -> dict[str, Any]:
        await self.workspace.get(user_id, session_id)
        kernel = self._owned_kernel(session_id)
        async with self._start_locks.setdefault(session_id, asyncio.Lock()):
            await self._close_client(kernel)
            km = self.kernel_manager()
            await km.restart_kernel(kernel.kernel_id)
            kernel.pid, kernel.died = _pid(km, kernel.kernel_id), False
            started = await asyncio.to_thread(_started_at, kernel.pid)
            await self.store.kernels.record(
                session_id, kernel.kernel_id, kernel.name, kernel.pid, started
            )
            return km.kernel_model(kernel.kernel_id)

    async def shut_down(self, user_id: str, session_id: str) -> dict[str, Any]:
        await self.workspace.get(user_id, session_id)
        kernel = self._owned_kernel(session_id)
        await self.shutdown_session(session_id)
        return {"id": kernel.kernel_id, "name": kernel.name}

    def _owned_kernel(self, session_id: str) -> _Kernel:
        kernel = self._kernels.get(session_id)
        if kernel is None or kernel.kernel_id not in self.kernel_manager():
            raise NotFound("This session has no kernel running; it starts when code is first run.")
        return kernel

    # -- housekeeping -------------------------------------------------------------------------

    async def shutdown_session(self, session_id: str) -> None:
        """Before a session is deleted (and on request): shut its kernel down."""
        kernel = self._kernels.pop(session_id, None)
        if kernel is not None:
            await self._close_client(kernel)
            km = self.kernel_manager()
            if kernel.kernel_id in km:
                with contextlib.suppress(Exception):
                    await km.shutdown_kernel(kernel.kernel_id)
                self.log.info("Kernel %s of session %s shut down", kernel.kernel_id, session_id)
        await self.store.kernels.forget(session_id)

    async def close_idle(self) -> int:
        """Shut down kernels nobody (neither Claude nor a person's console) used for
        ``idle_timeout`` seconds."""
        km = self.kernel_manager()
        now = datetime.now(timezone.utc)
        closed = 0
        for session_id, kernel in list(self._kernels.items()):
            if kernel.running or kernel.kernel_id not in km:
                continue
            state = km.get_kernel(kernel.kernel_id)
            if getattr(state, "execution_state", "idle") == "busy":
                continue
            ours = time.monotonic() - kernel.last_used
            activity = getattr(state, "last_activity", None)
            theirs = (now - activity).total_seconds() if activity else ours
            if min(ours, theirs) > self.settings.idle_timeout:
                await self.shutdown_session(session_id)
                closed += 1
        return closed

    async def reconcile(self) -> dict[str, list[str]]:
        """At start-up: adopt the kernels of live sessions this server still runs, shut
        down those of sessions that are gone, end kernel processes a crashed server left."""
        km = self.kernel_manager()
        report: dict[str, list[str]] = {"adopted": [], "shut_down": [], "ended": []}
        for row in await self.store.kernels.all():
            session_id, kernel_id = row["session_id"], row["kernel_id"]
            session = await self.store.sessions.get(session_id)
            live = session is not None and session["state"] in LIVE_STATES
            if kernel_id in km:
                if live:
                    self._kernels[session_id] = _Kernel(
                        kernel_id, row["kernel_name"], pid=row["pid"]
                    )
                    report["adopted"].append(kernel_id)
                    continue
                with contextlib.suppress(Exception):
                    await km.shutdown_kernel(kernel_id)
                report["shut_down"].append(kernel_id)
            elif await asyncio.to_thread(_end_process, row["pid"], row["pid_started"]):
                report["ended"].append(kernel_id)
            await self.store.kernels.forget(session_id)
        if any(report.values()):
            self.log.info("Kernels reconciled: %s", report)
        return report

    async def shutdown(self) -> None:
        """The server stops (Jupyter shuts its kernels down itself): close our clients."""
        for kernel in self._kernels.values():
            await self._close_client(kernel)


async def _drain_reply(client: Any, msg_id: str) -> None:
    """Read our execute_reply so replies do not pile up on the shell channel."""
    with contextlib.suppress(queue.Empty, asyncio.TimeoutError):
        for _ in range(10):
            reply = await client.get_shell_msg(timeout=5)
            if reply["parent_header"].get("msg_id") == msg_id:
                return


def _pid(km: Any, kernel_id: str) -> int | None:
    provisioner = getattr(km.get_kernel(kernel_id), "provisioner", None)
    return getattr(provisioner, "pid", None)


def _started_at(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _end_process(pid: int | None, started: float | None) -> bool:
    """End a kernel process left by a crashed server: only that process (same start time,
    so a reused pid is never hit)."""
    if pid is None or started is None:
        return False
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) > 0.01:
            return False
        process.terminate()
        _, alive = psutil.wait_procs([process], timeout=5)
        for survivor in alive:
            survivor.kill()
    except psutil.Error:
        return False
    return True
