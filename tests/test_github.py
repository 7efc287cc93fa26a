"""GitHub: the OAuth web and device flows, status and disconnect, repositories, clone, push
and pull requests, against a fake GitHub that serves real git over HTTP."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from lawless_jupyter.vault import new_key_entry

from .conftest import git, make_repo, write_db
from .fake_github import FakeGitHub

HUB_ENV = "LAWLESS_TEST_HUB_GITHUB_TOKEN"


@pytest.fixture
def github(tmp_path, monkeypatch):
    monkeypatch.delenv(HUB_ENV, raising=False)
    with FakeGitHub(tmp_path / "github-git") as fake:
        yield fake


@pytest.fixture
def lawless_config(github) -> dict[str, Any]:
    return {
        "github_url": github.url,
        "github_api_url": github.api_url,
        "github_client_id": github.client_id,
        "github_client_secret": github.client_secret,
        "github_token_env": HUB_ENV,
        "vault_keys": new_key_entry("k1"),
    }


def db_rows(app, sql: str) -> list[tuple]:
    with sqlite3.connect(app.store.path) as conn:
        return conn.execute(sql).fetchall()


async def db_execute(app, sql: str, params: tuple = ()) -> None:
    await write_db(app.store.path, sql, params)


async def start_web_flow(api) -> tuple[str, dict[str, str]]:
    """GET api/auth/github -> GitHub's authorize URL (and its query)."""
    code, _, response = await api("GET", "api/auth/github", follow_redirects=False)
    assert code == 302
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def approve_at_github(authorize_url: str) -> dict[str, str]:
    """The browser at GitHub: it approves and is sent back with code and state."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}


async def callback(api, params: dict[str, str]):
    return await api("GET", "api/auth/github/callback", params=params, follow_redirects=False)


async def connect(api) -> None:
    authorize, _ = await start_web_flow(api)
    code, body, _ = await callback(api, approve_at_github(authorize))
    assert code == 302, body


def github_status(body: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in body["providers"] if p["provider"] == "github")


# -- the web flow ---------------------------------------------------------------------------


async def test_web_flow_connects_and_status_says_as_whom(api, github, lawless_app, jp_base_url):
    code, body, _ = await api("GET", "api/auth/status")
    assert code == 200 and github_status(body)["connected"] is False

    authorize, query = await start_web_flow(api)
    assert authorize.startswith(f"{github.url}/login/oauth/authorize?")
    assert query["client_id"] == github.client_id
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"].endswith(f"{jp_base_url}lawless/api/auth/github/callback")
    assert len(query["state"]) >= 32

    code, body, response = await callback(api, approve_at_github(authorize))
    assert code == 302, body
    assert response.headers["Location"] == f"{jp_base_url}lab"  # back into JupyterLab

    code, body, _ = await api("GET", "api/auth/status")
    status = github_status(body)
    assert status["connected"] and status["account"] == "octocat" and status["source"] == "oauth"
    [token] = github.tokens
    assert token not in str(body)
    # stored sealed: the database holds the account, never the token
    [(account, secret, key_id)] = db_rows(
        lawless_app, "SELECT account, secret, key_id FROM integrations"
    )
    assert account == "octocat" and key_id == "k1" and token not in secret
    assert db_rows(lawless_app, "SELECT COUNT(*) FROM oauth_flows") == [(0,)]  # state used up


async def test_next_must_be_a_path_of_this_server(api, lawless_app):
    for bad in ("https://evil.example/", "//evil.example/lab", "/elsewhere"):
        code, body, _ = await api("GET", "api/auth/github", params={"next": bad})
        assert "path of this Jupyter server" in body["error"]
        assert code == 400, bad
    assert db_rows(lawless_app, "SELECT COUNT(*) FROM oauth_flows") == [(0,)]


async def test_a_forged_replayed_expired_or_foreign_state_is_refused_and_stores_nothing(
    api, github, lawless_app
):
    authorize, _ = await start_web_flow(api)
    returned = approve_at_github(authorize)

    # forged: a state this server never gave out
    code, body, _ = await callback(api, {**returned, "state": "forged-" + returned["state"]})
    assert code == 400 and "not valid any more" in body["error"]
    # the sign-in popup (a browser) is told in a page, not in JSON
    response = await api.fetch(
        "lawless",
        "api",
        "auth",
        "github",
        "callback",
        params={**returned, "state": "<b>forged</b>"},
        headers={"Accept": "text/html,application/xhtml+xml"},
        raise_error=False,
    )
    page = response.body.decode()
    assert response.code == 400 and response.headers["Content-Type"].startswith("text/html")
    assert "GitHub was not connected" in page and "<b>forged" not in page

    # expired
    await db_execute(lawless_app, "UPDATE oauth_flows SET expires_at = 1")
    code, body, _ = await callback(api, returned)
    assert code == 400
    # and once refused it is used up: a fresh code with it fails too
    code, body, _ = await callback(api, {**returned, "code": "whatever"})
    assert code == 400

    # someone else's state, although GitHub approved it
    url = await lawless_app.connections.begin_web_flow(
        "mallory", "http://x/lawless/api/auth/github/callback", "/lab"
    )
    foreign = parse_qs(urlparse(url).query)["state"][0]
    code, body, _ = await callback(api, {"code": "abc", "state": foreign})
    assert code == 400

    # the code of one flow with the state of another: the PKCE verifier does not match
    first, _ = await start_web_flow(api)
    second, _ = await start_web_flow(api)
    code_first = approve_at_github(first)["code"]
    state_second = approve_at_github(second)["state"]
    code, body, _ = await callback(api, {"code": code_first, "state": state_second})
    assert code == 400 and "refused the authorization" in body["error"]

    # the person declines at GitHub
    github.deny_next = True
    denied_url, _ = await start_web_flow(api)
    code, body, _ = await callback(api, approve_at_github(denied_url))
    assert code == 400 and "did not authorize" in body["error"]

    # a replay of a state that worked
    ok_url, _ = await start_web_flow(api)
    ok = approve_at_github(ok_url)
    assert (await callback(api, ok))[0] == 302
    await db_execute(lawless_app, "DELETE FROM integrations")
    code, body, _ = await callback(api, ok)
    assert code == 400
    assert db_rows(lawless_app, "SELECT COUNT(*) FROM integrations") == [(0,)]


@pytest.mark.parametrize("lawless_config", [{"github_client_id": ""}])
async def test_without_an_oauth_app_the_flows_say_what_to_configure(api):
    for method, path in (("GET", "api/auth/github"), ("POST", "api/auth/github/device")):
        code, body, _ = await api(method, path)
        assert code == 409 and "github_client_id" in body["error"]
    _, status, _ = await api("GET", "api/auth/status")
    assert status["github"]["oauth_configured"] is False


# -- the device flow ------------------------------------------------------------------------


async def test_device_flow_pending_slow_down_then_connected(api, github):
    github.device_interval = 0.3
    github.slow_down_step = 0.4
    code, started, _ = await api("POST", "api/auth/github/device")
    assert code == 201, started
    assert started["verification_uri"] == f"{github.url}/login/device"
    assert started["interval"] == 0.3 and "device_code" not in started

    poll = {"device_id": started["device_id"]}
    await asyncio.sleep(0.35)
    code, body, _ = await api("POST", "api/auth/github/device/poll", poll)
    assert code == 200 and body == {"status": "pending", "interval": 0.3}
    code, body, _ = await api("POST", "api/auth/github/device/poll", poll)  # too soon
    assert body["status"] == "pending" and body["interval"] == pytest.approx(0.7)

    github.approve_device(started["user_code"])
    await asyncio.sleep(0.75)
    code, body, _ = await api("POST", "api/auth/github/device/poll", poll)
    assert code == 200 and body["status"] == "connected" and body["account"] == "octocat"
    _, status, _ = await api("GET", "api/auth/status")
    assert github_status(status)["connected"]
    code, body, _ = await api("POST", "api/auth/github/device/poll", poll)
    assert code == 404  # finished: the device id is used up


async def test_device_flow_expired_and_unknown(api, github, lawless_app):
    github.device_interval = 0
    _, started, _ = await api("POST", "api/auth/github/device")
    github.expire_device(started["user_code"])
    code, body, _ = await api(
        "POST", "api/auth/github/device/poll", {"device_id": started["device_id"]}
    )
    assert code == 200 and body["status"] == "expired"
    code, body, _ = await api("POST", "api/auth/github/device/poll", {"device_id": "nope"})
    assert code == 404
    code, body, _ = await api("POST", "api/auth/github/device/poll", {})
    assert code == 400
    assert db_rows(lawless_app, "SELECT COUNT(*) FROM integrations") == [(0,)]


# -- status, disconnect, refresh, the hub's token -------------------------------------------


async def test_disconnect_erases_the_token(api, github, lawless_app):
    await connect(api)
    code, body, _ = await api("DELETE", "api/auth/github")
    assert code == 200 and body["disconnected"] is True
    assert db_rows(lawless_app, "SELECT COUNT(*) FROM integrations") == [(0,)]
    _, status, _ = await api("GET", "api/auth/status")
    assert not github_status(status)["connected"]
    code, body, _ = await api("GET", "api/integrations/github/repos")
    assert code == 409 and body["code"] == "not_connected"
    code, body, _ = await api("DELETE", "api/auth/github")
    assert code == 200 and body["disconnected"] is False


async def test_an_expiring_token_is_refreshed_before_use(api, github, lawless_app):
    github.expiring_tokens = True
    github.add_repo("octocat", "hello")
    await connect(api)
    [first] = list(github.tokens)
    [refresh] = list(github.refresh_tokens)
    [(expires_at,)] = db_rows(lawless_app, "SELECT expires_at FROM integrations")
    assert expires_at > time.time() + 3600
    await db_execute(lawless_app, "UPDATE integrations SET expires_at = ?", (time.time() + 30,))
    code, body, _ = await api("GET", "api/integrations/github/repos")
    assert code == 200 and [r["full_name"] for r in body["repos"]] == ["octocat/hello"]
    assert refresh not in github.refresh_tokens  # it was used
    assert len(github.tokens) == 2
    [(expires_at,)] = db_rows(lawless_app, "SELECT expires_at FROM integrations")
    assert expires_at > time.time() + 3600
    del github.tokens[first]  # the old token is not used any more
    assert (await api("GET", "api/integrations/github/repos"))[0] == 200


async def test_the_hubs_token_is_used_when_present(api, github, monkeypatch):
    github.add_repo("octocat", "hello")
    monkeypatch.setenv(HUB_ENV, github.issue_token())
    _, status, _ = await api("GET", "api/auth/status")
    assert github_status(status) | {"connected": True, "source": "hub", "account": "octocat"} == (
        github_status(status)
    )
    code, body, _ = await api("GET", "api/integrations/github/repos")
    assert code == 200 and body["repos"][0]["full_name"] == "octocat/hello"


# -- repositories ----------------------------------------------------------------------------


async def test_repositories_are_paginated_by_githubs_link_header(api, github):
    for i in range(5):
        github.add_repo("octocat", f"repo{i}")
    github.add_repo("someone-else", "theirs")
    await connect(api)
    names, page = [], 1
    while page is not None:
        code, body, _ = await api(
            "GET", "api/integrations/github/repos", params={"page": str(page), "per_page": "2"}
        )
        assert code == 200, body
        names += [r["full_name"] for r in body["repos"]]
        page = body["next_page"]
    assert names == [f"octocat/repo{i}" for i in range(5)]
    code, body, _ = await api("GET", "api/integrations/github/repos", params={"per_page": "500"})
    assert code == 400


@pytest.mark.parametrize(
    "status, expected, code_name, words",
    [
        (401, 401, "upstream_unauthorized", "connect GitHub again"),
        (403, 429, "upstream_rate_limited", "rate limit"),
        (404, 404, "not_found", "Not Found"),
        (500, 502, "upstream_error", "HTTP 500"),
    ],
)
async def test_github_api_errors_come_back_clear(api, github, status, expected, code_name, words):
    await connect(api)
    github.fail_next(status, {"message": "Server Error"} if status == 500 else None)
    code, body, response = await api("GET", "api/integrations/github/repos")
    assert code == expected, body
    assert body["code"] == code_name and words in body["error"]
    if expected == 429:
        assert body["reset"] > time.time() and int(response.headers["Retry-After"]) > 0


# -- clone, push, pull request ---------------------------------------------------------------


def all_git_configs(*roots: Path) -> list[Path]:
    return [
        p
        for root in roots
        for p in root.rglob("config")
        if p.parent.name in (".git", "")
        or p.parent.suffix == ".git"
        or p.parent.name.endswith(".git")
    ]


async def test_clone_push_and_pull_request(api, github, jp_root_dir, tmp_path):
    source = make_repo(tmp_path / "src-hello", {"README.md": "# hello\n"})
    bare = github.add_repo("octocat", "hello", source)
    code, body, _ = await api(
        "POST", "api/integrations/github/clone", {"full_name": "octocat/hello"}
    )
    assert code == 409 and body["code"] == "not_connected"  # not connected yet
    await connect(api)
    [token] = github.tokens

    code, body, _ = await api(
        "POST",
        "api/integrations/github/clone",
        {"full_name": "octocat/hello", "path": "work/hello"},
    )
    assert code == 201, body
    assert body == {"repo": "work/hello", "full_name": "octocat/hello"}
    clone = jp_root_dir / "work" / "hello"
    assert (clone / "README.md").read_text() == "# hello\n"
    config = (clone / ".git" / "config").read_text()
    assert token not in config and "extraheader" not in config.lower()
    assert git(clone, "remote", "get-url", "origin").strip() == f"{github.url}/octocat/hello.git"

    code, body, _ = await api(
        "POST",
        "api/integrations/github/clone",
        {"full_name": "octocat/hello", "path": "work/hello"},
    )
    assert code == 409  # the folder is there
    code, body, _ = await api(
        "POST", "api/integrations/github/clone", {"clone_url": "https://evil.example/o/r.git"}
    )
    assert code == 400  # the token only ever goes to the GitHub host
    code, body, _ = await api(
        "POST", "api/integrations/github/clone", {"full_name": "octocat/hello", "path": "../out"}
    )
    assert code == 400

    session = await api.create("work/hello")
    sid = session["id"]
    Path(session["worktree_path"], "feature.txt").write_text("new\n")
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "Add feature"}
    )
    assert code == 201, body
    code, body, _ = await api("POST", f"api/workspace/sessions/{sid}/git/push")
    assert code == 200, body
    assert (
        body["push"]["branch"] == session["branch"] and body["push"]["full_name"] == "octocat/hello"
    )
    remote_head = git(bare, "rev-parse", f"refs/heads/{session['branch']}").strip()
    assert remote_head == body["push"]["head"]

    code, body, _ = await api(
        "POST",
        f"api/workspace/sessions/{sid}/git/pull-request",
        {"title": "Add feature", "body": "Made in a session."},
    )
    assert code == 201, body
    assert body["pull_request"]["url"] == f"{github.url}/octocat/hello/pull/1"
    assert github.pulls[0] | {"head": session["branch"], "base": "main"} == github.pulls[0]

    # GitHub's 422 (a pull request for that branch exists) comes back with its message
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{sid}/git/pull-request", {"title": "Again"}
    )
    assert code == 422 and "A pull request already exists" in body["error"]
    code, body, _ = await api("POST", f"api/workspace/sessions/{sid}/git/pull-request", {})
    assert code == 400

    for path in all_git_configs(jp_root_dir, github.git_root):
        assert token not in path.read_text(), path


async def test_push_needs_a_github_origin_and_valid_credentials(api, github, repo, tmp_path):
    await connect(api)
    session = await api.create()
    code, body, _ = await api("POST", f"api/workspace/sessions/{session['id']}/git/push")
    assert code == 409 and "origin" in body["error"]  # a local repository without origin

    source = make_repo(tmp_path / "src", {"a.txt": "a\n"})
    github.add_repo("octocat", "r", source)
    code, body, _ = await api("POST", "api/integrations/github/clone", {"full_name": "octocat/r"})
    assert code == 201, body
    session = await api.create("r")
    github.revoke_all()
    code, body, _ = await api("POST", f"api/workspace/sessions/{session['id']}/git/push")
    assert code == 401 and body["code"] == "upstream_unauthorized"
