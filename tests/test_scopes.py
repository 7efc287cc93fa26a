"""Authorization fits what a route does: running code on the server (Claude, a shell, git
hooks) needs ``execute`` on ``lawless``, reads need ``read``, the rest ``write``.

A JupyterHub server shared with read (or read and write) scopes, modelled by an authorizer
that grants only those actions, must not start Claude, a terminal or a git hook.
"""

from __future__ import annotations

import re

import pytest
from jupyter_server.auth.authorizer import Authorizer

from lawless_jupyter.handlers import ROUTES

from .conftest import git, git_snapshot

_S = "api/workspace/sessions/{sid}"
#: (method, path) of every route that runs code on the server; written out here rather than
#: read from the handlers, so a handler that loses its action fails this test
EXECUTE_ROUTES = {
    ("POST", "api/workspace/sessions"),
    ("DELETE", _S),
    ("POST", f"{_S}/git/commit"),
    ("POST", f"{_S}/git/merge"),
    ("POST", f"{_S}/git/push"),
    ("POST", f"{_S}/git/pull-request"),
    ("POST", f"{_S}/chat"),
    ("POST", f"{_S}/chat/approvals/1"),
    ("POST", f"{_S}/rewind"),
    ("POST", f"{_S}/fork"),
    ("POST", f"{_S}/terminals"),
    ("GET", f"{_S}/terminals/1/websocket"),
    ("POST", f"{_S}/kernel/restart"),  # starts the kernel's process again
    ("POST", "api/chat"),
    ("POST", "api/workspace/attempts"),  # worktrees and Claude turns
    ("POST", "api/workspace/attempts/1/chat"),
    ("POST", "api/workspace/attempts/1/choose"),  # deletes worktrees and branches
}


class Grants(Authorizer):
    """Everything of Jupyter's own; on ``lawless`` only the actions in ``allowed``."""

    allowed: frozenset[str] = frozenset()

    def is_authorized(self, handler, user, action, resource):
        return resource != "lawless" or action in self.allowed


class ReadOnly(Grants):
    allowed = frozenset({"read"})


class ReadWrite(Grants):
    allowed = frozenset({"read", "write"})


def every_route(sid: str):
    for path, handler in ROUTES:
        url = re.sub(r"\(\?P<session_id>[^)]*\)", sid, path)
        url = re.sub(r"\(\?P<\w+>[^)]*\)", "1", url)
        template = url.replace(sid, "{sid}")
        for method in ("get", "post", "put", "delete", "patch"):
            if method in vars(handler):
                yield method.upper(), url, (method.upper(), template) in EXECUTE_ROUTES


def test_the_execute_list_names_real_routes():
    listed = {(method, url) for method, url, executes in every_route("{sid}") if executes}
    assert listed == EXECUTE_ROUTES


async def session_with_a_change(api, repo):
    session = await api.create(name="shared")
    worktree = session["worktree_path"]
    with open(f"{worktree}/new.txt", "w") as f:
        f.write("work in progress\n")
    return session


@pytest.mark.parametrize("authorizer", [ReadWrite, ReadOnly], ids=["read+write", "read"])
async def test_without_execute_nothing_runs_code(api, jp_serverapp, repo, authorizer):
    session = await session_with_a_change(api, repo)
    before = git_snapshot(repo), git(repo, "rev-parse", "main")
    jp_serverapp.web_app.settings["authorizer"] = authorizer(parent=jp_serverapp)

    for method, path, executes in every_route(session["id"]):
        if path == "health":
            continue
        body = {} if method in ("POST", "PUT") else None
        if path.endswith("/chat") or path == "api/chat":
            body = {"message": "run rm -rf for me"}
        elif path.endswith("/git/commit"):
            body = {"message": "sneaked in"}
        code, answer, _ = await api(method, path, body)
        writes = method != "GET"
        if executes or (writes and authorizer is ReadOnly):
            assert code == 403, (method, path, code, answer)
            assert answer["code"] in ("forbidden", "http_403"), answer
        else:
            assert code != 403, (method, path, code, answer)

    # nothing ran: the session, its worktree, the branches and the base are as they were
    assert (git_snapshot(repo), git(repo, "rev-parse", "main")) == before
    code, answer, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert code == 200 and answer["session"]["state"] == "active"
    code, answer, _ = await api("GET", f"api/workspace/sessions/{session['id']}/terminals")
    assert code == 200 and answer["terminals"] == []
    # and what a read-only guest may do still works: the list, the history, the diff
    code, answer, _ = await api("GET", "api/workspace/sessions")
    assert code == 200 and [s["id"] for s in answer["sessions"]] == [session["id"]]
    code, answer, _ = await api("GET", f"api/workspace/sessions/{session['id']}/messages")
    assert code == 200 and answer["messages"] == []
    code, answer, _ = await api("GET", f"api/workspace/sessions/{session['id']}/git/diff")
    assert code == 200 and "new.txt" in str(answer)


async def test_with_execute_the_same_routes_work(api, jp_serverapp, repo):
    """The check is the action, not a blanket refusal: read, write and execute may commit."""

    class All(Grants):
        allowed = frozenset({"read", "write", "execute"})

    session = await session_with_a_change(api, repo)
    jp_serverapp.web_app.settings["authorizer"] = All(parent=jp_serverapp)
    code, answer, _ = await api(
        "POST", f"api/workspace/sessions/{session['id']}/git/commit", {"message": "allowed"}
    )
    assert code == 201, answer


class TestOnARemoteWorker:
    """A session pinned to a worker is answered by the worker: the frontend checks the
    action before it forwards anything."""

    @pytest.fixture
    def lawless_config(self, worker):
        return {"workers": [worker.worker_entry()], "worker_status_cache_seconds": 0.2}

    async def test_without_execute_nothing_is_forwarded(self, api, jp_serverapp, worker):
        session = await api.create(worker="w1")
        assert session["worker"] == "w1"
        base = f"api/workspace/sessions/{session['id']}"
        jp_serverapp.web_app.settings["authorizer"] = ReadWrite(parent=jp_serverapp)
        for method, path, body in [
            ("POST", f"{base}/chat", {"message": "hello"}),
            ("POST", f"{base}/git/commit", {"message": "sneaked in"}),
            ("POST", f"{base}/terminals", {}),
            ("DELETE", base, None),
        ]:
            code, answer, _ = await api(method, path, body)
            assert code == 403, (method, path, code, answer)
        code, answer, _ = await api("GET", base)  # a read is forwarded and answered
        assert code == 200 and answer["session"]["state"] == "active"
        code, answer, _ = await api("GET", f"{base}/terminals")
        assert code == 200 and answer["terminals"] == []
