"""Stopping Claude never holds the server's event loop: every other request and stream goes on.

A cancel that has to kill a Claude Code process that no longer answers, and the deletion of
a session whose turn is running, both end a process tree and wait for it to go. That wait
must happen off the loop. ``loopwatch`` measures the time each loop callback really held the
loop (CPU contention from other tests on the machine is not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from .conftest import make_repo
from .fake_anthropic import text, tool_use
from .loopwatch import loop_holds
from .test_chat import (  # noqa: F401 (fixtures)
    chat,
    chat_path,
    claude_env,
    cli_pid,
    lawless_config,
    session,
    sse,
)

LIMIT = 0.05  # seconds the loop may be held by one callback
COMMAND = "python3 -c 'import time; time.sleep(30)'"  # Claude Code refuses a bare sleep


@pytest.fixture
def chat_config():
    return {"cancel_grace": 1.0}


async def start_a_busy_turn(client, sess, fake):
    """A turn in which Claude runs a shell command that goes on for a while."""
    fake.add(tool_use("Bash", {"command": COMMAND}), text("never reached"))
    stream = await chat(client, sess, "Run it", permission_mode="trusted")
    await stream.until("tool_use")
    return stream


def children_of(pid):
    return psutil.Process(pid).children(recursive=True)


def still_running(processes):
    alive = []
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


async def wait_for_the_command(lawless_app, sess):
    pid = cli_pid(lawless_app, sess)
    for _ in range(200):
        for child in children_of(pid):
            with contextlib.suppress(psutil.Error):  # some are gone or zombies
                if any("time.sleep(30)" in part for part in child.cmdline()):
                    return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the shell command never started")


async def test_cancelling_a_turn_whose_cli_hangs_does_not_block_the_loop(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
    lawless_app,
):
    stream = await start_a_busy_turn(sse, session, fake)
    pid = await wait_for_the_command(lawless_app, session)
    tree = [psutil.Process(pid), *children_of(pid)]
    psutil.Process(pid).send_signal(signal.SIGSTOP)  # it no longer answers the interrupt
    with loop_holds(LIMIT) as holds:
        code, body, _ = await api("POST", chat_path(session, "/cancel"))
        events = await stream.rest(timeout=20)
    assert code == 200, body
    assert events[-1][1] == {"type": "done", "stop_reason": "cancelled"}
    assert not still_running(tree)
    assert not holds.slow, f"the loop was held: {holds.slow}"


async def test_deleting_a_session_with_a_running_turn_does_not_block_the_loop(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
    lawless_app,
):
    stream = await start_a_busy_turn(sse, session, fake)
    pid = await wait_for_the_command(lawless_app, session)
    tree = [psutil.Process(pid), *children_of(pid)]
    with loop_holds(LIMIT) as holds:
        code, body, _ = await api(
            "DELETE", f"api/workspace/sessions/{session['id']}", params={"force": "true"}
        )
        events = await stream.rest(timeout=20)
    assert code == 200, body
    assert events[-1][1]["type"] == "done"
    assert not still_running(tree)
    assert not holds.slow, f"the loop was held: {holds.slow}"


SLOW_ADD = 0.5  # seconds each `git worktree add` takes here
CREATES = 12


@pytest.fixture
def slow_worktree_add(tmp_path, monkeypatch):
    """`git worktree add` takes SLOW_ADD seconds (a big checkout), other git commands not."""
    real = shutil.which("git")
    folder = tmp_path / "slow-git"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(
        f'#!/bin/sh\ncase " $* " in *" worktree add "*) sleep {SLOW_ADD};; esac\nexec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("chat_config", [{"max_sessions_per_repo": CREATES + 1}])
async def test_sessions_queued_for_one_repository_do_not_hold_up_other_git_work(
    api, repo, jp_root_dir, slow_worktree_add
):
    make_repo(jp_root_dir / "other")
    elsewhere = await api.create("other", name="elsewhere")
    # a small thread pool, as on a small server: the queue must not sit in its threads
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=4))
    creates = [asyncio.ensure_future(api.create(name=f"queued-{i}")) for i in range(CREATES)]
    await asyncio.sleep(2 * SLOW_ADD)  # all of them have reached the repository's lock
    code, body, _ = await api("GET", f"api/workspace/sessions/{elsewhere['id']}/git/status")
    waiting = sum(not task.done() for task in creates)
    assert code == 200, body
    assert waiting >= CREATES - 4, f"the status waited for {CREATES - waiting} creations"
    sessions = await asyncio.gather(*creates)
    assert len({s["id"] for s in sessions}) == CREATES
