"""Hostile input: symlinks pointing out of the root, option-shaped and control-character
strings in every text field, requests from a foreign origin, and slow (slowloris) bodies.
Each is refused or handled; nothing is created, nothing leaks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from .conftest import git
from .fake_anthropic import text as answer
from .test_auth import concrete_paths
from .test_chat import chat_config, claude_env, lawless_config, sse  # noqa: F401

SECRET = "the-secret-outside-the-root-7f3a"


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside-the-root"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


async def test_a_symlink_in_the_worktree_is_shown_and_committed_as_a_link(api, repo, outside):
    """git keeps a symlink as its target's path: diff and commit never read what it points
    to, and a path through it is refused."""
    session = await api.create()
    sid, worktree = session["id"], Path(session["worktree_path"])
    (worktree / "escape").symlink_to(outside)
    (worktree / "secret-link").symlink_to(outside / "secret.txt")
    for against in ("base", "head"):
        code, diff, _ = await api(
            "GET", f"api/workspace/sessions/{sid}/git/diff", params={"against": against}
        )
        assert code == 200, diff
        assert SECRET not in json.dumps(diff)
        assert {"escape", "secret-link"} <= {f["path"] for f in diff["files"]}
    code, status, _ = await api("GET", f"api/workspace/sessions/{sid}/git/status")
    assert code == 200 and SECRET not in json.dumps(status)
    for paths in (["escape/secret.txt"], ["secret-link/../escape"]):
        code, body, _ = await api(
            "POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "m", "paths": paths}
        )
        assert code == 400, body
        assert SECRET not in json.dumps(body)
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "links"}
    )
    assert code == 201 or code == 200, body
    tree = git(worktree, "ls-tree", "HEAD")
    assert "120000" in tree  # committed as links (mode 120000), not as the files behind them
    assert SECRET not in git(worktree, "show", "HEAD")


HOSTILE_TEXT = [
    "--upload-pack=touch /tmp/pwned",
    "-n",
    "'; DROP TABLE workspace_sessions; --",
    '" OR 1=1 --',
    "line\x00nul",
    "bell\x07\x1b[31mred",
    "\u202etxt.exe",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
async def test_hostile_text_in_every_field_is_refused_or_kept_as_plain_text(
    api,
    sse,  # noqa: F811
    repo,
    fake,
    text,
):
    session = await api.create()
    sid = session["id"]
    before = git(repo, "rev-parse", "main"), git(repo, "status", "--porcelain")
    calls = [
        ("POST", "api/workspace/sessions", {"repo": "project", "name": text}),
        ("POST", "api/workspace/sessions", {"repo": "project", "base": text}),
        ("POST", f"api/workspace/sessions/{sid}/git/commit", {"message": text}),
        ("POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "m", "paths": [text]}),
        ("POST", f"api/workspace/sessions/{sid}/git/merge", {"message": text}),
        ("POST", f"api/workspace/sessions/{sid}/terminals", {"name": text}),
        ("PUT", "api/user/preferences", {"preferences": {"model": text}}),
        ("GET", "api/workspace/sessions", None, {"repo": text}),
        ("GET", f"api/workspace/sessions/{sid}/git/diff", None, {"against": text}),
        ("GET", f"api/workspace/sessions/{sid}/git/log", None, {"limit": text}),
    ]
    for method, path, body, *params in calls:
        code, reply, _ = await api(method, path, body, params=params[0] if params else None)
        assert code < 500, (method, path, body, reply)
        if code >= 400:
            assert reply["code"] != "internal_error" and "Traceback" not in json.dumps(reply)
    # a model name goes to Claude Code as one argument: a turn, or a clear refusal
    fake.add(answer("ok"))
    stream = await sse.open(
        "POST", f"api/workspace/sessions/{sid}/chat", {"message": "hi", "model": text}
    )
    if stream.status == 200:
        events = await stream.rest()
        assert events[-1][1]["type"] == "done", events
    else:
        assert stream.status == 400, await stream.body()
    # option-shaped text never reached git as an option
    assert not Path("/tmp/pwned").exists()
    after = git(repo, "rev-parse", "main"), git(repo, "status", "--porcelain")
    assert after == before, "the base branch and checkout are untouched"
    code, body, _ = await api("GET", "api/workspace/sessions")
    names = {s["name"] for s in body["sessions"]}
    assert names <= {None, text}  # a harmless odd name is stored as it was sent
    code, body, _ = await api("GET", f"api/workspace/sessions/{sid}")
    assert code == 200 and body["session"]["state"] == "active"


async def test_a_page_elsewhere_cannot_use_the_login_cookie(api, repo):
    """A browser logged in to Jupyter, on a page of another site: its requests carry the
    login cookie and the other site's Origin. Jupyter answers 404 before any handler runs
    (token-authenticated requests skip this check by Jupyter's design: a page elsewhere has
    no token)."""
    _, _, response = await api("GET", "version")
    cookies = [c.split(";")[0] for c in response.headers.get_list("Set-Cookie")]
    headers = {
        "Authorization": "",
        "Cookie": "; ".join(c for c in cookies if c.startswith("username-")),
        "Origin": "https://evil.example",
    }
    same_site = {k: v for k, v in headers.items() if k != "Origin"}
    code, _, _ = await api("GET", "version", headers=same_site)
    assert code == 200, "the cookie itself is good"
    for method, path in concrete_paths():
        body = {"repo": "project"} if method in ("POST", "PUT") else None
        code, _, _ = await api(method, path, body, headers=headers)
        if path != "health":
            assert code in (403, 404), (method, path, code)
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []


async def test_slow_bodies_do_not_hold_up_anyone_else(api, repo, jp_serverapp, http_server_port):
    """Slowloris: 50 connections trickling a body byte by byte. Everyone else is answered as
    usual meanwhile, and none of the trickled requests creates anything."""
    port = http_server_port[-1]
    token = jp_serverapp.identity_provider.token
    body = json.dumps({"repo": "project"}).encode()
    writers = []
    for _ in range(50):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {jp_serverapp.base_url}lawless/api/workspace/sessions HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body) + 100}\r\n\r\n".encode()
        )
        writer.write(body[:1])
        await writer.drain()
        writers.append((reader, writer))
    try:
        slowest = 0.0
        for i in range(20):
            for _, writer in writers:  # a byte each, now and then, never finishing
                writer.write(body[1 + i % (len(body) - 1) : 2 + i % (len(body) - 1)])
            t0 = time.perf_counter()
            code, answer, _ = await api("GET", "api/workspace/sessions")
            slowest = max(slowest, time.perf_counter() - t0)
            assert code == 200 and answer["sessions"] == []
            await asyncio.sleep(0.05)
        assert slowest < 2.0, f"a normal request took {slowest:.2f} s during the trickle"
    finally:
        for _, writer in writers:
            writer.close()
    await asyncio.sleep(0.2)
    code, answer, _ = await api("GET", "api/workspace/sessions")
    assert answer["sessions"] == []
