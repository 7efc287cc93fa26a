"""Session terminals: Jupyter's own terminals, opened in the worktree, output kept."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from jupyter_server.auth.authorizer import Authorizer

from lawless_jupyter.store import Store


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="term"))


def terminals_path(session, suffix=""):
    return f"api/workspace/sessions/{session['id']}/terminals{suffix}"


async def open_terminal(api, session) -> dict:
    code, body, _ = await api("POST", terminals_path(session))
    assert code == 201, body
    return body["terminal"]


async def run(ws, command: str, expect: str, timeout: float = 20) -> str:
    """Type a command in the terminal and read until ``expect`` appears in its output."""
    await ws.write_message(json.dumps(["stdin", command + "\r"]))
    seen = ""
    deadline = time.monotonic() + timeout
    while expect not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{expect!r} never appeared in: {seen[-2000:]!r}"
        message = await asyncio.wait_for(ws.read_message(), left)
        assert message is not None, f"the terminal closed; output: {seen[-2000:]!r}"
        kind, *content = json.loads(message)
        if kind == "stdout":
            seen = (seen + content[0])[-100_000:]  # the tail is enough; a flood stays cheap
    return seen


async def test_a_terminal_opens_in_the_worktree_on_the_session_branch(api, session, jp_ws_fetch):
    terminal = await open_terminal(api, session)
    assert terminal["running"] is True and terminal["cwd"] == session["worktree_path"]
    ws = await jp_ws_fetch("terminals", "websocket", terminal["name"])
    output = await run(ws, "pwd; echo MARK-$LAWLESS_SESSION_ID", f"MARK-{session['id']}")
    assert session["worktree_path"] in output
    output = await run(ws, "git branch --show-current", session["branch"] + "\r\n")
    assert session["branch"] in output
    ws.close()

    code, body, _ = await api("GET", terminals_path(session))
    assert code == 200 and [t["name"] for t in body["terminals"]] == [terminal["name"]]
    code, config, _ = await api("GET", "api/terminal/config")
    assert config["available"] is True
    assert config["websocket_url"].endswith("terminals/websocket/{name}")


async def test_output_is_kept_after_the_terminal_and_the_server_are_gone(
    api, session, jp_ws_fetch, lawless_app, tmp_path
):
    terminal = await open_terminal(api, session)
    ws = await jp_ws_fetch("terminals", "websocket", terminal["name"])
    await run(ws, "echo remembered-$((6*7))", "remembered-42")
    await run(ws, "exit", "exit")
    ws.close()
    path = terminals_path(session, f"/{terminal['name']}/output")
    for _ in range(100):  # the terminal's end is noticed and its last output stored
        code, body, _ = await api("GET", path)
        if not body["running"]:
            break
        await asyncio.sleep(0.1)
    assert code == 200 and body["running"] is False
    assert "remembered-42" in body["output"]
    # after a restart the process is gone; the output is read from the database
    await lawless_app.stop_extension()
    store = Store(lawless_app.store.path)
    await store.open()
    rows = await store.list_terminals(session["id"])
    assert rows[0]["closed_at"] is not None
    assert "remembered-42" in await store.terminal_output(rows[0]["id"])
    await store.close()
    lawless_app.initialize_settings()
    await lawless_app.ready()
    code, body, _ = await api("GET", path)
    assert code == 200 and "remembered-42" in body["output"] and body["running"] is False


@pytest.mark.parametrize("lawless_config", [{"max_terminals_per_user": 2}])
async def test_terminal_quota(api, session):
    first = await open_terminal(api, session)
    await open_terminal(api, session)
    code, body, response = await api("POST", terminals_path(session))
    assert code == 429 and body["limit"] == 2 and body["remaining"] == 0
    assert response.headers["Retry-After"] == str(body["retryAfter"])
    code, _, _ = await api("DELETE", terminals_path(session, f"/{first['name']}"))
    assert code == 200
    await open_terminal(api, session)


async def test_deleting_a_session_closes_its_terminals(api, session, jp_serverapp):
    terminal = await open_terminal(api, session)
    manager = jp_serverapp.web_app.settings["terminal_manager"]
    assert terminal["name"] in manager.terminals
    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 200, body
    assert terminal["name"] not in manager.terminals
    code, _, _ = await api("POST", terminals_path(session))
    assert code == 404


async def test_unknown_sessions_and_terminals(api, session, repo):
    code, _, _ = await api("GET", terminals_path(session, "/99/output"))
    assert code == 404
    code, _, _ = await api("DELETE", terminals_path(session, "/99"))
    assert code == 404
    other = {"id": "00000000-0000-4000-8000-000000000000"}
    code, _, _ = await api("POST", terminals_path(other))
    assert code == 404
    code, _, _ = await api("GET", terminals_path(other))
    assert code == 404


async def test_no_terminal_in_a_vanished_worktree(api, session):
    import shutil

    shutil.rmtree(session["worktree_path"])
    code, body, _ = await api("POST", terminals_path(session))
    assert code == 400 and "worktree is gone" in body["error"]


@pytest.mark.parametrize("lawless_config", [{"terminal_output_cap_bytes": 200_000}])
async def test_a_flood_of_output_keeps_the_server_responsive_and_the_store_capped(
    api, session, jp_ws_fetch, lawless_app
):
    terminal = await open_terminal(api, session)
    ws = await jp_ws_fetch("terminals", "websocket", terminal["name"])
    # 50 MB of output, then a marker (computed, so the echoed command does not match)
    command = "head -c 50000000 /dev/zero | tr '\\0' 'y'; echo; echo FLOOD-$((40+2))"
    reading = asyncio.ensure_future(run(ws, command, "FLOOD-42", timeout=120))
    answered = 0
    while not reading.done():
        code, _, _ = await asyncio.wait_for(api("GET", "health"), 10)
        assert code == 200
        answered += 1
        await asyncio.sleep(0.05)
    await reading
    ws.close()
    assert answered > 1, "the server answered while the terminal was flooding"
    await asyncio.sleep(1.5)  # the last batch is written
    code, body, _ = await api("GET", terminals_path(session, f"/{terminal['name']}/output"))
    assert code == 200
    assert len(body["output"].encode()) <= 200_000
    assert body["truncated"] is True and body["dropped_bytes"] > 0
    assert "FLOOD-42" in body["output"], "the newest output is the one kept"
    assert Path(lawless_app.store.path).stat().st_size < 20_000_000


@pytest.fixture
def jp_server_config(jp_server_config, request):
    if getattr(request, "param", None) == "terminals disabled":
        jp_server_config["ServerApp"]["terminals_enabled"] = False
    return jp_server_config


@pytest.mark.parametrize("jp_server_config", ["terminals disabled"], indirect=True)
async def test_no_session_terminals_when_jupyter_terminals_are_disabled(api, session):
    code, body, _ = await api("POST", terminals_path(session))
    assert code == 503 and "disabled" in body["error"]
    code, config, _ = await api("GET", "api/terminal/config")
    assert config["available"] is False


class NoTerminals(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return resource != "terminals"


async def test_a_user_without_terminal_rights_gets_none(api, session, jp_serverapp):
    jp_serverapp.web_app.settings["authorizer"] = NoTerminals(parent=jp_serverapp)
    code, body, _ = await api("POST", terminals_path(session))
    assert code == 403 and "terminals" in body["error"]
    assert jp_serverapp.web_app.settings["terminal_manager"].terminals == {}
