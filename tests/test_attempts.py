"""Attempts (best-of-N): one prompt in several sessions at once, through the real Claude Code
CLI talking to the scripted fake Messages API, real git and a real Jupyter server."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import anyio
import pytest
import yaml
from jupyter_server.auth.authorizer import Authorizer

from .conftest import git, git_snapshot
from .fake_anthropic import Block, text, tool_use, turn
from .test_openapi import SPEC_FILE, SpecChecker

ATTEMPTS = "api/workspace/attempts"
CHECK = "test -f result.txt && echo found it || { echo no result.txt; exit 3; }"


@pytest.fixture
def chat_config():
    return {}


@pytest.fixture
def lawless_config(fake, tmp_path, chat_config):
    env = fake.env(
        CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),
        CLAUDE_CODE_TMPDIR=str(tmp_path / "claude-tmp"),
    )
    return {"claude_env": env, "claude_max_retries": 0, "cancel_grace": 3.0, **chat_config}


@pytest.fixture
def spec() -> SpecChecker:
    return SpecChecker(yaml.safe_load(SPEC_FILE.read_text()))


def write(name: str, content: str, hold: threading.Event | None = None):
    """A model turn that writes one file in the worktree (edits inside it do not ask)."""
    return turn(
        Block("tool_use", name="Write", input={"file_path": name, "content": content}),
        hold=hold,
    )


async def settled(api, attempt_id: str, timeout: float = 120) -> dict:
    """The attempt's report once no turn or check of it runs any more."""
    with anyio.fail_after(timeout):
        while True:
            code, body, _ = await api("GET", f"{ATTEMPTS}/{attempt_id}")
            assert code == 200, body
            if not body["attempt"]["running"]:
                return body["attempt"]
            await asyncio.sleep(0.2)


