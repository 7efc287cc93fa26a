"""Sessions on a remote worker: two real Jupyter servers on loopback. The pytest-jupyter
server is the frontend; a second one, a subprocess in worker mode, runs the sessions pinned
to it. Chat (against the fake model), git and terminals go through the frontend's proxy."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from .fake_anthropic import text
from .test_chat import SSE
from .test_terminals import run
from .test_workers import until_status


@pytest.fixture
def worker_settings(tmp_path, fake):  # the worker (test_workers.worker) chats with the fake
    return {
        "claude_env": fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "worker-claude")),
        "claude_max_retries": 0,
    }


@pytest.fixture
def lawless_config(worker):
    return {
        "workers": [worker.worker_entry()],
        "worker_check_timeout": 2.0,
        "worker_status_cache_seconds": 0.2,
        "worker_retry_delays": [0.1, 0.2, 0.4],
    }


@pytest.fixture
def sse(jp_serverapp, http_server_port, jp_base_url, http_server_client) -> SSE:
    return SSE(http_server_port[-1], jp_base_url, jp_serverapp.identity_provider.token)


def session_path(session, suffix=""):
    return f"api/workspace/sessions/{session['id']}{suffix}"


async def test_a_session_on_the_worker_chats_through_the_proxy(api, sse, worker, repo, fake):
    session = await api.create(worker="w1", name="remote")
    assert session["worker"] == "w1"
    assert Path(session["worktree_path"]).is_relative_to(worker.root)

    code, body, _ = await api("GET", session_path(session))
    assert code == 200 and body["session"]["id"] == session["id"]
    assert body["session"]["worker"] == "w1"
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert [(s["id"], s["worker"]) for s in body["sessions"]] == [(session["id"], "w1")]
    code, body, _ = await api("GET", "api/workspace/sessions", params={"repo": "project"})
    assert [s["id"] for s in body["sessions"]] == [session["id"]]
    code, body, _ = await api("GET", session_path(session, "/git/status"))
    assert code == 200 and body["branch"] == session["branch"]

    fake.add(text("Answered on the worker, in pieces.", chunks=4))
    stream = await sse.open("POST", session_path(session, "/chat"), {"message": "Where?"})
    assert stream.status == 200
    events = await stream.rest()
    types = [data["type"] for _, data in events]
    assert types[0] == "start" and types[-1] == "done" and 1 <= types.count("text") <= 4
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == (
        "Answered on the worker, in pieces."
    )
    assert events[0][0] == "1-1"  # the worker's event ids, passed through
    # re-attaching goes to the worker too, and replays after Last-Event-ID
    after = events[1][0]
    stream = await sse.open(
        "GET", session_path(session, "/chat/stream"), headers={"Last-Event-ID": after}
    )
    replay = await stream.rest()

    def seq(event_id: str) -> int:
        return int(event_id.split("-")[1])

    def said(part: list) -> str:
        return "".join(d["delta"] for _, d in part if d["type"] == "text")

    assert all(seq(i) > seq(after) for i, _ in replay)
    assert said(replay) == said(events[2:]) and replay[-1][0] == events[-1][0]
    code, body, _ = await api("GET", session_path(session, "/messages"))
    assert code == 200 and "Where?" in json.dumps(body)

    # nothing of it on this server: the worktree is the worker's
    assert not (repo.parent / "lawless-worktrees").exists()


async def test_a_repeated_post_for_a_worker_session_is_done_once(api, worker, repo):
    """The key goes to the worker with the request: it keeps the answer for the person."""
    key = {"headers": {"Idempotency-Key": str(uuid.uuid4())}}
    create = ("POST", "api/workspace/sessions", {"repo": "project", "worker": "w1"})
    code, first, _ = await api(*create, **key)
    assert code == 201, first
    code, again, _ = await api(*create, **key)
    assert code == 201 and again == first
    session = first["session"]
    Path(session["worktree_path"], "new.txt").write_text("new\n")
    key = {"headers": {"Idempotency-Key": str(uuid.uuid4())}}
    commit = ("POST", session_path(session, "/git/commit"), {"message": "Add new.txt"})
    code, first, _ = await api(*commit, **key)
    assert code == 201, first
    code, again, response = await api(*commit, **key)
    assert code == 201 and again == first
    assert response.headers["Idempotent-Replayed"] == "true"
    code, log, _ = await api("GET", session_path(session, "/git/log"))
    assert [c["subject"] for c in log["commits"]] == ["Add new.txt"]
    _, listed, _ = await api("GET", "api/workspace/sessions")
    assert len(listed["sessions"]) == 1


async def test_a_terminal_on_the_worker_through_the_proxied_websocket(
    api, worker, jp_ws_fetch, repo
):
    session = await api.create(worker="w1")
    code, body, _ = await api("POST", session_path(session, "/terminals"))
    assert code == 201, body
    name = body["terminal"]["name"]
    ws = await jp_ws_fetch(
        "lawless", *session_path(session, f"/terminals/{name}/websocket").split("/")
    )
    output = await run(ws, "pwd; echo ON-$((40+2))", "ON-42")
    assert session["worktree_path"] in output
    ws.close()
    # a terminal that is not this session's is not opened
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("lawless", *session_path(session, "/terminals/999/websocket").split("/"))
    assert refused.value.code == 404
    # a session on this server uses Jupyter's own terminal websocket
    local = await api.create(worker="local")
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch(
            "lawless", *session_path(local, f"/terminals/{name}/websocket").split("/")
        )
    assert refused.value.code == 404


async def test_a_dead_worker_fails_over_and_its_sessions_answer_503(api, worker, repo):
    pinned = await api.create(worker="w1")
    await until_status(api, "w1", "up")
    worker.stop()
    down = await until_status(api, "w1", "down")
    assert down["error"]

    code, body, _ = await api("GET", session_path(pinned))
    assert code == 503 and "Worker one" in body["error"] and body["details"]["worker"] == "w1"
    code, body, _ = await api("POST", session_path(pinned, "/chat"), {"message": "hello?"})
    assert code == 503 and "Worker one" in body["error"]

    moved = await api.create(worker="w1", name="failed-over")
    assert moved["worker"] == "local"
    assert Path(moved["worktree_path"]).is_relative_to(repo.parent)

    worker.start()
    await until_status(api, "w1", "up")
    code, body, _ = await api("GET", session_path(pinned))
    assert code == 200 and body["session"]["worker"] == "w1"


async def test_a_session_deleted_through_the_proxy_is_gone_here_too(api, worker):
    session = await api.create(worker="w1")
    code, body, _ = await api("DELETE", session_path(session))
    assert code == 200 and body["session"]["state"] == "deleted"
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []
    code, _, _ = await api("GET", session_path(session))
    assert code == 404


async def test_an_unknown_worker_is_refused_and_a_worker_error_passed_on(api, worker):
    code, body, _ = await api(
        "POST", "api/workspace/sessions", {"repo": "project", "worker": "nope"}
    )
    assert code == 400 and "w1" in body["error"] and "local" in body["error"]
    code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "missing", "worker": "w1"})
    assert code == 400 and "missing" in body["error"]
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []


async def test_a_name_taken_here_leaves_nothing_on_the_worker(api, worker, repo):
    """The worker made the session, but this server cannot list it (a live session here
    has that name): it is removed from the worker again, and the person is told why."""
    await api.create(name="twin")
    code, body, _ = await api(
        "POST", "api/workspace/sessions", {"repo": "project", "name": "twin", "worker": "w1"}
    )
    assert code == 409 and "already exists" in body["error"], body
    with sqlite3.connect(worker.base / "state" / "lawless.db") as db:
        states = [r[0] for r in db.execute("SELECT state FROM workspace_sessions")]
    assert states == ["deleted"], states
    assert not (worker.root / "lawless-worktrees" / "project" / "twin").exists()


class TestRetries:
    @pytest.fixture
    def lawless_config(self, worker):
        # the status stays "up" in the cache: the request itself meets the dead worker
        return {
            "workers": [worker.worker_entry()],
            "worker_status_cache_seconds": 600.0,
            "worker_retry_delays": [1.0, 2.0, 4.0, 8.0],
        }

    async def test_an_idempotent_request_is_retried_until_the_worker_is_back(self, api, worker):
        session = await api.create(worker="w1")
        worker.stop()
        request = asyncio.ensure_future(api("GET", session_path(session, "/git/status")))
        await asyncio.sleep(0.5)
        assert not request.done()  # refused, waiting to try again
        await asyncio.to_thread(worker.start)
        code, body, _ = await request
        assert code == 200 and body["branch"] == session["branch"]

    async def test_a_request_that_is_not_idempotent_is_not_retried(self, api, worker):
        session = await api.create(worker="w1")
        worker.stop()
        code, body, _ = await api("POST", session_path(session, "/chat/cancel"))
        assert code == 503 and "Worker one" in body["error"]
