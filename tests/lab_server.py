"""A real `jupyter lab` with the built extension, and Debian's Chromium for Playwright:
shared by the browser tests (tests/test_ui.py) and the UI benchmark (benchmarks/bench_ui.py).
"""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .conftest import GIT_IDENTITY, git, make_repo
from .fake_anthropic import FakeAnthropic
from .servers import JupyterServer

CHROMIUM = "/usr/bin/chromium"
TOKEN = "lawless-ui-test-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# jupyter-collaboration's lab side: without its server extension they would still make
# every document a shared one (and fail to connect)
COLLABORATION_LABEXTENSIONS = ("@jupyter/docprovider-extension", "@jupyter/collaboration-extension")


def _collaboration(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Config sections that turn jupyter-collaboration on, its stores under ``tmp_path``."""
    stores = tmp_path / "collaboration"
    stores.mkdir(parents=True, exist_ok=True)
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "lawless_jupyter": True,
                "jupyter_server_ydoc": True,
                "jupyter_server_fileid": True,
            }
        },
        "BaseFileIdManager": {"db_path": str(stores / "file_id.db")},
        "SQLiteYStore": {"db_path": str(stores / "ystore.db")},
        "YDocExtension": {"session_store_path": str(stores / "sessions.json")},
    }


class Lab:
    def __init__(self, url: str, root: Path):
        self.url, self.root = url, root

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}lawless/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")


@contextlib.contextmanager
def running_lab(
    tmp_path: Path,
    fake: FakeAnthropic,
    lawless: dict[str, Any] | None = None,
    *,
    collaboration: bool = False,
) -> Iterator[Lab]:
    """`jupyter lab` on a free port, its root holding the git repository `project`, Claude
    Code pointed at ``fake``; ``lawless`` adds LawlessApp settings. ``collaboration``: with
    jupyter-collaboration (every document a shared one); without it (the default) the lab
    is as if it were not installed."""
    labextension = Path(sys.prefix) / "share/jupyter/labextensions/lawless-jupyter/package.json"
    assert labextension.exists(), (
        "the lab extension is not installed: run `make test` (pip install -e . builds it)"
    )
    root = tmp_path / "root"
    repo = make_repo(root / "project", {"README.md": "# demo\n", "src/app.py": "x = 1\n"})
    git(repo, "config", "user.name", "Test Person")
    git(repo, "config", "user.email", "test@example.com")
    server = JupyterServer(
        root,
        tmp_path,
        app=["-m", "jupyterlab"],
        cwd=root,
        config_dir=tmp_path / "jupyter-config",
        token=TOKEN,
        env={**GIT_IDENTITY, "SHELL": "/bin/bash"},
        config={
            "LabApp": {
                "workspaces_dir": str(tmp_path / "workspaces"),
                "extension_manager": "readonly",
                "news_url": None,
            },
            **(_collaboration(tmp_path) if collaboration else {}),
        },
        lawless={
            "db_path": str(tmp_path / "state" / "lawless.db"),
            "claude_env": fake.env(
                CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),
                CLAUDE_CODE_TMPDIR=str(tmp_path / "claude-tmp"),
            ),
            "claude_max_retries": 0,
            "vault_key_file": str(tmp_path / "state" / "vault.key"),  # not in the home
            **(lawless or {}),
        },
    )
    # no "Jupyter news?" question in the screenshots
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)
    disabled = {"@jupyterlab/apputils-extension:announcements": True}
    if not collaboration:
        disabled.update(dict.fromkeys(COLLABORATION_LABEXTENSIONS, True))
    (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    server.start(timeout=90)
    try:
        yield Lab(server.url, root)
    finally:
        server.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless (Playwright's own browser builds cannot be fetched)."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: the UI test needs Debian's Chromium "
            "(`apt-get install -y chromium`, which .ci/run does)."
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
