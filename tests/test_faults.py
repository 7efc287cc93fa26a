"""The server SIGKILLed in the middle of things (a streamed turn, a session being created, one
being deleted), then started again: no session lost, every stored message intact, the
database whole, no worktree or branch left behind unreported."""

from __future__ import annotations

import contextlib
import http.client
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import git, make_repo
from .fake_anthropic import text, tool_use
from .servers import JupyterServer

pytestmark = pytest.mark.timeout(240)


class Client:
    def __init__(self, server: JupyterServer):
        self.server = server

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.server.request(method, path, body)

    def chat(self, session_id: str, message: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        conn.request(
            "POST",
            f"/lawless/api/workspace/sessions/{session_id}/chat",
            json.dumps({"message": message}),
            {"Authorization": f"token {self.server.token}"},
        )
        return conn.getresponse()


def events(response: http.client.HTTPResponse):
    for line in response:
        if line.startswith(b"data: "):
            yield json.loads(line[6:])


@pytest.fixture
def world(tmp_path, fake):
    root = tmp_path / "root"
    repo = make_repo(root / "project", {"README.md": "# demo\n"})
    server = JupyterServer(
        root,
        tmp_path / "server",
        env=fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "claude")),
        args=["--LawlessApp.claude_max_retries=0"],
    )
    yield server, repo, Client(server)
    server.kill()


def integrity(server: JupyterServer) -> str:
    with sqlite3.connect(server.home / "db" / "lawless.db") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_killed_during_a_streamed_turn(world, fake):
    server, _, call = world
    server.start()
    session = call("POST", "api/workspace/sessions", {"repo": "project"})[1]["session"]
    fake.add(text("A long answer. " * 40, chunks=40, delay=0.1))
    seen = 0
    for event in events(call.chat(session["id"], "Tell me a story")):
        seen += event["type"] == "text"
        if seen == 3:
            server.kill()
            break
    assert integrity(server) == "ok"
    server.start()
    code, body = call("GET", f"api/workspace/sessions/{session['id']}")
    assert code == 200 and body["session"]["state"] == "active", body
    _, history = call("GET", f"api/workspace/sessions/{session['id']}/messages")
    assert [m["content"] for m in history["messages"] if m["role"] == "user"] == [
        {"text": "Tell me a story"}
    ]
    fake.add(text("Back again."))
    answer = [e for e in events(call.chat(session["id"], "Are you there?"))]
    assert "".join(e["delta"] for e in answer if e["type"] == "text") == "Back again."
    assert answer[-1] == {"type": "done", "stop_reason": "end_turn"}


def test_always_allow_outlives_the_server(world, fake, tmp_path):
    """ "Always allow" answered, then the server dies (a hub culls idle servers, a laptop
    sleeps): started again, it still knows the rule, and the command runs without asking."""
    server, _, call = world
    server.start()
    session = call("POST", "api/workspace/sessions", {"repo": "project"})[1]["session"]
    worktree = Path(session["worktree_path"])
    fake.add(tool_use("Bash", {"command": "mkdir -p first"}), text("Made."))
    answered = []
    for event in events(call.chat(session["id"], "Make a folder")):
        if event["type"] == "approval_request":
            path = f"api/workspace/sessions/{session['id']}/chat/approvals/{event['request_id']}"
            answered.append(call("POST", path, {"decision": "allow", "remember": True}))
    assert [code for code, _ in answered] == [200], answered
    assert (worktree / "first").is_dir()
    server.kill()

    server.start()
    code, body = call("GET", f"api/workspace/sessions/{session['id']}/chat/rules")
    assert code == 200 and body == {"rules": ["Bash(mkdir:*)"]}, body
    fake.add(tool_use("Bash", {"command": "mkdir -p second"}), text("Made again."))
    kinds = [e["type"] for e in events(call.chat(session["id"], "Another one"))]
    assert "approval_request" not in kinds and kinds[-1] == "done", kinds
    assert (worktree / "second").is_dir()


def block_in_hook(repo: Path, hook: str, flag: Path, started: Path) -> None:
    """A git hook that, while ``flag`` exists, says it started and then hangs."""
    path = repo / ".git" / "hooks" / hook
    path.write_text(f"#!/bin/sh\n[ -e '{flag}' ] || exit 0\ntouch '{started}'\nsleep 60\n")
    path.chmod(0o755)


def kill_when(server: JupyterServer, started: Path, request) -> None:
    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline, "the request never reached git"
        time.sleep(0.05)
    server.kill()
    thread.join(10)


def branches(repo: Path) -> set[str]:
    return set(git(repo, "branch", "--format=%(refname:short)").split())


@pytest.mark.parametrize(
    "hook",
    [
        "reference-transaction",  # while its branch is being made: nothing is handed out
        "post-checkout",  # once its files are checked out: the session is whole
    ],
)
def test_killed_while_a_session_is_created(world, tmp_path, hook):
    server, repo, call = world
    flag, started = tmp_path / "hang", tmp_path / "started"
    block_in_hook(repo, hook, flag, started)
    server.start()
    kept = call("POST", "api/workspace/sessions", {"repo": "project", "name": "kept"})[1]
    flag.touch()

    def create() -> None:
        with contextlib.suppress(OSError):  # the server dies under it
            call("POST", "api/workspace/sessions", {"repo": "project", "name": "cut-short"})

    kill_when(server, started, create)
    flag.unlink()
    assert integrity(server) == "ok"
    server.start()
    _, listed = call("GET", "api/workspace/sessions")
    states = {s["name"]: s["state"] for s in listed["sessions"]}
    assert states.get("kept") == "active"
    worktrees = git(repo, "worktree", "list", "--porcelain")
    if states.get("cut-short") == "active":  # finished before the kill: whole and usable
        cut = next(s for s in listed["sessions"] if s["name"] == "cut-short")
        assert Path(cut["worktree_path"], "README.md").exists()
        assert branches(repo) == {"main", kept["session"]["branch"], cut["branch"]}
        assert worktrees.count("worktree ") == 3, worktrees
        assert call("GET", f"api/workspace/sessions/{cut['id']}/git/status")[0] == 200
    else:  # nothing half-made is left: no worktree, no branch
        assert states.get("cut-short") in (None, "failed"), states
        assert branches(repo) == {"main", kept["session"]["branch"]}
        assert worktrees.count("worktree ") == 2, worktrees
        assert "cut-short" not in worktrees


def test_killed_while_a_session_is_deleted(world, tmp_path):
    server, repo, call = world
    flag, started = tmp_path / "hang", tmp_path / "started"
    block_in_hook(repo, "reference-transaction", flag, started)
    server.start()
    session = call("POST", "api/workspace/sessions", {"repo": "project"})[1]["session"]
    flag.touch()

    def delete() -> None:
        with contextlib.suppress(OSError):
            call("DELETE", f"api/workspace/sessions/{session['id']}?force=true")

    kill_when(server, started, delete)
    flag.unlink()
    assert integrity(server) == "ok"
    server.start()
    code, body = call("GET", f"api/workspace/sessions/{session['id']}")
    # either the deletion is known to have finished, or the session says what happened and
    # can be deleted again; never stuck in "deleting" with nobody told
    if code == 404:
        assert not Path(session["worktree_path"]).exists()
    else:
        state = body["session"]["state"]
        assert state in ("active", "failed"), body
        assert body["session"]["error"] or state == "active"
        code, body = call("DELETE", f"api/workspace/sessions/{session['id']}?force=true")
        assert code == 200, body
    assert not Path(session["worktree_path"]).exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
