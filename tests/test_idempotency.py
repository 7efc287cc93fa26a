"""``Idempotency-Key``: a POST sent again with its key (a retry after a dropped connection)
gets the first answer and does the work once: one session, one commit, one chat turn.
Against a real server, real git and the real Claude Code CLI (fake Messages API)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from lawless_jupyter.store import Store
from lawless_jupyter.store.idempotency import KeptAnswer

from .conftest import git, git_snapshot
from .fake_anthropic import text, tool_use
from .test_chat import SSE, chat_path
from .test_disk_faults import SPEC, fill, small_disk
from .test_openapi import SpecChecker
from .worker_server import WORKER_KEY

SESSIONS = "api/workspace/sessions"


def keyed(key: str | None = None) -> dict[str, dict[str, str]]:
    return {"headers": {"Idempotency-Key": key or str(uuid.uuid4())}}


@pytest.fixture
def lawless_config(fake, tmp_path):
    env = fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"))
    return {"claude_env": env, "claude_max_retries": 0}


async def sessions(api) -> list[dict]:
    code, body, _ = await api("GET", SESSIONS)
    assert code == 200
    return body["sessions"]


async def test_a_repeated_create_makes_one_session_and_answers_the_same(api, repo):
    key = keyed()
    code, first, response = await api("POST", SESSIONS, {"repo": "project"}, **key)
    assert code == 201 and "Idempotent-Replayed" not in response.headers
    code, again, response = await api("POST", SESSIONS, {"repo": "project"}, **key)
    assert code == 201 and again == first
    assert response.headers["Idempotent-Replayed"] == "true"
    assert [s["id"] for s in await sessions(api)] == [first["session"]["id"]]
    # without a key (or with a new one) the same body is a new request
    code, other, _ = await api("POST", SESSIONS, {"repo": "project"}, **keyed())
    assert code == 201 and other["session"]["id"] != first["session"]["id"]
    assert len(await sessions(api)) == 2


async def test_a_repeat_while_the_first_runs_waits_for_it(api, repo):
    key = keyed()
    answers = await asyncio.gather(
        *(api("POST", SESSIONS, {"repo": "project", "name": "once"}, **key) for _ in range(3))
    )
    assert {code for code, _, _ in answers} == {201}
    assert len({json.dumps(body) for _, body, _ in answers}) == 1
    assert [s["name"] for s in await sessions(api)] == ["once"]


async def test_a_repeated_commit_commits_once(api, repo):
    session = await api.create()
    Path(session["worktree_path"], "new.txt").write_text("new\n")
    path = f"{SESSIONS}/{session['id']}/git/commit"
    key = keyed()
    code, first, _ = await api("POST", path, {"message": "Add new.txt"}, **key)
    assert code == 201, first
    Path(session["worktree_path"], "later.txt").write_text("later\n")
    code, again, _ = await api("POST", path, {"message": "Add new.txt"}, **key)
    assert code == 201 and again == first
    log = git(session["worktree_path"], "log", "--format=%s").split("\n")
    assert log[:2] == ["Add new.txt", "initial"], "one commit, later.txt not in it"
    assert "later.txt" not in git(session["worktree_path"], "show", "--name-only", "HEAD")


async def test_a_key_reused_for_another_request_is_refused_and_changes_nothing(api, repo):
    key = keyed()
    code, first, _ = await api("POST", SESSIONS, {"repo": "project", "name": "a"}, **key)
    assert code == 201
    before = git_snapshot(repo)
    code, body, response = await api("POST", SESSIONS, {"repo": "project", "name": "b"}, **key)
    assert code == 422 and body["code"] == "idempotency_key_reused"
    SpecChecker(SPEC).response(f"/{SESSIONS}", "POST", code, body, response.headers)
    assert "different request" in body["error"]
    session_id = first["session"]["id"]
    commit = f"{SESSIONS}/{session_id}/git/commit"
    code, body, _ = await api("POST", commit, {"message": "m"}, **key)  # another path
    assert code == 422 and body["code"] == "idempotency_key_reused"
    assert git_snapshot(repo) == before and [s["name"] for s in await sessions(api)] == ["a"]


async def test_a_refusal_is_the_keys_answer_and_a_new_key_runs_again(api, repo):
    session = await api.create()
    path = f"{SESSIONS}/{session['id']}/git/commit"
    key = keyed()
    code, first, _ = await api("POST", path, {"message": "m"}, **key)
    assert code == 409, first  # nothing to commit
    Path(session["worktree_path"], "new.txt").write_text("new\n")
    code, again, response = await api("POST", path, {"message": "m"}, **key)
    assert (code, again) == (409, first) and response.headers["Idempotent-Replayed"] == "true"
    code, body, _ = await api("POST", path, {"message": "m"}, **keyed())
    assert code == 201, body


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "cl\u00e9"])
async def test_a_malformed_key_is_a_clear_400(api, repo, key):
    code, body, _ = await api(
        "POST", SESSIONS, {"repo": "project"}, headers={"Idempotency-Key": key}
    )
    assert code == 400 and "Idempotency-Key" in body["error"]
    assert await sessions(api) == []


# -- the chat: a repeated start follows the turn the first one started -------------------------


@pytest.fixture
def sse(jp_serverapp, http_server_port, jp_base_url, http_server_client) -> SSE:
    return SSE(http_server_port[-1], jp_base_url, jp_serverapp.identity_provider.token)


async def test_a_repeated_chat_start_streams_the_same_turn(api, sse, repo, fake):
    session = await api.create()
    fake.add(text("".join(f"word{i} " for i in range(20)), chunks=20, delay=0.05))
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"message": "Talk slowly"}
    first = await sse.open("POST", chat_path(session), body, headers=headers)
    assert first.status == 200
    start = await first.until("start")
    first.close()  # the connection drops mid-turn; the panel sends the same request again
    again = await sse.open("POST", chat_path(session), body, headers=headers)
    assert again.status == 200
    events = await again.rest()
    assert events[0][1] == start and events[0][0] == "1-1", "the same turn, from its start"
    assert events[-1][1]["type"] == "done"
    streamed = "".join(d["delta"] for _, d in events if d["type"] == "text")
    assert streamed == "".join(f"word{i} " for i in range(20))
    # and once it is over, the same request still answers with that turn, whole
    replay = await (await sse.open("POST", chat_path(session), body, headers=headers)).rest()
    assert replay[0][1]["turn_id"] == start["turn_id"]
    assert replay[-1][1]["type"] == "done"

    assert len(fake.main_requests) == 1, "Claude was asked once"
    _, history, _ = await api("GET", f"{SESSIONS}/{session['id']}/messages")
    assert [m["role"] for m in history["messages"]].count("user") == 1


async def test_a_chat_start_whose_turn_is_no_longer_the_latest_says_so(api, sse, repo, fake):
    session = await api.create()
    fake.add(text("first"), text("second"))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await (await sse.open("POST", chat_path(session), {"message": "one"}, headers=key)).rest()
    await (await sse.open("POST", chat_path(session), {"message": "two"})).rest()
    stream = await sse.open("POST", chat_path(session), {"message": "one"}, headers=key)
    assert stream.status == 409
    body = await stream.body()
    assert body["code"] == "conflict" and "turn 1" in body["error"]
    assert len(fake.main_requests) == 2


async def test_a_repeated_approval_is_answered_as_the_first_time(api, sse, repo, fake):
    session = await api.create()
    fake.add(tool_use("Bash", {"command": "touch approved"}), text("Done."))
    stream = await sse.open("POST", chat_path(session), {"message": "Run it"})
    request = await stream.until("approval_request")
    path = chat_path(session, f"/approvals/{request['request_id']}")
    key = keyed()
    code, first, _ = await api("POST", path, {"decision": "allow"}, **key)
    assert code == 200, first
    code, again, _ = await api("POST", path, {"decision": "allow"}, **key)
    assert (code, again) == (200, first), "a retry does not see 'already answered'"
    code, _, _ = await api("POST", path, {"decision": "allow"}, **keyed())
    assert code == 404, "a new request is: the approval was answered once"
    await stream.rest()
    assert Path(session["worktree_path"], "approved").exists()


async def test_a_repeated_free_chat_start_streams_the_same_turn(sse, repo, fake):
    fake.add(text("A free answer.", chunks=3, delay=0.05))
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await (await sse.open("POST", "api/chat", {"message": "Hi"}, headers=headers)).rest()
    again = await (await sse.open("POST", "api/chat", {"message": "Hi"}, headers=headers)).rest()
    assert again[0][1] == first[0][1], "the same turn's start"
    assert "".join(d["delta"] for _, d in again if d["type"] == "text") == "A free answer."
    assert len(fake.main_requests) == 1


# -- per user -------------------------------------------------------------------------------------


class TestPerUser:
    """One server serving several people (worker mode: a frontend names the person); a key
    is that person's only."""

    @pytest.fixture
    def lawless_config(self):
        return {"worker_api_key": WORKER_KEY}

    @staticmethod
    def as_user(name: str, key: str) -> dict:
        return {
            "headers": {"X-API-Key": WORKER_KEY, "X-Lawless-User": name, "Idempotency-Key": key}
        }

    async def test_another_persons_key_is_not_visible(self, api, repo):
        key = str(uuid.uuid4())
        request = ("POST", SESSIONS, {"repo": "project"})
        code, alices, _ = await api(*request, **self.as_user("alice", key))
        assert code == 201
        code, bobs, response = await api(*request, **self.as_user("bob", key))
        assert code == 201 and "Idempotent-Replayed" not in response.headers
        assert bobs["session"]["id"] != alices["session"]["id"]
        # carol's other body under the same key is her own first request, not a 422
        code, body, _ = await api(
            "POST", SESSIONS, {"repo": "project", "name": "c"}, **self.as_user("carol", key)
        )
        assert code == 201, body
        code, again, _ = await api(*request, **self.as_user("alice", key))
        assert code == 201 and again == alices


