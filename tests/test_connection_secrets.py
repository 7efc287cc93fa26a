"""No token anywhere it must not be: after full GitHub and Vercel flows (connect, refresh,
clone, push, pull request, errors, disconnect), the tokens are in no log line, no response
body, no byte of the SQLite files and no ``.git/config``; and every answer matches the
OpenAPI spec."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from lawless_jupyter.vault import new_key_entry

from .conftest import make_repo, write_db
from .fake_github import FakeGitHub
from .fake_vercel import FakeVercel
from .test_github import HUB_ENV, approve_at_github
from .test_openapi import SpecChecker, spec  # noqa: F401  (the spec fixture)

VERCEL_TOKEN = "vercel_secret_token_0123456789"
SESSION = "/api/workspace/sessions/{session_id}"


@pytest.fixture
def github(tmp_path, monkeypatch):
    monkeypatch.delenv(HUB_ENV, raising=False)
    with FakeGitHub(tmp_path / "github-git", expiring_tokens=True, device_interval=0) as fake:
        yield fake


@pytest.fixture
def vercel():
    fake = FakeVercel(tokens={VERCEL_TOKEN: "ada"}).start()
    yield fake
    fake.stop()


@pytest.fixture
def lawless_config(github, vercel) -> dict[str, Any]:
    return {
        "github_url": github.url,
        "github_api_url": github.api_url,
        "github_client_id": github.client_id,
        "github_client_secret": github.client_secret,
        "github_token_env": HUB_ENV,
        "vercel_api_url": vercel.url,
        "vault_keys": new_key_entry("k1"),
    }


async def test_no_token_leaks_and_answers_match_the_spec(
    capfd,
    api,
    github,
    vercel,
    lawless_app,
    jp_root_dir,
    tmp_path,
    caplog,
    spec,  # noqa: F811
):
    caplog.set_level(logging.DEBUG)
    checker = SpecChecker(spec)
    bodies: list[str] = []
    issued: set[str] = set()  # every GitHub token the fake handed out

    def remember_tokens() -> None:
        issued.update(github.tokens)
        issued.update(github.refresh_tokens)

    async def call(method, template, expected, body=None, params=None, sid="", **kw):
        path = template.format(session_id=sid, provider="github").removeprefix("/")
        if expected < 400 and body is not None:
            checker.request(template, method, body, params or {})
        code, data, response = await api(method, path, body, params=params, **kw)
        assert code == expected, (method, path, data)
        bodies.append(response.body.decode() if response.body else "")
        if code not in (302,):
            checker.response(template, method, code, data, response.headers)
        remember_tokens()
        return data, response

    # connect with the web flow
    _, response = await call("GET", "/api/auth/{provider}", 302, follow_redirects=False)
    returned = approve_at_github(response.headers["Location"])
    await call("GET", "/api/auth/github/callback", 302, params=returned, follow_redirects=False)
    await call("GET", "/api/auth/status", 200)

    # a device flow too (it replaces the connection)
    started, _ = await call("POST", "/api/auth/github/device", 201)
    github.approve_device(started["user_code"])
    polled, _ = await call(
        "POST", "/api/auth/github/device/poll", 200, {"device_id": started["device_id"]}
    )
    assert polled["status"] == "connected"

    # refresh before use, repositories, clone, push, pull request
    await write_db(
        lawless_app.store.path, "UPDATE integrations SET expires_at = ?", (time.time() + 5,)
    )
    github.add_repo("octocat", "hello", make_repo(tmp_path / "src", {"a.txt": "a\n"}))
    repos, _ = await call("GET", "/api/integrations/github/repos", 200, params={"per_page": "10"})
    assert repos["repos"][0]["full_name"] == "octocat/hello"
    await call("POST", "/api/integrations/github/clone", 201, {"full_name": "octocat/hello"})
    session = await api.create("hello")
    sid = session["id"]
    Path(session["worktree_path"], "b.txt").write_text("b\n")
    await call("POST", f"{SESSION}/git/commit", 201, {"message": "b"}, sid=sid)
    await call("POST", f"{SESSION}/git/push", 200, sid=sid)
    pull, _ = await call(
        "POST", f"{SESSION}/git/pull-request", 201, {"title": "B", "body": "b"}, sid=sid
    )
    assert pull["pull_request"]["number"] == 1
    await call("POST", f"{SESSION}/git/pull-request", 422, {"title": "B"}, sid=sid)

    # GitHub errors
    github.fail_next(403)
    await call("GET", "/api/integrations/github/repos", 429)
    github.fail_next(404)
    await call("GET", "/api/integrations/github/repos", 404)
    github.fail_next(401)
    await call("GET", "/api/integrations/github/repos", 401)

    # Vercel
    await call("PUT", "/api/integrations/vercel", 400, {"token": "not-" + VERCEL_TOKEN})
    await call("PUT", "/api/integrations/vercel", 200, {"token": VERCEL_TOKEN})
    await call("GET", "/api/integrations/vercel/projects", 200)
    await call("GET", "/api/integrations/vercel/deployments", 200)
    await call("GET", "/api/auth/status", 200)

    # every token a push could have used is revoked: the push fails with a clear error
    github.revoke_all()
    await call("POST", f"{SESSION}/git/push", 401, sid=sid)
    await call("DELETE", "/api/auth/{provider}", 200)
    await call("GET", "/api/integrations/github/repos", 409)

    secrets = {t for t in issued if t} | {VERCEL_TOKEN}
    assert len(secrets) >= 4  # web flow, device flow, refreshed access + refresh tokens, Vercel
    log = "\n".join(
        r.getMessage() for r in caplog.get_records("setup") + caplog.get_records("call")
    )
    places: dict[str, str] = {"server log": log, "response bodies": "\n".join(bodies)}
    for suffix in ("", "-wal", "-shm"):
        db = Path(str(lawless_app.store.path) + suffix)
        if db.exists():
            places[db.name] = db.read_bytes().decode("latin-1")
    configs = [p for p in (*jp_root_dir.rglob("config"), *github.git_root.rglob("config"))]
    assert any(p.parent.name == ".git" for p in configs)
    for config in configs:
        places[str(config)] = config.read_text(errors="replace")
    for place, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a token is in the {place}"
    assert "upstream_unauthorized" in places["response bodies"]  # the scan saw the errors
