"""What the server keeps of chats stays bounded, and a person never notices the bound.

A finished turn's events are kept only for ``chat_replay_seconds`` (a re-attach after that
is answered from the stored history), a conversation whose Claude process is closed is
forgotten, and tool inputs in events are cut (the file itself is written whole).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lawless_jupyter import remote
from lawless_jupyter.ratelimit import SlidingWindowLimit

from .fake_anthropic import text, tool_use
from .test_chat import (  # noqa: F401 (fixtures)
    chat,
    chat_path,
    claude_env,
    lawless_config,
    session,
    sse,
)

REPLAY_SECONDS = 0.5


@pytest.fixture
def chat_config():
    return {"chat_replay_seconds": REPLAY_SECONDS}


def texts(events):
    return "".join(d["delta"] for _, d in events if d["type"] == "text")


async def test_a_late_reattach_gets_the_whole_answer_after_the_events_are_let_go(
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
    lawless_app,
):
    answer = "".join(f"word{i} " for i in range(40))
    fake.add(tool_use("Read", {"file_path": "README.md"}), text(answer, chunks=40))
    events = await (await chat(sse, session, "Read it and talk")).rest()
    middle = events[len(events) // 2][0]
    live = lawless_app.chat._live[session["id"]]
    assert live.latest is not None, "kept for a client that re-attaches soon"
    await asyncio.sleep(REPLAY_SECONDS + 0.3)
    assert live.latest is None, "the turn's events are let go"

    again = await sse.open("GET", chat_path(session, "/stream"), headers={"Last-Event-ID": middle})
    assert again.status == 200
    replayed = await again.rest()
    kinds = [d["type"] for _, d in replayed]
    assert kinds[0] == "start" and kinds[-2:] == ["usage", "done"], kinds
    assert replayed[0][1]["turn_id"] == events[0][1]["turn_id"]
    assert replayed[0][0].startswith("1-") and replayed[-1][1]["stop_reason"] == "end_turn"
    assert texts(replayed) == answer, "the whole answer, from the stored history"
    assert "tool_use" in kinds and "tool_result" in kinds


async def test_a_closed_claude_process_forgets_its_conversation_but_not_the_answer(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
    lawless_app,
):
    service = lawless_app.chat
    fake.add(text("First answer."))
    await (await chat(sse, session, "one")).rest()
    fake.add(text("Free answer."))
    free = await (await sse.open("POST", "api/chat", {"message": "hello"})).rest()
    free_key = f"chat:{free[0][1]['conversation_id']}"
    assert {session["id"], free_key} <= set(service._live)
    await asyncio.sleep(REPLAY_SECONDS + 0.3)
    service.settings.idle_timeout = 0.0
    assert await service.close_idle() == 2
    assert session["id"] not in service._live and free_key not in service._live
    assert free_key not in service._start_locks and session["id"] not in service._start_locks

    replayed = await (await sse.open("GET", chat_path(session, "/stream"))).rest()
    assert texts(replayed) == "First answer." and replayed[-1][1]["type"] == "done"

    fake.add(text("Second answer."))
    events = await (await chat(sse, session, "two")).rest()
    assert events[0][1]["turn"] == 2 and texts(events) == "Second answer."
    assert "First answer." in str(fake.main_requests[-1]["messages"]), "resumed"

    code, body, _ = await api(
        "DELETE", f"api/workspace/sessions/{session['id']}", params={"force": "true"}
    )
    assert code == 200, body
    assert session["id"] not in service._live


async def test_a_megabyte_write_is_cut_in_the_stream_and_written_whole(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
):
    content = "".join(f"line {i:07d}\n" for i in range(80_000))  # about 1 MB
    fake.add(tool_use("Write", {"file_path": "big.txt", "content": content}), text("Written."))
    events = await (await chat(sse, session, "Write big.txt")).rest()
    used = next(d for _, d in events if d["type"] == "tool_use")
    shown = used["input"]["content"]
    assert len(shown) < 21_000 and content.startswith(shown.split("\n…")[0])
    assert shown.endswith(f"({len(content) - 20_000} more characters)"), "the cut is said"
    assert (Path(session["worktree_path"]) / "big.txt").read_text() == content
    _, history, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    stored = next(m for m in history["messages"] if m["role"] == "tool_use")
    assert stored["content"]["input"]["content"] == shown


def test_rate_limit_windows_forget_people_with_no_recent_use(monkeypatch):
    limit = SlidingWindowLimit("things", 5, window=60)
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    for person in range(100):
        limit.hit(f"person-{person}")
    assert len(limit._hits) == 100
    now[0] += 61
    limit.hit("someone-new")
    assert list(limit._hits) == ["someone-new"]
    assert limit.state("person-1")["remaining"] == 5 and "person-1" not in limit._hits


async def test_where_sessions_run_is_remembered_for_a_bounded_number(
    api, repo, lawless_app, monkeypatch
):
    monkeypatch.setattr(remote, "PINS_KEPT", 3, raising=False)
    ids = [(await api.create(name=f"pin-{i}"))["id"] for i in range(5)]
    for session_id in ids:
        code, _, _ = await api("GET", f"api/workspace/sessions/{session_id}")
        assert code == 200
    assert list(lawless_app.remote._pins) == ids[-3:]
    code, _, _ = await api("GET", f"api/workspace/sessions/{ids[0]}")
    assert code == 200, "a forgotten one is looked up again"
