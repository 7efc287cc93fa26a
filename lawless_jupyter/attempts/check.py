"""An attempt's check command: the person's own shell command, run in a worktree.

The command goes to ``bash -c`` as one argument (no string is built around it), in a process
group of its own so a time-out, or a command that leaves children behind, ends them all,
``nice`` steps below the server like Claude's processes (a test suite is the agents' batch
work; the relay of every answer goes first). Only the tail of its output is kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

#: after the command itself ended, how long its output may still take to arrive
_DRAIN_SECONDS = 2.0


@dataclass
class CheckResult:
    exit_code: int | None  # None: it did not end by itself (timed out)
    output: str  # the last ``tail_bytes`` of stdout and stderr, interleaved
    timed_out: bool
    seconds: float


async def run_check(
    command: str,
    cwd: Path,
    *,
    timeout: float,
    tail_bytes: int,
    env: dict[str, str],
    nice: int = 0,
) -> CheckResult:
    started = time.monotonic()
    below = ("nice", "-n", str(nice)) if nice else ()  # before bash starts anything
    process = await asyncio.create_subprocess_exec(
        *below,
        "bash",
        "-c",
        command,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    if nice:  # its session is its own scheduling group where Linux groups by session
        with contextlib.suppress(OSError), open(f"/proc/{process.pid}/autogroup", "w") as f:
            f.write(str(min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)))
    tail = bytearray()

    async def read() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            tail.extend(chunk)
            if len(tail) > tail_bytes:
                del tail[: len(tail) - tail_bytes]

    reader = asyncio.ensure_future(read())
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        timed_out = True
    finally:  # whatever is left of its process group goes (also when we are cancelled)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), _DRAIN_SECONDS)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader, _DRAIN_SECONDS)
        reader.cancel()
    return CheckResult(
        None if timed_out else process.returncode,
        tail.decode("utf-8", "replace"),
        timed_out,
        time.monotonic() - started,
    )