# -- what is kept, and for how long ---------------------------------------------------------------


class TestServerErrors:
    """A 5xx is not kept: the work may not have happened, so a retry runs again."""

    @pytest.fixture
    def worktrees_disk(self, tmp_path_factory):
        with small_disk(tmp_path_factory.mktemp("disk") / "worktrees") as disk:
            yield disk

    @pytest.fixture
    def lawless_config(self, worktrees_disk):
        return {"worktrees_dir": str(worktrees_disk)}

    async def test_a_retry_after_a_server_error_runs_again(self, api, repo, worktrees_disk):
        key = keyed()
        filler = fill(worktrees_disk)
        code, body, _ = await api("POST", SESSIONS, {"repo": "project"}, **key)
        assert code == 507, body
        filler.unlink()  # room again
        code, body, response = await api("POST", SESSIONS, {"repo": "project"}, **key)
        assert code == 201, body
        assert "Idempotent-Replayed" not in response.headers
        code, again, _ = await api("POST", SESSIONS, {"repo": "project"}, **key)
        assert code == 201 and again == body
        assert len(await sessions(api)) == 1


async def test_answers_survive_a_restart_and_expire(tmp_path):
    store = Store(tmp_path / "lawless.db")
    await store.open()
    kept = KeptAnswer("print", 201, {"session": {"id": "s1"}})
    await store.idempotency.keep("alice", "k1", kept, seconds=600)
    await store.idempotency.keep("alice", "k2", kept, seconds=0.2)
    await store.close()

    store = Store(tmp_path / "lawless.db")  # the server starts again
    await store.open()
    try:
        assert await store.idempotency.get("alice", "k1") == kept
        assert await store.idempotency.get("bob", "k1") is None
        await asyncio.sleep(0.3)
        assert await store.idempotency.get("alice", "k2") is None, "expired: not answered"
        assert await store.idempotency.sweep() == 1, "and swept"
        assert await store.idempotency.get("alice", "k1") == kept
    finally:
        await store.close()
