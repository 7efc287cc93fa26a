"""The README's promise: installed, the extension is enabled and configured like any other."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.requirements import Requirement

from .conftest import git, make_repo
from .servers import JupyterServer


def test_jupyter_lists_the_extension_enabled():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert "lawless_jupyter" in text and "enabled" in text.split("lawless_jupyter", 1)[1][:80]


def test_a_config_file_configures_a_real_server(tmp_path):
    root = tmp_path / "root"
    make_repo(root / "project")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.py").write_text(
        "c.LawlessApp.branch_prefix = 'from-config'\n"
        f"c.LawlessApp.db_path = {str(tmp_path / 'db' / 'lawless.db')!r}\n"
    )
    server = JupyterServer(
        root,
        tmp_path / "server",
        config_dir=config_dir,
        lawless={"db_path": None},  # from the config file
        # enabled by the install (jupyter-config/), not by this server's settings
        config={"ServerApp": {"jpserver_extensions": {}}},
    ).start()
    base = f"{server.url}lawless/"
    token = server.token
    try:
        request = urllib.request.Request(
            base + "api/workspace/sessions",
            data=json.dumps({"repo": "project"}).encode(),
            headers={"Authorization": f"token {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            session = json.load(response)["session"]
        assert session["branch"].startswith("from-config/")
        assert (
            git(Path(session["worktree_path"]), "branch", "--show-current").strip()
            == (session["branch"])
        )
        assert (tmp_path / "db" / "lawless.db").exists()
    finally:
        server.stop()


def test_real_time_collaboration_comes_only_with_its_extra():
    """The default install leaves the lab as it is (jupyter-collaboration makes every
    document a shared one); `pip install "lawless-jupyter[collaboration]"` brings it."""
    requirements = [Requirement(r) for r in importlib.metadata.requires("lawless_jupyter")]

    def installed(extra: str) -> set[str]:
        """What `pip install lawless-jupyter[extra]` brings ("": no extra)."""
        return {
            r.name.lower()
            for r in requirements
            if r.marker is None or r.marker.evaluate({"extra": extra})
        }

    assert not {"jupyter-collaboration", "jupyter-ydoc"} & installed("")
    assert {"jupyter-collaboration", "jupyter-ydoc"} <= installed("collaboration")
