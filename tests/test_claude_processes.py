"""Claude Code's processes: below the server's CPU priority, so the server's relay of every
streamed answer runs ahead of the agents' own work (``claude_nice``), and what they cost
reported by ``lawless/version`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import threading

import psutil
import pytest

from lawless_jupyter.chat import service as chat_service

from . import test_chat
from .fake_anthropic import text
from .test_chat import chat
from .test_metrics import until

chat_config = test_chat.chat_config
claude_env = test_chat.claude_env
session = test_chat.session
sse = test_chat.sse


@pytest.fixture
def lawless_config(claude_env, chat_config):
    return {"claude_env": claude_env, "claude_max_retries": 0, **chat_config}


def claude_processes() -> list[psutil.Process]:
    """The Claude Code processes this (in-process) server started."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("claude" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


async def niceness_after_a_turn(sse, session, fake) -> set[int]:
    fake.add(text("Hello."))
    stream = await chat(sse, session, "Hi")
    events = await stream.rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Hello."
    # the conversation's process stays alive between turns
    processes = claude_processes()
    assert processes, "a live Claude Code process"
    return {p.nice() for p in processes}


async def test_a_lone_claude_runs_at_the_servers_priority_by_default(sse, session, fake):
    # no more live processes than CPUs (claude_nice_above's default): its share beside the
    # kernels is the server's
    assert await niceness_after_a_turn(sse, session, fake) == {os.nice(0)}


@pytest.mark.parametrize("chat_config", [{"claude_nice_above": 0}])
async def test_claude_runs_below_the_server_when_told_always(sse, session, fake):
    assert await niceness_after_a_turn(sse, session, fake) == {min(19, os.nice(0) + 10)}


@pytest.mark.parametrize("chat_config", [{"claude_nice_above": 1}])
async def test_past_claude_nice_above_every_claude_goes_below_the_server(api, sse, session, fake):
    server, below = os.nice(0), min(19, os.nice(0) + 10)
    assert await niceness_after_a_turn(sse, session, fake) == {server}, "one: the server's"
    (first,) = claude_processes()
    other = await api.create(name="second")
    fake.add(text("Hello too."))
    await (await chat(sse, other, "Hi")).rest()
    assert {p.nice() for p in claude_processes()} == {below}, "two: both below"
    # Linux keeps a priority per thread: every thread of the first one went down
    threads = {os.getpriority(os.PRIO_PROCESS, t.id) for t in first.threads()}
    assert len(first.threads()) > 1 and threads == {below}, threads


@pytest.mark.parametrize("chat_config", [{"claude_nice_above": 1}])
async def test_agents_started_together_past_the_bound_all_go_below(api, sse, fake, repo):
    # both start before either is live: each counts the other only once it is connected
    below = min(19, os.nice(0) + 10)
    sessions = [await api.create(name=f"burst-{i}") for i in range(2)]
    fake.add(text("One."), text("Two."))
    streams = await asyncio.gather(*(chat(sse, s, "Hi") for s in sessions))
    await asyncio.gather(*(stream.rest() for stream in streams))
    processes = claude_processes()
    assert len(processes) == 2
    threads = {os.getpriority(os.PRIO_PROCESS, t.id) for p in processes for t in p.threads()}
    assert threads == {below}, threads


@pytest.mark.parametrize("chat_config", [{"claude_nice": 0, "claude_nice_above": 0}])
async def test_claude_nice_zero_runs_it_beside_the_server(sse, session, fake):
    assert await niceness_after_a_turn(sse, session, fake) == {os.nice(0)}


@pytest.mark.parametrize("chat_config", [{"metrics_interval": 0.1, "max_live_claude": 5}])
async def test_the_server_reports_its_claude_processes_and_their_memory(
    api, sse, session, fake, jp_fetch
):
    code, body, _ = await api("GET", "version")
    idle = {"live": 0, "rss": 0, "queued": 0, "max_live": 5}
    assert code == 200 and body["claude"] == idle
    await niceness_after_a_turn(sse, session, fake)
    code, body, _ = await api("GET", "version")
    (process,) = claude_processes()
    assert body["claude"]["live"] == 1
    # the CLI's own memory at least (a Node process: tens of MB), as the OS counts it (read
    # a moment later: it may have grown a little since)
    assert body["claude"]["rss"] >= 0.9 * process.memory_info().rss > 20_000_000
    samples = await until(jp_fetch, "lawless_claude_processes", {}, 1)  # on /metrics too
    assert samples[("lawless_claude_rss_bytes", ())] >= 20_000_000

    code, _, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code in (200, 204)
    code, body, _ = await api("GET", "version")
    assert body["claude"] == idle, "a deleted session costs nothing"


@pytest.mark.parametrize("chat_config", [{"metrics_interval": 0.1}])
async def test_claudes_processes_are_measured_off_the_event_loop(
    api, sse, session, fake, jp_fetch, monkeypatch
):
    """psutil over every Claude process tree (for /metrics, every metrics_interval, and for
    version) runs in a thread: the loop serves every other request and stream meanwhile."""
    loop_thread = threading.get_ident()
    measured_in: list[int] = []
    measure = chat_service.tree_rss

    def tree_rss(roots):
        measured_in.append(threading.get_ident())
        return measure(roots)

    monkeypatch.setattr(chat_service, "tree_rss", tree_rss)
    await niceness_after_a_turn(sse, session, fake)  # a live process to measure
    samples = await until(jp_fetch, "lawless_claude_processes", {}, 1)
    assert samples[("lawless_claude_rss_bytes", ())] >= 20_000_000
    code, body, _ = await api("GET", "version")
    assert code == 200 and body["claude"]["live"] == 1
    assert measured_in, "the processes were measured"
    assert loop_thread not in measured_in, "measured on the event loop"
