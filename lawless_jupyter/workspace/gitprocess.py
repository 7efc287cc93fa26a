"""Running one git command under a deadline. Blocking: call it off the loop.

GitPython's ``Git.execute`` did this before; its deadline is a watchdog thread started per
command, which doubled the server's own CPU per git call (about 0.5 ms against 0.25 ms),
and a chat turn runs a dozen git commands for its checkpoint and file list. Here one
thread watches every deadline (``communicate(timeout=)`` would not need it, but it polls
the exit with sleeps: +0.8 ms a command). git runs in a process group of its own, so a
passed deadline stops the hooks and filters it started too, but in the server's session:
where Linux shares CPU between sessions (autogroup, for processes outside any cgroup),
a session per git command gave each as much CPU as the server and all its Claude
processes together (twenty turns starting at once: the slowest first text 1.9x the SDK's
own, 1.4x with git in the server's session; benchmarks/README.md). Failures are still
GitPython's ``GitCommandError``, which the rest of the package reads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import git
from git.util import remove_password_if_present

if TYPE_CHECKING:
    from .gitrepo import Deadline

# git's messages in English (some are read: a failed clean filter, a rejected push), and no
# question asked on a terminal: a credential git lacks is a failure, not a hang.
_FIXED_ENV = {"LANGUAGE": "C", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}


class _Watchdog:
    """Kills the process group of every command whose deadline passed, from one thread."""

    def __init__(self) -> None:
        self._due: dict[int, float] = {}  # process group -> when it must be over
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wakes_at = float("inf")  # when the thread looks next, unless woken

    def watch(self, group: int, seconds: float) -> None:
        with self._changed:
            at = self._due[group] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lawless-git-deadlines", daemon=True
                )
                self._thread.start()
            if at < self._wakes_at:  # most deadlines are minutes: no wake-up for them
                self._changed.notify()

    def forget(self, group: int) -> None:
        with self._changed:
            self._due.pop(group, None)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for group in [g for g, at in self._due.items() if at <= now]:
                    del self._due[group]
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, signal.SIGKILL)
                self._wakes_at = min(self._due.values(), default=float("inf"))
                self._changed.wait(None if not self._due else self._wakes_at - now)


_WATCHDOG = _Watchdog()


def _text(output: bytes) -> str:
    return output.decode("utf-8", "surrogateescape")


def run_git(
    command: list[str],
    cwd: str | Path,
    deadline: Deadline,
    env: dict[str, str] | None = None,
    *,
    network: bool = False,
) -> str:
    """Run ``command`` (``["git", ...]``) in ``cwd`` with the server's environment plus
    ``env``, and return its standard output; ``GitCommandError`` when git fails (its
    message in ``stderr``), ``deadline.error()`` when the deadline passes first. With
    ``network`` (a push, a clone), git gets a session of its own: no terminal, so ssh
    fails at once where it would ask on the server's terminal and wait for the deadline."""
    timeout = deadline.remaining()  # a deadline already passed starts nothing
    shown = remove_password_if_present(command)
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **_FIXED_ENV, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # its own group; the server's session (see above) unless it may ask for a login
            start_new_session=network,
            process_group=None if network else 0,
        )
    except (FileNotFoundError, NotADirectoryError) as e:
        if not os.path.isdir(cwd):  # as git -C would say it
            raise git.GitCommandError(
                shown, 128, f"fatal: cannot change to '{cwd}': No such file or directory"
            ) from e
        raise git.GitCommandNotFound(shown, e) from e
    with process:
        if timeout is not None:
            _WATCHDOG.watch(process.pid, timeout)  # its group's id is its pid
        try:
            out, err = process.communicate()
        finally:  # at once: the group's id is free for reuse once git is reaped
            _WATCHDOG.forget(process.pid)
    if process.returncode == -signal.SIGKILL and deadline.passed():
        raise deadline.error()
    if process.returncode != 0:
        raise git.GitCommandError(
            shown, process.returncode, _text(err).removesuffix("\n"), _text(out)
        )
    return _text(out)