async def test_three_attempts_run_at_once_and_one_is_kept(api, repo, fake, spec):
    # every first answer waits until all three requests are in: the turns overlap, or the
    # fake never gets a third request while the first two are held and this test fails
    all_in = threading.Event()
    fake.add(
        write("result.txt", "first\n", all_in),
        write("result.txt", "second\n", all_in),
        write("other.txt", "third\n", all_in),
        text("Done."),
        text("Done."),
        text("Done."),
    )
    body = {"repo": "project", "prompt": "Make result.txt", "n": 3, "check": CHECK}
    spec.request("/api/workspace/attempts", "POST", body, {})
    code, created, response = await api("POST", ATTEMPTS, body)
    assert code == 201, created
    spec.response("/api/workspace/attempts", "POST", code, created, response.headers)
    attempt = created["attempt"]
    assert [s["turn"]["state"] for s in attempt["sessions"]] == ["running"] * 3
    assert await asyncio.to_thread(fake.wait_for_requests, 3, 60), "the turns did not overlap"
    all_in.set()

    report = await settled(api, attempt["id"])
    _, _, response = await api("GET", f"{ATTEMPTS}/{attempt['id']}")
    spec.response(
        "/api/workspace/attempts/{attempt_id}",
        "GET",
        200,
        {"attempt": report},
        {"Content-Type": response.headers["Content-Type"]},
    )
    sessions = report["sessions"]
    assert [s["name"].rsplit("-", 1)[-1] for s in sessions] == ["a1", "a2", "a3"]
    assert len({s["branch"] for s in sessions}) == 3
    files = {}
    for s in sessions:  # each wrote only into its own worktree
        worktree = Path(s["worktree_path"])
        made = sorted(p.name for p in worktree.iterdir() if p.name.endswith(".txt"))
        assert len(made) == 1, (s["name"], made)
        files[s["session_id"]] = made[0]
        assert s["turn"] == {
            "state": "finished",
            "stop_reason": "end_turn",
            "error": None,
            "turns": 1,
            "waiting_for_approval": False,
        }
        assert s["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
        assert s["cost_usd"] > 0 and s["duration_ms"] > 0
        if made[0] == "result.txt":
            assert s["check"]["state"] == "done" and s["check"]["exit_code"] == 0
            assert "found it" in s["check"]["output"]
        else:
            assert s["check"]["exit_code"] == 3 and "no result.txt" in s["check"]["output"]
    assert sorted(files.values()) == ["other.txt", "result.txt", "result.txt"]
    assert not (repo / "result.txt").exists() and not (repo / "other.txt").exists()
    contents = {(Path(s["worktree_path"]) / files[s["session_id"]]).read_text() for s in sessions}
    assert contents == {"first\n", "second\n", "third\n"}

    code, listed, _ = await api("GET", ATTEMPTS)
    assert [a["id"] for a in listed["attempts"]] == [attempt["id"]]

    keep = next(s for s in sessions if files[s["session_id"]] == "result.txt")
    others = [s for s in sessions if s is not keep]
    before = git_snapshot(repo)
    code, body, _ = await api(
        "POST", f"{ATTEMPTS}/{attempt['id']}/choose", {"session": keep["session_id"]}
    )
    assert code == 409 and "uncommitted" in body["error"], body
    assert sorted(body["details"]["sessions"]) == sorted(s["session_id"] for s in others)
    assert git_snapshot(repo) == before, "a refused choice deletes nothing"

    choose = {"session": keep["session_id"], "force": True}
    spec.request("/api/workspace/attempts/{attempt_id}/choose", "POST", choose, {})
    code, chosen, response = await api("POST", f"{ATTEMPTS}/{attempt['id']}/choose", choose)
    assert code == 200, chosen
    spec.response(
        "/api/workspace/attempts/{attempt_id}/choose", "POST", code, chosen, response.headers
    )
    assert chosen["attempt"]["state"] == "chosen"
    assert chosen["attempt"]["chosen_session"] == keep["session_id"]
    assert all(d["branch_deleted"] is False for d in chosen["deleted"])
    _, listed, _ = await api("GET", "api/workspace/sessions")
    assert [s["id"] for s in listed["sessions"]] == [keep["session_id"]]
    for s in others:  # worktree gone, branch kept
        assert not Path(s["worktree_path"]).exists()
        assert git(repo, "branch", "--list", s["branch"]).strip()
    assert (Path(keep["worktree_path"]) / "result.txt").read_text() in ("first\n", "second\n")
    states = {s["session_id"]: s["state"] for s in chosen["attempt"]["sessions"]}
    assert states == {
        **{s["session_id"]: "deleted" for s in others},
        keep["session_id"]: "active",
    }
    code, body, _ = await api("POST", f"{ATTEMPTS}/{attempt['id']}/choose", choose)
    assert code in (400, 409), "a chosen attempt cannot be chosen again"


async def test_a_follow_up_goes_to_every_session_and_models_go_round_robin(api, repo, fake):
    fake.add(text("One."), text("Two."))
    body = {"repo": "project", "prompt": "Hello", "n": 2, "models": ["claude-fake-model"]}
    code, created, _ = await api("POST", ATTEMPTS, body)
    assert code == 201, created
    attempt = created["attempt"]
    assert [s["model"] for s in attempt["sessions"]] == ["claude-fake-model"] * 2
    await settled(api, attempt["id"])
    assert {r["model"] for r in fake.main_requests} == {"claude-fake-model"}

    fake.add(text("Again one."), text("Again two."))
    code, body, _ = await api("POST", f"{ATTEMPTS}/{attempt['id']}/chat", {"message": "More"})
    assert code == 200, body
    code, busy, _ = await api("POST", f"{ATTEMPTS}/{attempt['id']}/chat", {"message": "x"})
    assert code == 409 or not busy["attempt"]["running"], busy
    report = await settled(api, attempt["id"])
    assert [s["turn"]["turns"] for s in report["sessions"]] == [2, 2]
    for s in report["sessions"]:
        _, history, _ = await api("GET", f"api/workspace/sessions/{s['session_id']}/messages")
        users = [m["content"]["text"] for m in history["messages"] if m["role"] == "user"]
        assert users == ["Hello", "More"]
        # what each turn cost, added up (not Claude Code's running total of the process)
        _, turns, _ = await api("GET", f"api/workspace/sessions/{s['session_id']}/turns")
        costs = [t["cost_usd"] for t in turns["turns"]]
        assert len(costs) == 2 and s["cost_usd"] == pytest.approx(sum(costs))


@pytest.mark.parametrize("chat_config", [{"chat_replay_seconds": 0.2}])
async def test_always_allow_in_one_attempt_applies_to_its_sibling(
    api, repo, fake, sse_client, lawless_app
):
    fake.add(text("Ready."), text("Ready."))
    code, created, _ = await api("POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 2})
    assert code == 201, created
    first, second = (s["session_id"] for s in created["attempt"]["sessions"])
    await settled(api, created["attempt"]["id"])

    fake.add(tool_use("Bash", {"command": "touch made-by-bash"}), text("Ran it."))
    stream = await sse_client.open(
        "POST", f"api/workspace/sessions/{first}/chat", {"message": "Run it"}
    )
    request = await stream.until("approval_request")
    _, report, _ = await api("GET", f"{ATTEMPTS}/{created['attempt']['id']}")
    waiting = [s["turn"]["waiting_for_approval"] for s in report["attempt"]["sessions"]]
    assert waiting == [True, False], "the attempts view says which one waits for the person"
    code, body, _ = await api(
        "POST",
        f"api/workspace/sessions/{first}/chat/approvals/{request['request_id']}",
        {"decision": "allow", "remember": True},
    )
    assert code == 200, body
    await stream.rest()

    _, rules, _ = await api("GET", f"api/workspace/sessions/{second}/chat/rules")
    assert rules["rules"] == [request["rule"]]
    # every Claude process closed as when idle: the shared rule outlives them
    await asyncio.sleep(0.5)  # past the replay window: the conversations are let go
    lawless_app.chat.settings.idle_timeout = 0.001
    await lawless_app.chat.close_idle()
    assert lawless_app.chat.live_clients() == 0
    # and a server started again: only the store remembers, each sibling's own rows
    lawless_app.chat._rules.clear()
    fake.add(tool_use("Bash", {"command": "touch made-by-bash"}), text("Ran it too."))
    stream = await sse_client.open(
        "POST", f"api/workspace/sessions/{second}/chat", {"message": "Run it"}
    )
    events = await stream.rest()
    assert "approval_request" not in [d["type"] for _, d in events], "the sibling asked again"
    worktree = Path(
        next(s for s in created["attempt"]["sessions"] if s["session_id"] == second)[
            "worktree_path"
        ]
    )
    assert (worktree / "made-by-bash").exists()


@pytest.fixture
def sse_client(jp_serverapp, http_server_port, jp_base_url, http_server_client):
    from .test_chat import SSE

    return SSE(http_server_port[-1], jp_base_url, jp_serverapp.identity_provider.token)


class NoTerminals(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return resource != "terminals"


@pytest.mark.parametrize(
    "chat_config", [{"allowed_models": ["claude-a", "claude-b"], "max_sessions_per_repo": 4}]
)
async def test_bad_attempts_are_refused_and_change_nothing(
    api, repo, fake, jp_serverapp, lawless_app
):
    before = git_snapshot(repo)
    worktrees = Path(lawless_app.workspace.settings.worktrees_dir)
    good = {"repo": "project", "prompt": "Do it", "n": 2}
    cases = [
        ({**good, "n": 1}, 400, "'n'"),
        ({**good, "n": 6}, 400, "'n'"),
        ({**good, "n": "3"}, 400, "'n'"),
        ({**good, "n": True}, 400, "'n'"),
        ({**good, "models": ["claude-a", "claude-x"]}, 400, "claude-x"),
        ({**good, "models": []}, 400, "'models'"),
        ({**good, "models": [None]}, 400, "'models'"),
        ({**good, "models": ["claude-a"] * 3}, 400, "'models'"),
        ({**good, "prompt": " "}, 400, "'prompt'"),
        ({**good, "check": ""}, 400, "'check'"),
        ({**good, "repo": "nowhere"}, 400, "nowhere"),
        ({**good, "repo": "../outside"}, 400, "'repo'"),
        ({**good, "base": "no-such-branch"}, 400, "no-such-branch"),
        ({**good, "base": "-x"}, 400, "base"),
        ({**good, "n": 5}, 429, "limit of 4"),
        ({**good, "colour": "red"}, 400, "colour"),
    ]
    for body, status, said in cases:
        code, answer, _ = await api("POST", ATTEMPTS, body)
        assert code == status and said in answer["error"], (body, code, answer)

    jp_serverapp.web_app.settings["authorizer"] = NoTerminals(parent=jp_serverapp)
    code, answer, _ = await api("POST", ATTEMPTS, {**good, "check": "true"})
    assert code == 403 and "check" in answer["error"], answer

    _, listed, _ = await api("GET", ATTEMPTS)
    assert listed["attempts"] == []
    _, sessions, _ = await api("GET", "api/workspace/sessions")
    assert sessions["sessions"] == []
    assert git_snapshot(repo) == before
    assert not worktrees.exists() or not any(worktrees.glob("*/*"))
    assert fake.main_requests == [], "no turn started"
    for table in ("attempts", "attempt_sessions"):
        row = await lawless_app.store.db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        assert row["n"] == 0, table

    code, answer, _ = await api("GET", f"{ATTEMPTS}/00000000-0000-0000-0000-000000000000")
    assert code == 404
    code, answer, _ = await api("GET", f"{ATTEMPTS}/not-an-id")
    assert code == 404


@pytest.mark.parametrize(
    "chat_config", [{"attempt_check_timeout": 1.5, "attempt_check_output_bytes": 200}]
)
async def test_a_check_that_runs_too_long_is_stopped_and_its_output_cut(api, repo, fake, tmp_path):
    leftover = tmp_path / "leftover"
    # a flood of output, then a child that would outlive the check, then a hang
    check = (
        "head -c 50000 /dev/zero | tr '\\0' x; echo; echo END; "
        f"(sleep 3; touch {leftover}) & sleep 30"
    )
    code, created, _ = await api(
        "POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 2, "check": check}
    )
    assert code == 201, created
    report = await settled(api, created["attempt"]["id"])
    for s in report["sessions"]:
        assert s["check"]["state"] == "timed_out" and s["check"]["exit_code"] is None, s
        output = s["check"]["output"]
        assert output.endswith("x\nEND\n") and len(output.encode()) <= 200, output
    await asyncio.sleep(3.5)
    assert not leftover.exists(), "the check's children outlived its time limit"


@pytest.mark.parametrize("chat_config", [{"claude_nice": 7}])
async def test_a_check_runs_below_the_server_like_claude(api, repo, fake):
    """A test suite is the agents' batch work: the relay of every answer goes first."""
    check = "cut -d' ' -f19 /proc/self/stat"  # the nice value of the command itself
    code, created, _ = await api(
        "POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 2, "check": check}
    )
    assert code == 201, created
    report = await settled(api, created["attempt"]["id"])
    server = os.getpriority(os.PRIO_PROCESS, 0)
    for s in report["sessions"]:
        assert s["check"]["state"] == "done", s
        assert int(s["check"]["output"]) == min(19, server + 7), s["check"]


async def test_choosing_stops_the_checks_of_the_sessions_it_deletes(api, repo, fake, tmp_path):
    check = f"sleep 4; touch {tmp_path}/finished-$(basename $PWD)"
    code, created, _ = await api(
        "POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 2, "check": check}
    )
    assert code == 201, created
    attempt_id = created["attempt"]["id"]
    with anyio.fail_after(60):
        while True:
            _, body, _ = await api("GET", f"{ATTEMPTS}/{attempt_id}")
            if all(s["check"]["state"] == "running" for s in body["attempt"]["sessions"]):
                break
            await asyncio.sleep(0.1)
    keep, other = body["attempt"]["sessions"]

    code, busy, _ = await api("POST", f"{ATTEMPTS}/{attempt_id}/chat", {"message": "More"})
    assert code == 409 and "check" in busy["error"], "no new turn while its check runs"
    code, chosen, _ = await api(
        "POST", f"{ATTEMPTS}/{attempt_id}/choose", {"session": keep["session_id"]}
    )
    assert code == 200, chosen  # nothing uncommitted: no force needed
    states = {s["session_id"]: s for s in chosen["attempt"]["sessions"]}
    assert states[other["session_id"]]["state"] == "deleted"
    assert states[other["session_id"]]["check"]["state"] == "interrupted"
    report = await settled(api, attempt_id)
    assert report["sessions"][0]["check"] == {"state": "done", "exit_code": 0, "output": ""}
    assert (tmp_path / f"finished-{Path(keep['worktree_path']).name}").exists()
    assert not (tmp_path / f"finished-{Path(other['worktree_path']).name}").exists()


@pytest.mark.parametrize("chat_config", [{"chat_messages_per_hour": 2}])
async def test_each_attempt_counts_against_the_chat_quota(api, repo, fake):
    before = git_snapshot(repo)
    code, body, response = await api("POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 3})
    assert code == 429 and "3 chat messages" in body["error"], body
    assert response.headers["Retry-After"]
    assert git_snapshot(repo) == before and fake.main_requests == []
    code, body, _ = await api("POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 2})
    assert code == 201, body
    _, quota, _ = await api("GET", "api/user/quota")
    assert quota["chat_messages"]["remaining"] == 0, quota


async def test_dropping_branches_never_drops_unmerged_commits(api, repo, fake):
    code, created, _ = await api("POST", ATTEMPTS, {"repo": "project", "prompt": "Hi", "n": 3})
    assert code == 201, created
    attempt_id = created["attempt"]["id"]
    keep, committed, empty = (await settled(api, attempt_id))["sessions"]
    (Path(committed["worktree_path"]) / "kept.txt").write_text("worth keeping\n")
    code, body, _ = await api(
        "POST",
        f"api/workspace/sessions/{committed['session_id']}/git/commit",
        {"message": "Work worth keeping"},
    )
    assert code == 201, body

    code, chosen, _ = await api(
        "POST",
        f"{ATTEMPTS}/{attempt_id}/choose",
        {"session": keep["session_id"], "drop_branches": True, "force": True},
    )
    assert code == 200, chosen
    deleted = {d["session_id"]: d for d in chosen["deleted"]}
    assert deleted[committed["session_id"]]["branch_deleted"] is False
    assert deleted[committed["session_id"]]["unmerged_commits"] == 1
    assert deleted[empty["session_id"]]["branch_deleted"] is True
    branches = set(git(repo, "branch", "--format=%(refname:short)").split())
    assert branches == {"main", keep["branch"], committed["branch"]}


async def test_an_attempt_sent_again_with_its_key_is_made_once(api, repo, fake):
    body = {"repo": "project", "prompt": "Hi", "n": 2}
    key = {"Idempotency-Key": "attempt-once"}
    code, first, _ = await api("POST", ATTEMPTS, body, headers=key)
    assert code == 201, first
    code, again, response = await api("POST", ATTEMPTS, body, headers=key)
    assert code == 201 and again == first
    assert response.headers["Idempotent-Replayed"] == "true"
    _, listed, _ = await api("GET", ATTEMPTS)
    assert [a["id"] for a in listed["attempts"]] == [first["attempt"]["id"]]
    _, sessions, _ = await api("GET", "api/workspace/sessions")
    assert len(sessions["sessions"]) == 2
