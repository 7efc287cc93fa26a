"""A push and a pull request from a session on a remote worker: the frontend holds the
person's GitHub connection and sends the token with the proxied request; the worker, which
has no connection of its own, pushes with it. From anyone but a frontend the header is
ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from lawless_jupyter.vault import new_key_entry

from .conftest import git, make_repo
from .fake_github import FakeGitHub
from .test_github import connect
from .worker_server import WORKER_KEY, WorkerServer


@pytest.fixture
def github(tmp_path):
    with FakeGitHub(tmp_path / "github-git") as fake:
        yield fake


def github_settings(github: FakeGitHub) -> dict[str, Any]:
    return {
        "github_url": github.url,
        "github_api_url": github.api_url,
        "github_token_env": "",
        "vault_keys": new_key_entry("k1"),
    }


@pytest.fixture
def worker(tmp_path, github, monkeypatch):
    server = WorkerServer(tmp_path / "worker", lawless=github_settings(github))
    source = make_repo(tmp_path / "source", {"README.md": "# hello\n"})
    bare = github.add_repo("octocat", "hello", source)
    git(server.root, "clone", "--quiet", str(bare), "project")
    git(server.root / "project", "remote", "set-url", "origin", f"{github.url}/octocat/hello.git")
    monkeypatch.setenv("LAWLESS_TEST_WORKER_KEY", WORKER_KEY)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lawless_config(worker, github):
    return {
        **github_settings(github),
        "github_client_id": github.client_id,
        "github_client_secret": github.client_secret,
        "workers": [worker.worker_entry()],
        "worker_check_timeout": 2.0,
        "worker_status_cache_seconds": 0.2,
    }


async def test_a_remote_sessions_push_and_pull_request_use_the_frontends_connection(
    api, worker, github
):
    await connect(api)
    [token] = github.tokens
    session = await api.create(worker="w1")
    sid = session["id"]
    Path(session["worktree_path"], "feature.txt").write_text("new\n")
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "Add feature"}
    )
    assert code == 201, body

    # the worker alone, asked without a frontend: its header means nothing, it has no token
    direct = httpx.post(
        f"{worker.url}lawless/api/workspace/sessions/{sid}/git/push",
        headers={
            "Authorization": f"token {worker.token}",
            "X-Lawless-GitHub-Token": token,
        },
        json={},
    )
    assert direct.status_code == 404 or direct.json()["code"] == "not_connected", direct.text

    code, body, _ = await api("POST", f"api/workspace/sessions/{sid}/git/push")
    assert code == 200, body
    bare = github.git_root / "octocat" / "hello.git"
    assert git(bare, "rev-parse", f"refs/heads/{session['branch']}").strip() == body["push"]["head"]
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{sid}/git/pull-request", {"title": "From the worker"}
    )
    assert code == 201, body
    assert body["pull_request"]["url"] == f"{github.url}/octocat/hello/pull/1"
    # and the token never landed in the worker's clone
    assert token not in (worker.root / "project" / ".git" / "config").read_text()
