"""At most ``max_live_claude`` Claude Code processes: past it the least recently used idle
one is closed (its conversation resumes from the session store on its next message), and
when every one is busy a new turn waits in line, saying so with ``queued`` events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml
from jupyterhub.traitlets import ByteSpecification
from traitlets import TraitError

from lawless_jupyter.app import LawlessApp
from lawless_jupyter.chat.capacity import BYTES_PER_PROCESS

from . import test_chat
from .conftest import make_repo
from .fake_anthropic import text
from .servers import JupyterServer
from .test_chat import chat, chat_path
from .test_metrics import until

claude_env = test_chat.claude_env
sse = test_chat.sse


@pytest.fixture
def chat_config():
    return {"max_live_claude": 2, "metrics_interval": 0.1}


@pytest.fixture
def lawless_config(claude_env, chat_config):
    return {"claude_env": claude_env, "claude_max_retries": 0, **chat_config}


def count_claude_processes() -> int:
    """Claude Code processes this (in-process) server started, not counting what they run."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if any("claude" in part for part in child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    tops = 0
    for pid in found:
        try:
            if psutil.Process(pid).ppid() not in found:
                tops += 1
        except psutil.NoSuchProcess:
            pass
    return tops


class ProcessCounter:
    """Counts Claude's processes every few milliseconds in a thread, for the whole test."""

    def __init__(self) -> None:
        self.most = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.most = max(self.most, count_claude_processes())
            self.samples += 1

    def __enter__(self) -> ProcessCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def texts(events) -> str:
    return "".join(d["delta"] for _, d in events if d["type"] == "text")


def asked(fake, prompt: str) -> list:
    """The messages the model was sent with ``prompt`` (the first request that had it)."""
    return next(r for r in fake.main_requests if prompt in str(r["messages"]))["messages"]


async def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_three_sessions_in_turn_keep_two_processes_and_their_conversations(
    api, sse, repo, fake
):
    sessions = [await api.create(name=f"cap-{i}") for i in range(3)]
    with ProcessCounter() as counter:
        for round_ in ("one", "two", "three"):
            for i, session in enumerate(sessions):
                fake.add(text(f"Answer {round_} for {i}."))
                events = await (await chat(sse, session, f"Question {round_} from {i}")).rest()
                assert texts(events) == f"Answer {round_} for {i}.", events
                assert "queued" not in [d["type"] for _, d in events], "an idle one made room"
                _, body, _ = await api("GET", "version")
                assert body["claude"]["live"] <= 2 and body["claude"]["queued"] == 0
                assert body["claude"]["max_live"] == 2
    assert counter.samples > 50 and counter.most == 2, (counter.most, counter.samples)

    # every later turn was resumed in a fresh process (the cap closed the idle one each
    # time) and the model saw that session's own earlier turns, and only those
    for i in range(3):
        seen = str(asked(fake, f"Question three from {i}"))
        assert f"Question one from {i}" in seen and f"Answer two for {i}." in seen
        assert not any(f"from {j}" in seen for j in range(3) if j != i), "its own history"


async def test_a_turn_waits_in_line_while_every_process_is_busy_and_then_streams(
    api, sse, repo, fake, jp_fetch
):
    first, second, third = [await api.create(name=f"busy-{i}") for i in range(3)]
    release_first, release_second = threading.Event(), threading.Event()
    fake.add(text("First is done.", hold=release_first))
    fake.add(text("Second is done.", hold=release_second))
    with ProcessCounter() as counter:
        one = await chat(sse, first, "Take your time, first")
        await asyncio.to_thread(fake.wait_for_requests, 1, 30)
        two = await chat(sse, second, "Take your time, second")
        await asyncio.to_thread(fake.wait_for_requests, 2, 30)

        three = await chat(sse, third, "Me next")
        assert (await three.next())[1]["type"] == "start"
        _, queued = await three.next()
        assert queued == {"type": "queued", "position": 1}
        free = await sse.open("POST", "api/chat", {"message": "And me"})
        assert free.status == 200
        assert [(await free.next())[1]["type"] for _ in range(2)] == ["start", "queued"]
        assert free.events[-1][1]["position"] == 2, "a free chat waits in the same line"
        _, body, _ = await api("GET", "version")
        assert body["claude"]["queued"] == 2
        await until(jp_fetch, "lawless_claude_queued", {}, 2)  # on /metrics too

        fake.add(text("Third streams."), text("Free streams."))
        release_first.set()
        assert texts(await one.rest()) == "First is done."
        events = await three.rest()
        assert [d["type"] for _, d in events][:2] == ["start", "queued"]
        assert texts(events) == "Third streams." and events[-1][1]["stop_reason"] == "end_turn"
        assert "Me next" in str(fake.main_requests[2]["messages"])
        _, moved = await free.next()
        assert moved == {"type": "queued", "position": 1}, "the line moved"

        release_second.set()
        assert texts(await two.rest()) == "Second is done."
        events = await free.rest()
        assert texts(events) == "Free streams."
        assert [d["type"] for _, d in events].count("queued") == 2
    assert counter.most == 2, counter.most
    _, body, _ = await api("GET", "version")
    assert body["claude"]["queued"] == 0 and body["claude"]["live"] <= 2

    # the first session's process was closed to make room: it goes on where it was
    fake.add(text("First again."))
    events = await (await chat(sse, first, "Still there, first?")).rest()
    assert texts(events) == "First again."
    assert "First is done." in str(asked(fake, "Still there, first?"))


