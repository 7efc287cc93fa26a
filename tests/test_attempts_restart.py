"""Attempts and a server SIGKILLed under them: after a restart every attempt is readable,
finished checks are kept, and nothing is left half made."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from .conftest import git
from .fake_anthropic import text
from .test_attempts import CHECK, write
from .test_faults import block_in_hook, branches, integrity, kill_when, world  # noqa: F401

pytestmark = pytest.mark.timeout(240)
ATTEMPTS = "api/workspace/attempts"


def settled(call, attempt_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        report = call.server.call("GET", f"{ATTEMPTS}/{attempt_id}")["attempt"]
        if not report["running"]:
            return report
        assert time.monotonic() < deadline, report
        time.sleep(0.2)


def test_killed_while_attempts_run(world, fake):  # noqa: F811
    server, repo, call = world
    server.start()
    both_in = threading.Event()  # each first answer goes to its own session
    fake.add(
        write("result.txt", "a\n", both_in),
        write("result.txt", "b\n", both_in),
        text("Done."),
        text("Done."),
    )
    body = {"repo": "project", "prompt": "Make result.txt", "n": 2, "check": CHECK}
    done = server.call("POST", ATTEMPTS, body)["attempt"]
    assert fake.wait_for_requests(2, 60)
    both_in.set()
    finished = settled(call, done["id"])
    assert [s["check"]["exit_code"] for s in finished["sessions"]] == [0, 0]

    never = threading.Event()  # the second attempt's answers never come
    fake.add(*(text("Held.", hold=never) for _ in range(3)))
    requests_before = len(fake.main_requests)
    running = server.call("POST", ATTEMPTS, {"repo": "project", "prompt": "Go", "n": 3})
    running = running["attempt"]
    assert fake.wait_for_requests(requests_before + 3, 60)
    server.kill(group=True)
    never.set()
    assert integrity(server) == "ok"

    server.start()
    assert settled(call, done["id"]) == finished, "a finished attempt reads the same"
    after = settled(call, running["id"])
    assert after["state"] == "open"
    for s in after["sessions"]:
        assert s["state"] == "active" and s["turn"]["state"] == "interrupted", s
    _, listed = call("GET", "api/workspace/sessions")
    assert {s["state"] for s in listed["sessions"]} == {"active"}
    assert len(listed["sessions"]) == 5
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 6

    fake.add(text("Back."), text("Back."), text("Back."))  # the attempt goes on
    server.call("POST", f"{ATTEMPTS}/{running['id']}/chat", {"message": "Again"})
    again = settled(call, running["id"])
    assert [s["turn"]["state"] for s in again["sessions"]] == ["finished"] * 3


def test_killed_while_an_attempt_is_made(world, tmp_path):  # noqa: F811
    server, repo, call = world
    flag, started = tmp_path / "hang", tmp_path / "started"
    block_in_hook(repo, "reference-transaction", flag, started)
    server.start()
    flag.touch()

    def create() -> None:
        with contextlib.suppress(OSError):  # the server dies under it
            call("POST", ATTEMPTS, {"repo": "project", "prompt": "Go", "n": 3})

    kill_when(server, started, create)
    flag.unlink()
    assert integrity(server) == "ok"
    server.start()
    _, listed = call("GET", ATTEMPTS)
    assert [a["state"] for a in listed["attempts"]] == ["failed"]
    report = call.server.call("GET", f"{ATTEMPTS}/{listed['attempts'][0]['id']}")["attempt"]
    assert "stopped" in report["error"]
    assert {s["state"] for s in report["sessions"]} <= {"failed", "deleted"}, report
    _, sessions = call("GET", "api/workspace/sessions")
    assert {s["state"] for s in sessions["sessions"]} <= {"failed"}
    assert branches(repo) == {"main"}
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
