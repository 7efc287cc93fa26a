"""Turns as checkpoints: listing, rewinding worktree and conversation, forking a session.

Real git, the real Claude Code CLI talking to the scripted fake Messages API."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from .conftest import git, git_snapshot
from .fake_anthropic import text, tool_use
from .test_chat import SSE, chat, chat_config, claude_env, lawless_config, sse  # noqa: F401
from .test_openapi import SPEC_FILE, SpecChecker

TRUSTED = {"permission_mode": "trusted"}  # shell commands run without asking


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "logo.bin").write_bytes(bytes(range(256)) * 4)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "ignore logs, a binary logo")
    return jp_asyncio_loop.run_until_complete(api.create(name="turns"))


def base(session, suffix: str) -> str:
    return f"api/workspace/sessions/{session['id']}/{suffix}"


def state(worktree: Path) -> dict:
    """Everything a rewind must put back: each file's bytes (ignored ones too), the index,
    HEAD and its branch, the status."""
    files = {
        p.relative_to(worktree).as_posix(): p.read_bytes()
        for p in sorted(worktree.rglob("*"))
        if p.is_file() and p.relative_to(worktree).parts[0] != ".git"
    }
    return {
        "files": files,
        "index": git(worktree, "ls-files", "--stage"),
        "head": git(worktree, "rev-parse", "HEAD"),
        "branch": git(worktree, "symbolic-ref", "HEAD"),
        "status": git(worktree, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
    }


def uncommitted_work(worktree: Path) -> None:
    """A staged edit, an unstaged edit on top of it, an untracked and an ignored file."""
    (worktree / "src" / "app.py").write_text("x = 2\n")
    git(worktree, "add", "src/app.py")
    (worktree / "src" / "app.py").write_text("x = 3\n")
    (worktree / "README.md").write_text("# demo, edited\n")
    (worktree / "notes.txt").write_text("untracked notes\n")
    (worktree / "build.log").write_text("ignored\n")


async def finished(client, session, message, **extra) -> list:
    events = await (await chat(client, session, message, **extra)).rest()
    assert events[-1][1]["type"] == "done", events
    return events


SPEC = SpecChecker(yaml.safe_load(SPEC_FILE.read_text()))
TEMPLATE = "/api/workspace/sessions/{session_id}/"


async def turns_of(api, session) -> list[dict]:
    code, body, response = await api("GET", base(session, "turns"))
    assert code == 200, body
    SPEC.response(TEMPLATE + "turns", "GET", code, body, response.headers)
    return body["turns"]


CHANGES = "rm notes.txt README.md && printf '\\377\\376' > logo.bin && " + (
    "git add -A && git -c user.name=c -c user.email=c@c.invalid commit -qm by-claude && "
    "printf 'later' > after-commit.txt"
)


async def test_a_rewind_puts_back_every_byte_the_index_head_and_the_conversation(
    api,
    sse,  # noqa: F811
    session,
    fake,
):
    worktree = Path(session["worktree_path"])
    fake.add(text("I will remember the word apple."))
    await finished(sse, session, "Remember the word apple")
    uncommitted_work(worktree)
    before = state(worktree)
    fake.add(
        tool_use("Write", {"file_path": "made.txt", "content": "made by the turn\n"}),
        tool_use("Write", {"file_path": "src/app.py", "content": "x = 99\n"}),
        tool_use("Bash", {"command": CHANGES}),
        text("Changed things."),
    )
    await finished(sse, session, "Change everything please", **TRUSTED)
    later = state(worktree)
    assert later["head"] != before["head"], "the turn committed"
    assert "made.txt" in later["files"] and "notes.txt" not in later["files"]

    turns = await turns_of(api, session)
    assert [(t["number"], t["kind"], t["message"]) for t in turns] == [
        (1, "turn", "Remember the word apple"),
        (2, "turn", "Change everything please"),
    ]
    first, second = turns
    assert first["files_changed"] == [] and first["ended_at"] and first["cost_usd"] > 0
    # one model call in the first turn, four in the second (three tools, then the answer)
    assert second["cost_usd"] == pytest.approx(4 * first["cost_usd"])
    assert second["usage"]["output_tokens"] == 4 * first["usage"]["output_tokens"]
    assert second["files_changed"] == [
        "README.md",
        "after-commit.txt",
        "logo.bin",
        "made.txt",
        "notes.txt",
        "src/app.py",
    ]
    assert git(worktree, "rev-parse", second["ref"]).strip() == second["checkpoint"]

    code, body, response = await api("POST", base(session, "rewind"), {"turn": second["id"]})
    assert code == 200, body
    SPEC.response(TEMPLATE + "rewind", "POST", code, body, response.headers)
    assert state(worktree) == before, "files, index, HEAD and status as before the turn"
    assert body["rewound"] == [second["id"]] and body["conversation"] == "forked"
    assert git(worktree, "branch", "--show-current").strip() == session["branch"]

    turns = await turns_of(api, session)
    assert [(t["kind"], t["rewound"]) for t in turns] == [
        ("turn", False),
        ("turn", True),
        ("rewind", False),
    ]
    code, history, _ = await api("GET", base(session, "messages"))
    marker = history["messages"][-1]
    assert marker["role"] == "rewind" and marker["content"]["turn"] == second["id"]

    fake.add(text("Apple, yes."))
    await finished(sse, session, "Which word?")
    sent = json.dumps(fake.main_requests[-1]["messages"])
    assert "Remember the word apple" in sent, "the turn before stays in the conversation"
    assert "Change everything please" not in sent, "the rewound turn is gone"
    assert "made by the turn" not in sent

    # rewinding the rewind brings back the state after the turn (and the turn)
    rewind = turns[2]
    code, body, _ = await api("POST", base(session, "rewind"), {"turn": rewind["id"]})
    assert code == 200, body
    restored = state(worktree)
    assert restored == later
    turns = await turns_of(api, session)
    assert [t["rewound"] for t in turns] == [False, False, True, True, False]
    fake.add(text("Back."))
    await finished(sse, session, "And now?")
    sent = json.dumps(fake.main_requests[-1]["messages"])
    assert "Change everything please" in sent and "Which word?" not in sent


async def test_a_turn_that_only_answers_records_nothing_and_a_rewind_to_it_keeps_my_edits(
    api,
    sse,  # noqa: F811
    session,
    fake,
    repo,
):
    """A turn records the worktree before Claude first acts in it, so one that only
    answers runs no git and lists no file (the person's own edit meanwhile is not the
    turn's). Rewinding to it undoes what Claude did since and the conversation from it on;
    the person's edits before Claude's next change stay."""
    worktree = Path(session["worktree_path"])
    refs = ("for-each-ref", "--format=%(refname)", f"refs/lawless/{session['id']}/")
    answered = threading.Event()
    fake.add(text("Just an answer.", hold=answered))
    stream = await chat(sse, session, "Explain the code")
    await stream.until("start")
    (worktree / "mine.txt").write_text("the person's own file\n")
    answered.set()
    assert (await stream.rest())[-1][1]["type"] == "done"
    (explained,) = await turns_of(api, session)
    assert explained["files_changed"] == [] and explained["ended_at"]
    assert explained["checkpoint"] is None and explained["ref"] is None
    assert git(repo, *refs) == "", "a turn without tools wrote a checkpoint"

    fake.add(tool_use("Write", {"file_path": "made.txt", "content": "made\n"}), text("Made."))
    await finished(sse, session, "Make a file", **TRUSTED)
    _, made = await turns_of(api, session)
    assert made["files_changed"] == ["made.txt"] and made["checkpoint"]
    assert git(repo, *refs).split() == [made["ref"]]

    code, body, _ = await api("POST", base(session, "rewind"), {"turn": explained["id"]})
    assert code == 200, body
    assert body["rewound"] == [explained["id"], made["id"]]
    assert not (worktree / "made.txt").exists(), "what Claude did since is undone"
    assert (worktree / "mine.txt").exists(), "the person's edit before it stays"
    fake.add(text("Starting over."))
    await finished(sse, session, "Again")
    sent = json.dumps(fake.main_requests[-1]["messages"])
    assert "Explain the code" not in sent and "Make a file" not in sent

    # rewound to a turn Claude changed nothing after: only the conversation goes back
    *_, again = await turns_of(api, session)
    (worktree / "later.txt").write_text("written after\n")
    code, body, _ = await api("POST", base(session, "rewind"), {"turn": again["id"]})
    assert code == 200, body
    assert body["rewind"]["files_changed"] == [] and (worktree / "later.txt").exists()
    code, body, _ = await api("POST", base(session, "fork"), {"turn": again["id"]})
    assert code == 201, body
    assert (Path(body["session"]["worktree_path"]) / "later.txt").exists()


async def test_rewind_and_fork_are_refused_while_a_turn_runs_and_for_an_unknown_turn(
    api,
    sse,  # noqa: F811
    session,
    fake,
):
    worktree = Path(session["worktree_path"])
    fake.add(tool_use("Write", {"file_path": "a.txt", "content": "a\n"}), text("Wrote."))
    await finished(sse, session, "Write a")
    [turn] = await turns_of(api, session)
    hold = threading.Event()
    fake.add(text("Thinking slowly about it", chunks=4, hold=hold))
    stream = await chat(sse, session, "Take your time")
    try:
        await stream.until("start")
        before = state(worktree), git_snapshot(worktree)
        code, body, _ = await api("POST", base(session, "rewind"), {"turn": turn["id"]})
        assert code == 409 and "running" in body["error"], body
        code, body, _ = await api("POST", base(session, "fork"), {"turn": turn["id"]})
        assert code == 409 and "running" in body["error"], body
    finally:
        hold.set()
    await stream.rest()
    assert (state(worktree), git_snapshot(worktree)) == before
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert [s["id"] for s in body["sessions"]] == [session["id"]], "no fork was made"

    refs = ("for-each-ref", "refs/lawless")
    before = state(worktree), git(worktree, *refs), await turns_of(api, session)
    for bad, status in (({"turn": "no-such-turn"}, 404), ({"turn": 7}, 400), ({}, 400)):
        code, body, _ = await api("POST", base(session, "rewind"), bad)
        assert code == status and body["error"], body
    assert (state(worktree), git(worktree, *refs), await turns_of(api, session)) == before
    code, history, _ = await api("GET", base(session, "messages"))
    assert "rewind" not in [m["role"] for m in history["messages"]]


async def test_a_fork_has_the_source_work_its_own_branch_and_the_conversation(
    api,
    sse,  # noqa: F811
    session,
    fake,
):
    source = Path(session["worktree_path"])
    fake.add(
        tool_use("Write", {"file_path": "first.txt", "content": "from the first turn\n"}),
        text("Remembered banana."),
    )
    await finished(sse, session, "Remember the word banana")
    uncommitted_work(source)
    source_state = state(source)

    code, body, response = await api("POST", base(session, "fork"), {"name": "forked"})
    assert code == 201, body
    SPEC.response(TEMPLATE + "fork", "POST", code, body, response.headers)
    fork = body["session"]
    assert body["conversation"] == "forked"
    forked = Path(fork["worktree_path"])
    assert fork["branch"] != session["branch"] and fork["name"] == "forked"
    assert git(forked, "branch", "--show-current").strip() == fork["branch"]
    copy = state(forked)
    ignored = {"build.log"}  # ignored files are not part of a checkpoint
    assert {k: v for k, v in copy["files"].items() if k not in ignored} == {
        k: v for k, v in source_state["files"].items() if k not in ignored
    }
    assert copy["index"] == source_state["index"]
    assert copy["head"] == source_state["head"]

    code, history, _ = await api("GET", f"api/workspace/sessions/{fork['id']}/messages")
    assert [m["content"].get("text") for m in history["messages"] if m["role"] == "user"] == [
        "Remember the word banana"
    ], "the fork's history starts with the source's turn"

    fake.add(
        tool_use("Write", {"file_path": "fork-only.txt", "content": "only in the fork\n"}),
        tool_use("Write", {"file_path": "first.txt", "content": "changed in the fork\n"}),
        text("Done in the fork."),
    )
    await finished(sse, fork, "Which word? Then change things")
    sent = json.dumps(fake.main_requests[-1]["messages"])
    assert "Remember the word banana" in sent, "the fork's model sees the source's turn"
    assert (forked / "fork-only.txt").exists()
    assert state(source) == source_state, "nothing of the fork shows in the source"
    code, status, _ = await api("GET", base(session, "git/status"))
    assert "fork-only.txt" not in json.dumps(status)

    # from before a turn: the worktree as it was then, the conversation without that turn
    [turn] = await turns_of(api, session)
    code, listed, _ = await api("GET", "api/workspace/sessions")
    retry = {"headers": {"Idempotency-Key": str(uuid.uuid4())}}
    code, body, _ = await api("POST", base(session, "fork"), {"turn": turn["id"]}, **retry)
    assert code == 201, body
    again = await api("POST", base(session, "fork"), {"turn": turn["id"]}, **retry)
    assert again[:2] == (201, body), "a fork sent again with its key is answered, not redone"
    code, relisted, _ = await api("GET", "api/workspace/sessions")
    assert len(relisted["sessions"]) == len(listed["sessions"]) + 1
    early = Path(body["session"]["worktree_path"])
    assert not (early / "first.txt").exists() and not (early / "notes.txt").exists()
    assert body["conversation"] == "fresh"


class TestQuota:
    @pytest.fixture
    def chat_config(self):
        return {"max_sessions_per_repo": 1}

    async def test_a_fork_over_the_session_quota_makes_nothing(self, api, session, repo):
        worktree = Path(session["worktree_path"])
        (worktree / "notes.txt").write_text("untracked\n")
        before = git_snapshot(repo), git(repo, "for-each-ref"), git(worktree, "status")
        code, body, _ = await api("POST", base(session, "fork"), {"name": "one-too-many"})
        assert code == 429 and "limit" in body["error"], body
        assert (git_snapshot(repo), git(repo, "for-each-ref"), git(worktree, "status")) == before
        code, body, _ = await api("GET", "api/workspace/sessions")
        assert [s["id"] for s in body["sessions"]] == [session["id"]]


async def test_another_users_session_has_no_turns_to_list_rewind_or_fork(
    api,
    sse,  # noqa: F811
    session,
    fake,
    lawless_app,
):
    fake.add(text("Hi."))
    await finished(sse, session, "Hello")
    [turn] = await turns_of(api, session)
    async with lawless_app.store.db.transaction() as db:
        await db.execute(
            "UPDATE workspace_sessions SET user_id = 'someone-else' WHERE id = ?", (session["id"],)
        )
    for method, suffix, payload in (
        ("GET", "turns", None),
        ("POST", "rewind", {"turn": turn["id"]}),
        ("POST", "fork", {}),
    ):
        code, body, _ = await api(method, base(session, suffix), payload)
        assert code == 404, (suffix, body)


async def test_checkpoint_refs_run_no_hook_and_go_with_the_session(
    api,
    sse,  # noqa: F811
    session,
    fake,
    repo,
    tmp_path,
):
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    fake.add(tool_use("Write", {"file_path": "a.txt", "content": "a\n"}), text("Wrote."))
    await finished(sse, session, "Write a")
    assert not marker.exists(), "recording a checkpoint ran the repository's hook"
    refs = f"refs/lawless/{session['id']}/"
    assert git(repo, "for-each-ref", "--format=%(refname)", refs).split() == [f"{refs}turns/1"]
    path = f"api/workspace/sessions/{session['id']}"
    code, body, _ = await api("DELETE", path, params={"force": "true"})
    assert code == 200, body
    assert git(repo, "for-each-ref", refs) == ""


async def test_a_turn_whose_checkpoint_fails_streams_but_changes_nothing(
    api,
    sse,  # noqa: F811
    session,
    fake,
    repo,
):
    # the checkpoint is written when the first tool is about to run, which waits for it.
    # A ref where the turn's ref folder must go makes git refuse the checkpoint.
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", f"refs/lawless/{session['id']}", head)
    worktree = Path(session["worktree_path"])
    fake.add(
        tool_use("Write", {"file_path": "made.txt", "content": "made\n"}),
        text("I could not write it."),
    )
    events = await finished(sse, session, "Write made.txt", **TRUSTED)
    kinds = [data["type"] for _, data in events]
    assert kinds[0] == "start" and "text" in kinds, kinds
    result = next(data for _, data in events if data["type"] == "tool_result")
    assert result["is_error"] and "could not be recorded" in result["content"], result
    assert not (worktree / "made.txt").exists()
    (turn,) = await turns_of(api, session)  # listed, with nothing to put back
    assert turn["checkpoint"] is None and turn["ref"] is None and turn["files_changed"] == []


async def test_a_repository_nested_in_the_worktree_before_its_first_commit_blocks_nothing(
    api,
    sse,  # noqa: F811
    session,
    fake,
):
    """``git init sub`` in the worktree (a project started inside it): git cannot record a
    repository with no commit, which failed every checkpoint (so no tool of a turn ran) and
    the review's diff. It is left out of both; a rewind leaves it where it is."""
    worktree = Path(session["worktree_path"])
    git(worktree, "init", "--quiet", "sub")
    (worktree / "sub" / "draft.txt").write_text("mine\n")
    fake.add(tool_use("Bash", {"command": "printf made > made.txt"}), text("Made it."))
    events = await finished(sse, session, "Make made.txt", **TRUSTED)
    result = next(data for _, data in events if data["type"] == "tool_result")
    assert not result["is_error"], result
    assert (worktree / "made.txt").read_text() == "made"
    (turn,) = await turns_of(api, session)
    assert turn["checkpoint"] and turn["files_changed"] == ["made.txt"]

    code, diff, _ = await api("GET", f"api/workspace/sessions/{session['id']}/git/diff")
    assert code == 200 and [f["path"] for f in diff["files"]] == ["made.txt"], diff

    # committing everything cannot include it: the answer says what to do
    commit = f"api/workspace/sessions/{session['id']}/git/commit"
    code, body, _ = await api("POST", commit, {"message": "Add made.txt"})
    assert code == 400, body
    assert "sub/ is a git repository with no commit yet" in body["error"], body
    assert body["details"]["repositories"] == ["sub/"]
    assert git(worktree, "diff", "--cached", "--name-only") == ""  # nothing half-staged

    code, body, _ = await api("POST", base(session, "rewind"), {"turn": turn["id"]})
    assert code == 200, body
    assert not (worktree / "made.txt").exists()
    assert (worktree / "sub" / "draft.txt").read_text() == "mine\n"
