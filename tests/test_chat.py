"""Streamed chat through the real Claude Code CLI, talking to a scripted fake Messages API."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path

import psutil
import pytest

from .conftest import git
from .fake_anthropic import error, text, tool_use


@pytest.fixture
def claude_env(fake, tmp_path):
    return fake.env(
        CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),
        CLAUDE_CODE_TMPDIR=str(tmp_path / "claude-tmp"),
    )


@pytest.fixture
def chat_config():
    return {}


@pytest.fixture
def lawless_config(claude_env, chat_config):
    return {"claude_env": claude_env, "claude_max_retries": 0, "cancel_grace": 3.0, **chat_config}


class SSE:
    """A raw HTTP/1.0 client for the chat stream, so a test can read a few events and hang
    up the way a closed browser tab does."""

    def __init__(self, port: int, base_url: str, token: str):
        self.port, self.base_url, self.token = port, base_url, token

    async def open(self, method: str, path: str, body: dict | None = None, headers=None):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [
            f"{method} {self.base_url}lawless/{path} HTTP/1.0",
            "Host: 127.0.0.1",
            f"Authorization: token {self.token}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return Stream(status, reader, writer)


class Stream:
    def __init__(self, status, reader, writer):
        self.status, self.reader, self.writer = status, reader, writer
        self.events: list[tuple[str, dict]] = []

    async def next(self, timeout: float = 60) -> tuple[str, dict] | None:
        """The next event (id, data), skipping keepalives; None at the end of the stream."""
        event_id, data = None, None
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                self.events.append((event_id, data))
                return event_id, data

    async def until(self, kind: str, timeout: float = 60) -> dict:
        while (item := await self.next(timeout)) is not None:
            if item[1]["type"] == kind:
                return item[1]
        raise AssertionError(f"the stream ended without a {kind!r} event: {self.types()}")

    async def rest(self, timeout: float = 60) -> list[tuple[str, dict]]:
        while await self.next(timeout) is not None:
            pass
        self.close()
        return self.events

    async def body(self) -> dict:
        return json.loads((await self.reader.read()).decode())

    def types(self) -> list[str]:
        return [data["type"] for _, data in self.events]

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def sse(jp_serverapp, http_server_port, jp_base_url, http_server_client) -> SSE:
    return SSE(http_server_port[-1], jp_base_url, jp_serverapp.identity_provider.token)


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="chat"))


def chat_path(session, suffix=""):
    return f"api/workspace/sessions/{session['id']}/chat{suffix}"


async def chat(sse, session, message, **extra):
    stream = await sse.open("POST", chat_path(session), {"message": message, **extra})
    assert stream.status == 200, await stream.body()
    return stream


async def test_a_streamed_answer_arrives_in_pieces_and_is_kept(api, sse, session, fake):
    fake.add(text("Hello there, this is a streamed answer.", chunks=5))
    stream = await chat(sse, session, "Say hello")
    events = await stream.rest()
    types = [data["type"] for _, data in events]
    assert types[0] == "start" and types[-1] == "done"
    assert 1 <= types.count("text") <= 5  # pieces that arrive together go together
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == (
        "Hello there, this is a streamed answer."
    )
    assert "usage" in types and events[-1][1]["stop_reason"] == "end_turn"
    seqs = [int(event_id.removeprefix("1-")) for event_id, _ in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1, seqs
    assert "Say hello" in json.dumps(fake.main_requests[0]["messages"])

    code, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert code == 200
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "usage"]
    assert body["messages"][0]["content"] == {"text": "Say hello"}
    assert body["messages"][1]["content"]["text"] == "Hello there, this is a streamed answer."
    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active", "back to active once the turn is over"


async def test_claude_writes_a_file_in_the_worktree(api, sse, session, fake):
    fake.add(tool_use("Write", {"file_path": "notes.md", "content": "# Notes\n"}), text("Done."))
    events = await (await chat(sse, session, "Write notes")).rest()
    worktree = Path(session["worktree_path"])
    assert (worktree / "notes.md").read_text() == "# Notes\n"
    uses = [d for _, d in events if d["type"] == "tool_use"]
    assert uses[0]["name"] == "Write"
    results = [d for _, d in events if d["type"] == "tool_result"]
    assert results and results[0]["is_error"] is False
    assert "approval_request" not in [d["type"] for _, d in events], "edits inside do not ask"
    _, status, _ = await api("GET", f"api/workspace/sessions/{session['id']}/git/status")
    assert [f["path"] for f in status["files"]] == ["notes.md"]


@pytest.mark.parametrize("decision", ["allow", "deny"])
async def test_a_shell_command_asks_first(api, sse, session, fake, decision):
    fake.add(tool_use("Bash", {"command": "touch made-by-bash"}), text("Finished."))
    stream = await chat(sse, session, "Run it")
    request = await stream.until("approval_request")
    assert request["tool"] == "Bash" and request["input"]["command"] == "touch made-by-bash"
    code, body, _ = await api(
        "POST", chat_path(session, f"/approvals/{request['request_id']}"), {"decision": decision}
    )
    assert code == 200, body
    events = await stream.rest()
    result = next(d for _, d in events if d["type"] == "tool_result")
    made = (Path(session["worktree_path"]) / "made-by-bash").exists()
    if decision == "allow":
        assert made and result["is_error"] is False
    else:
        assert not made and result["is_error"] is True
    code, body, _ = await api(
        "POST", chat_path(session, f"/approvals/{request['request_id']}"), {"decision": "allow"}
    )
    assert code == 404, "an answered request cannot be answered again"


async def test_paths_outside_the_worktree_are_refused_without_asking(sse, session, fake, tmp_path):
    outside = tmp_path / "outside.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    (Path(session["worktree_path"]) / "link").symlink_to(secret)
    fake.add(
        tool_use("Write", {"file_path": str(outside), "content": "escaped"}),
        tool_use("Read", {"file_path": "link"}),
        text("Could not."),
    )
    events = await (await chat(sse, session, "Escape")).rest()
    types = [d["type"] for _, d in events]
    assert "approval_request" not in types
    results = [d for _, d in events if d["type"] == "tool_result"]
    assert len(results) == 2 and all(r["is_error"] for r in results)
    assert not outside.exists()
    assert "top secret" not in json.dumps(fake.main_requests[-1])


async def test_leaving_and_coming_back_loses_nothing(sse, session, fake):
    answer = "".join(f"word{i} " for i in range(30))
    fake.add(text(answer, chunks=30, delay=0.05))
    first = await chat(sse, session, "Talk slowly")
    for _ in range(6):
        await first.next()
    first.close()  # the tab is closed mid-turn
    last_id = first.events[-1][0]
    await asyncio.sleep(0.5)
    again = await sse.open("GET", chat_path(session, "/stream"), headers={"Last-Event-ID": last_id})
    assert again.status == 200
    rest = await again.rest()
    seen = [int(i.split("-")[1]) for i, _ in first.events + rest]
    assert seen == sorted(set(seen)), "no event repeated or out of order"
    deltas = [d["delta"] for _, d in first.events + rest if d["type"] == "text"]
    assert "".join(deltas) == answer, "nothing lost"
    assert rest[-1][1]["type"] == "done"
    # a finished turn can still be replayed whole
    whole = await (await sse.open("GET", chat_path(session, "/stream"))).rest()
    assert "".join(d["delta"] for _, d in whole if d["type"] == "text") == answer
    assert whole[-1][0] == rest[-1][0]


@pytest.mark.parametrize("chat_config", [{"chat_replay_seconds": 0.1}])
async def test_each_turns_usage_says_what_that_turn_cost(api, sse, session, fake, lawless_app):
    """Claude Code reports what its process has cost so far; the usage line of a later
    turn in the same process shows that turn's own cost, live and from the history; so does
    the first turn of a process that resumed the conversation (closed when idle, or to make
    room under max_live_claude), which starts counting again."""
    usages = []
    for message in ("One", "Two", "Three"):
        if message == "Three":
            await asyncio.sleep(0.3)  # past the replay window: the process may be closed
            lawless_app.chat.settings.idle_timeout = 0.0
            assert await lawless_app.chat.close_idle() == 1
        fake.add(text(f"{message}."))  # one model call each: the same cost
        events = await (await chat(sse, session, message)).rest()
        usages += [data for _, data in events if data["type"] == "usage"]
    first, second, third = usages
    assert first["cost_usd"] == first["total_cost_usd"] > 0
    assert second["total_cost_usd"] == pytest.approx(2 * first["total_cost_usd"])
    assert second["cost_usd"] == pytest.approx(first["cost_usd"])
    assert third["cost_usd"] == pytest.approx(first["cost_usd"]), "earlier turns not counted"
    code, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    stored = [m["content"] for m in body["messages"] if m["role"] == "usage"]
    assert code == 200 and [u["cost_usd"] for u in stored] == [u["cost_usd"] for u in usages]
    code, body, _ = await api("GET", chat_path(session).replace("/chat", "/turns"))
    assert [t["cost_usd"] for t in body["turns"]] == [u["cost_usd"] for u in usages]


async def test_cancel_stops_the_turn_and_keeps_the_partial_answer(api, sse, session, fake):
    fake.add(text("".join(f"w{i} " for i in range(200)), chunks=200, delay=0.05))
    stream = await chat(sse, session, "Go on and on")
    for _ in range(5):
        await stream.until("text")
    code, body, _ = await api("POST", chat_path(session, "/cancel"))
    assert code == 200, body
    events = await stream.rest(timeout=20)
    assert events[-1][1] == {"type": "done", "stop_reason": "cancelled"}
    streamed = "".join(d["delta"] for _, d in events if d["type"] == "text")
    assert 0 < len(streamed) < len("".join(f"w{i} " for i in range(200)))
    _, history, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    kept = [m["content"]["text"] for m in history["messages"] if m["role"] == "assistant"]
    assert kept and kept[0].startswith("w0 w1"), "the partial answer is kept"
    code, body, _ = await api("POST", chat_path(session, "/cancel"))
    assert code == 409
    fake.add(text("Still here."))
    events = await (await chat(sse, session, "Are you there?")).rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Still here."


async def test_a_second_turn_while_one_runs_is_refused(api, sse, session, fake):
    fake.add(text("slow " * 20, chunks=20, delay=0.05))
    stream = await chat(sse, session, "First")
    await stream.until("text")
    code, body, _ = await api("POST", chat_path(session), {"message": "Second"})
    assert code == 409 and body["code"] == "conflict"
    await stream.rest()


async def test_the_conversation_resumes_after_a_restart(
    api, sse, session, fake, lawless_app, claude_env
):
    fake.add(text("The secret word is pelican."))
    await (await chat(sse, session, "Remember pelican")).rest()
    # a restart of the extension: every Claude process and in-memory turn is gone
    await lawless_app.stop_extension()
    # and Claude Code's own transcript folder is gone (a new pod, a wiped home): the
    # transcript comes back from the extension's store
    shutil.rmtree(Path(claude_env["CLAUDE_CONFIG_DIR"]) / "projects")
    lawless_app.initialize_settings()
    await lawless_app.ready()
    fake.add(text("You said pelican."))
    events = await (await chat(sse, session, "What did I say?")).rest()
    assert events[0][0] == "2-1", "the second turn of the conversation"
    resumed = json.dumps(fake.main_requests[-1]["messages"])
    assert "Remember pelican" in resumed and "The secret word is pelican." in resumed


async def test_an_overloaded_api_gives_a_clear_error_and_the_session_stays_usable(
    api, sse, session, fake
):
    fake.add(error(529))
    events = await (await chat(sse, session, "Hello?")).rest()
    errors = [d for _, d in events if d["type"] == "error"]
    assert errors and "not answering" in errors[0]["message"]
    assert events[-1][1] == {"type": "done", "stop_reason": "error"}
    fake.add(error(500))
    events = await (await chat(sse, session, "Hello again?")).rest()
    assert [d for _, d in events if d["type"] == "error"]
    fake.add(text("Back."))
    events = await (await chat(sse, session, "And now?")).rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Back."


@pytest.mark.parametrize("chat_config", [{"chat_messages_per_hour": 2}])
async def test_chat_quota(api, sse, session, fake):
    for _ in range(2):
        await (await chat(sse, session, "hi")).rest()
    code, body, response = await api("POST", chat_path(session), {"message": "one more"})
    assert code == 429
    assert body["limit"] == 2 and body["remaining"] == 0 and body["retryAfter"] > 0
    assert int(response.headers["Retry-After"]) == body["retryAfter"]
    code, quota, _ = await api("GET", "api/user/quota")
    assert quota["chat_messages"]["remaining"] == 0 and quota["chat_messages"]["limit"] == 2
    assert quota["api_requests"]["remaining"] < quota["api_requests"]["limit"]


@pytest.mark.parametrize("chat_config", [{"api_requests_per_hour": 3}])
async def test_api_request_quota(api, repo):
    for _ in range(3):
        code, _, _ = await api("GET", "api/workspace/sessions")
        assert code == 200
    code, body, response = await api("GET", "api/workspace/sessions")
    assert code == 429 and body["limit"] == 3 and "Retry-After" in response.headers


async def test_claude_without_credentials_says_how_to_fix_it(api, sse, session, fake, lawless_app):
    lawless_app.chat.settings.claude.env["ANTHROPIC_API_KEY"] = ""
    events = await (await chat(sse, session, "Hello")).rest()
    errors = [d for _, d in events if d["type"] == "error"]
    assert errors and "ANTHROPIC_API_KEY" in errors[0]["message"]
    assert fake.main_requests == []


async def test_chat_on_bad_input(api, session, repo):
    for body, code in [
        ({}, 400),
        ({"message": ""}, 400),
        ({"message": 5}, 400),
        ({"message": "hi", "permission_mode": "yolo"}, 400),
        ({"message": "hi", "extra": 1}, 400),
    ]:
        answer, payload, _ = await api("POST", chat_path(session), body)
        assert answer == code, (body, payload)
    code, _, _ = await api("GET", chat_path(session, "/stream"))
    assert code == 404, "no turn has run yet"
    code, _, _ = await api("POST", chat_path(session, "/approvals/unknown"), {"decision": "allow"})
    assert code == 404
    for last in ("garbage", ""):  # a header sent empty wins over the query, and is wrong
        code, _, _ = await api(
            "GET",
            chat_path(session, "/stream"),
            headers={"Last-Event-ID": last},
            params={"last_event_id": "1-1"},
        )
        assert code == 400, last


async def test_a_chat_without_a_worktree_is_read_only(sse, fake, jp_root_dir):
    (jp_root_dir / "readme.txt").write_text("root file\n")
    fake.add(tool_use("Write", {"file_path": "new.txt", "content": "x"}), text("Could not write."))
    stream = await sse.open("POST", "api/chat", {"message": "Write a file"})
    assert stream.status == 200
    events = await stream.rest()
    assert not (jp_root_dir / "new.txt").exists()
    result = next(d for _, d in events if d["type"] == "tool_result")
    assert result["is_error"] is True
    assert events[0][1]["session_id"] is None and events[0][1]["conversation_id"]


async def test_deleting_a_session_stops_its_chat(api, sse, session, fake):
    fake.add(text("long " * 100, chunks=100, delay=0.05))
    stream = await chat(sse, session, "Keep talking")
    await stream.until("text")
    code, body, _ = await api(
        "DELETE", f"api/workspace/sessions/{session['id']}", params={"force": "true"}
    )
    assert code == 200, body
    events = await stream.rest(timeout=20)
    assert events[-1][1]["type"] == "done"
    assert not Path(session["worktree_path"]).exists()
    assert session["branch"] not in git(
        Path(session["worktree_path"]).parents[2] / "project", "branch", "--list"
    )


def cli_pid(lawless_app, session):
    client = lawless_app.chat._live[session["id"]].claude.client
    return client._transport._process.pid if client else None


async def test_a_follow_up_reuses_the_running_cli_and_idle_ones_are_closed(
    sse, session, fake, lawless_app
):
    await (await chat(sse, session, "one")).rest()
    first = cli_pid(lawless_app, session)
    await (await chat(sse, session, "two")).rest()
    assert first is not None and cli_pid(lawless_app, session) == first
    lawless_app.chat.settings.idle_timeout = 0.0
    assert await lawless_app.chat.close_idle() == 1
    assert cli_pid(lawless_app, session) is None and not psutil.pid_exists(first)
    fake.add(text("Resumed."))
    events = await (await chat(sse, session, "three")).rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Resumed."
    assert "two" in json.dumps(fake.main_requests[-1]["messages"]), "resumed the conversation"


async def test_the_cli_killed_mid_turn_gives_an_error_and_the_session_goes_on(
    api, sse, session, fake, lawless_app
):
    fake.add(text("slow " * 100, chunks=100, delay=0.05))
    stream = await chat(sse, session, "Talk")
    await stream.until("text")
    psutil.Process(cli_pid(lawless_app, session)).kill()
    events = await stream.rest(timeout=20)
    errors = [d for _, d in events if d["type"] == "error"]
    assert errors and errors[0]["code"] == "cli_failed"
    assert events[-1][1] == {"type": "done", "stop_reason": "error"}
    _, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active"
    fake.add(text("Alive."))
    events = await (await chat(sse, session, "Again")).rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Alive.", events


@pytest.mark.parametrize("chat_config", [{"chat_messages_per_hour": 1}])
async def test_a_refused_message_does_not_use_up_the_quota(api, sse, session, fake):
    code, _, _ = await api("POST", chat_path(session), {"message": ""})
    assert code == 400
    code, _, _ = await api("POST", chat_path(session), {"message": "hi", "model": 5})
    assert code == 400
    events = await (await chat(sse, session, "hi")).rest()
    assert events[-1][1]["type"] == "done"
    _, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert next(m["role"] for m in body["messages"]) == "user"


@pytest.mark.parametrize("chat_config", [{"claude_cli_path": "/nonexistent/claude"}])
async def test_a_missing_claude_cli_is_explained(api, sse, session, fake):
    events = await (await chat(sse, session, "Hello")).rest()
    errors = [d for _, d in events if d["type"] == "error"]
    assert errors and errors[0]["code"] == "cli_not_found"
    assert "could not be started" in errors[0]["message"]
    assert events[-1][1] == {"type": "done", "stop_reason": "error"}
    _, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active"


async def test_a_blank_model_is_a_400_and_changes_nothing(api, sse, session, fake):
    """Found by the fuzzer: Claude Code fails on a blank model name (a 500 before)."""
    fake.add(text("First."))
    await (await chat(sse, session, "one")).rest()  # the CLI now runs; a model change asks it
    for model in ("", " "):
        code, body, _ = await api(
            "POST", chat_path(session), {"message": "two", "model": model, "permission_mode": "ask"}
        )
        assert code == 400 and "not allowed" in body["error"], body
    fake.add(text("Still here."))
    events = await (await chat(sse, session, "three")).rest()
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Still here."
    _, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert [m["content"]["text"] for m in body["messages"] if m["role"] == "user"] == [
        "one",
        "three",
    ]


async def test_a_paced_stream_sends_a_burst_together_and_the_end_at_once():
    """Events that come within the write pace go as one batch; the end of the turn is not
    held back by the pace (the last words and ``done`` go as soon as the turn is over)."""
    from lawless_jupyter.chat.turn import Turn

    turn = Turn("c", 1)
    batches: list[list[str]] = []

    async def follow():
        async for batch in turn.follow(0, pace=30.0):
            batches.append([e.data["type"] for e in batch])

    follower = asyncio.create_task(follow())
    await turn.emit({"type": "start"})
    await asyncio.sleep(0.05)  # the first event after a quiet spell goes at once
    assert batches == [["start"]]
    await turn.emit({"type": "text", "delta": "Hel"})
    await turn.emit({"type": "text", "delta": "lo"})
    await asyncio.sleep(0.05)
    assert batches == [["start"]]  # within the pace: they wait for one another
    await turn.emit({"type": "done", "stop_reason": "end_turn"})
    await asyncio.wait_for(follower, 5)  # not 30 s: the end cuts the pace short
    assert batches == [["start"], ["text", "text", "done"]]


async def test_the_more_streams_the_server_writes_the_fewer_writes_each_makes(
    sse, session, fake, lawless_app
):
    """One stream writes once a frame; with many at once each writes less often, so the
    sends stay about the same in total and the relay keeps up with the agents."""
    pace = lawless_app.write_pace
    assert pace.streams == 0 and pace() == pace.frame  # no stream: once a frame
    pace.streams += 40  # as if forty people were watching an answer
    try:
        assert pace() == pytest.approx(40 / pace.per_second)
        hold = threading.Event()
        fake.add(text("Hello there, " * 20, chunks=20, hold=hold))
        stream = await chat(sse, session, "Hi")
        await stream.until("start")
        assert pace.streams == 41, "the open stream is counted"
        hold.set()
        events = await stream.rest()
        assert events[-1][1]["type"] == "done"
    finally:
        pace.streams -= 40
    for _ in range(100):  # the server counts the stream out once it has ended it
        if pace.streams == 0:
            break
        await asyncio.sleep(0.02)
    assert pace.streams == 0 and pace() == pace.frame


def test_pieces_that_arrive_together_go_as_one_event():
    from lawless_jupyter.chat.turn import ChatEvent
    from lawless_jupyter.handlers.chat import coalesce

    batch = [
        ChatEvent(1, {"type": "start"}),
        ChatEvent(2, {"type": "thinking", "delta": "hm"}),
        ChatEvent(3, {"type": "thinking", "delta": "m"}),
        ChatEvent(4, {"type": "text", "delta": "Hel"}),
        ChatEvent(5, {"type": "text", "delta": "lo"}),
        ChatEvent(6, {"type": "tool_use", "id": "t", "name": "Read", "input": {}}),
        ChatEvent(7, {"type": "text", "delta": "!"}),
    ]
    assert coalesce(batch) == [
        (1, {"type": "start"}),
        (3, {"type": "thinking", "delta": "hmm"}),
        (5, {"type": "text", "delta": "Hello"}),
        (6, {"type": "tool_use", "id": "t", "name": "Read", "input": {}}),
        (7, {"type": "text", "delta": "!"}),
    ]
