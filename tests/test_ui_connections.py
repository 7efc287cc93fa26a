# ruff: noqa: F811  (the fixtures of test_ui are imported, then used as arguments)
"""The Connections section and the Push / Open pull request buttons in a real browser,
against the fake GitHub (real git over HTTP) and the fake Vercel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import git, make_repo
from .fake_github import FakeGitHub
from .fake_vercel import FakeVercel
from .test_ui import TOKEN, browser, lab, shots  # noqa: F401  (fixtures)

VERCEL_TOKEN = "vercel_ui_token_123456"


@pytest.fixture
def github(tmp_path):
    with FakeGitHub(tmp_path / "github-git", device_interval=1) as server:
        server.add_repo("octocat", "hello", make_repo(tmp_path / "src", {"a.txt": "a\n"}))
        yield server


@pytest.fixture
def vercel():
    server = FakeVercel(
        tokens={VERCEL_TOKEN: "ada"},
        projects=[{"id": "prj_1", "name": "site"}],
        deployments=[
            {
                "uid": "dpl_1",
                "name": "site",
                "url": "site-1.vercel.app",
                "readyState": "READY",
                "projectId": "prj_1",
                "created": 1,
            },
        ],
    ).start()
    yield server
    server.stop()


@pytest.fixture
def connections_config(tmp_path, github, vercel):
    """Server config the `lab` fixture's server also reads (its JUPYTER_CONFIG_DIR)."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "LawlessApp": {
            "github_url": github.url,
            "github_api_url": github.api_url,
            "github_client_id": github.client_id,
            "github_client_secret": github.client_secret,
            "github_token_env": "LAWLESS_UI_TEST_NO_HUB_TOKEN",
            "vercel_api_url": vercel.url,
            "vault_keys": "k1:" + "A" * 43 + "=",
        }
    }
    # `jupyter lab` reads its own config file name, the server the other
    for name in ("jupyter_lab_config.json", "jupyter_server_config.json"):
        (folder / name).write_text(json.dumps(config))


def test_connect_clone_push_and_open_a_pull_request(
    connections_config,
    github,
    vercel,
    lab,
    browser,
    shots,
):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        session = lab.api("POST", "api/workspace/sessions", {"repo": "project", "name": "first"})
        page.goto(f"{lab.url}lab?token={TOKEN}")
        page.set_default_timeout(60_000)
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
        panel = page.locator("#jp-lawless-panel")
        panel.get_by_role("button", name="Open session first (active)").click()
        panel.get_by_role("tab", name="Connections").click()

        # GitHub with the device flow: the code shows, is entered at GitHub, then connected
        github_section = panel.get_by_label("GitHub", exact=True)
        github_section.get_by_text("Not connected").wait_for()
        github_section.get_by_role("button", name="Connect with a code").click()
        code = github_section.locator("code").inner_text()
        assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", code)
        github.approve_device(code)
        github_section.get_by_text("Connected to GitHub as octocat.").wait_for()
        github_section.get_by_text("Connected as octocat").first.wait_for()

        # list repositories and clone one into the root
        github_section.get_by_role("button", name="List repositories").click()
        github_section.get_by_text("octocat/hello").wait_for()
        github_section.get_by_role("button", name="Clone").click()
        github_section.get_by_text("Cloned octocat/hello into hello.").wait_for()
        assert (lab.root / "hello" / "a.txt").read_text() == "a\n"

        # Vercel with a token: projects and deployments with their state
        vercel_section = panel.get_by_label("Vercel", exact=True)
        vercel_section.get_by_label("Vercel token").fill(VERCEL_TOKEN)
        vercel_section.get_by_role("button", name="Connect").click()
        vercel_section.get_by_text("Connected as ada").wait_for()
        vercel_section.get_by_text("Projects: site").wait_for()
        vercel_section.get_by_text("ready").wait_for()
        panel.get_by_label("Supabase").get_by_text("Off").wait_for()
        page.screenshot(path=shots / "connections.png")

        # a session of the clone: push its branch and open a pull request
        second = lab.api("POST", "api/workspace/sessions", {"repo": "hello", "name": "pr"})[
            "session"
        ]
        Path(second["worktree_path"], "b.txt").write_text("b\n")
        lab.api("POST", f"api/workspace/sessions/{second['id']}/git/commit", {"message": "Add b"})
        panel.get_by_role("button", name="Back to the list of sessions").click()
        panel.get_by_role("button", name="Open session pr (active)").click()
        panel.get_by_role("tab", name="Changes").click()
        panel.get_by_role("button", name="Push").click()
        panel.get_by_text(f"Pushed {second['branch']} to octocat/hello.").wait_for()
        bare = github.git_root / "octocat" / "hello.git"
        assert git(bare, "log", "-1", "--format=%s", second["branch"]).strip() == "Add b"
        panel.get_by_label("Pull request title").fill("Add b")
        panel.get_by_role("button", name="Open pull request").click()
        link = panel.get_by_role("link", name=f"{github.url}/octocat/hello/pull/1")
        link.wait_for()
        page.screenshot(path=shots / "pull-request.png")
        assert github.pulls[0]["title"] == "Add b"
        assert session["session"]["name"] == "first"
        assert not errors, errors
    except Exception:
        page.screenshot(path=shots / "connections-failure.png")
        raise