async def test_cancel_while_in_line_ends_the_turn_and_the_session_goes_on(api, sse, repo, fake):
    first, second, third = [await api.create(name=f"line-{i}") for i in range(3)]
    release = threading.Event()
    fake.add(text("Held one.", hold=release), text("Held two.", hold=release))
    one = await chat(sse, first, "hold one")
    await asyncio.to_thread(fake.wait_for_requests, 1, 30)
    two = await chat(sse, second, "hold two")
    await asyncio.to_thread(fake.wait_for_requests, 2, 30)

    waiting = await chat(sse, third, "Never mind")
    await waiting.until("queued")
    started = time.monotonic()
    code, body, _ = await api("POST", chat_path(third, "/cancel"))
    assert code == 200 and body["cancelled"] is True, body
    events = await waiting.rest()
    assert events[-1][1] == {"type": "done", "stop_reason": "cancelled"}
    assert time.monotonic() - started < 3, "leaving the line does not wait for anything"
    _, body, _ = await api("GET", "version")
    assert body["claude"]["queued"] == 0, "its place is given up"
    _, body, _ = await api("GET", f"api/workspace/sessions/{third['id']}")
    assert body["session"]["state"] == "active"
    assert len(fake.main_requests) == 2, "the cancelled turn never reached the model"

    release.set()
    await one.rest()
    await two.rest()
    fake.add(text("Here now."))
    events = await (await chat(sse, third, "Try again")).rest()
    assert texts(events) == "Here now." and "queued" not in [d["type"] for _, d in events]
    assert events[0][1]["turn"] == 2


def test_the_bound_is_sized_from_memory_and_checked():
    sized = LawlessApp().max_live_claude
    assert 2 <= sized <= psutil.virtual_memory().total // BYTES_PER_PROCESS
    assert LawlessApp(max_live_claude=0).max_live_claude == 0  # no bound
    with pytest.raises(TraitError, match="max_live_claude"):
        LawlessApp(max_live_claude=-1)


def test_the_kubernetes_values_give_each_server_its_bound_and_the_memory_for_it(tmp_path):
    """deploy/jupyterhub/values.yaml: the file it mounts is Jupyter config a server reads,
    and the pod's memory request holds the server, the cap's Claude processes and room for
    kernels (docs/deploy-jupyterhub.md, "Sizing")."""
    root = Path(__file__).resolve().parents[1]
    singleuser = yaml.safe_load((root / "deploy/jupyterhub/values.yaml").read_text())["singleuser"]
    mounted = singleuser["extraFiles"]["lawless-capacity"]
    assert mounted["mountPath"] == "/usr/local/etc/jupyter/jupyter_server_config.json"
    cap = mounted["data"]["LawlessApp"]["max_live_claude"]
    memory = {k: ByteSpecification().validate(None, v) for k, v in singleuser["memory"].items()}
    server, kernels = 150 * 2**20, 512 * 2**20
    assert memory["guarantee"] >= server + cap * BYTES_PER_PROCESS + kernels
    assert memory["limit"] >= memory["guarantee"]

    # a system config folder like the pod's, holding that file: the server takes the bound
    system = tmp_path / "usr-local-etc-jupyter"
    system.mkdir()
    (system / "jupyter_server_config.json").write_text(json.dumps(mounted["data"]))
    make_repo(tmp_path / "root" / "project")
    with JupyterServer(
        tmp_path / "root", tmp_path / "home", env={"JUPYTER_CONFIG_PATH": str(system)}
    ) as jupyter:
        assert jupyter.call("GET", "version")["claude"]["max_live"] == cap
