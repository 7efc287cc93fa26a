"""Session worktrees stay out of the repository's own `git status` when the Jupyter root is
the repository itself (as after `make lab` in a project): issue #19."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from lawless_jupyter.store import Store
from lawless_jupyter.workspace import WorkspaceService, WorkspaceSettings
from lawless_jupyter.workspace.gitrepo import GitRepository

from .conftest import git, make_repo


async def open_service(root: Path, worktrees: Path, db: Path) -> WorkspaceService:
    store = Store(db)
    await store.open()
    return WorkspaceService(store, WorkspaceSettings(root_dir=root, worktrees_dir=worktrees))


async def test_the_root_as_the_repository_keeps_its_status(tmp_path, jp_asyncio_loop):
    repo = make_repo(tmp_path / "project", {"README.md": "# demo\n"})
    (repo / "notes.txt").write_text("mine, untracked\n")
    before = git(repo, "status", "--porcelain")
    service = await open_service(repo, repo / "lawless-worktrees", tmp_path / "lawless.db")
    first = await service.create("me", "", name="one")
    await service.create("me", "", name="two")
    assert Path(first["worktree_path"]).is_dir()
    assert git(repo, "status", "--porcelain") == before == "?? notes.txt\n"
    git(repo, "add", "-A")
    assert git(repo, "diff", "--cached", "--name-only") == "notes.txt\n", "no worktree added"
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert exclude.splitlines().count("/lawless-worktrees/") == 1, exclude
    # a merge's scratch checkout lives in the same folder: still nothing in the status
    git(repo, "reset", "--quiet")
    (Path(first["worktree_path"]) / "new.txt").write_text("x\n")
    git(Path(first["worktree_path"]), "add", "new.txt")
    git(Path(first["worktree_path"]), "commit", "--quiet", "-m", "new")
    assert git(repo, "status", "--porcelain") == "?? notes.txt\n"
    await service.store.close()


def test_the_exclude_line_is_added_once_in_the_common_git_dir(tmp_path):
    repo = make_repo(tmp_path / "project")
    info = repo / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "exclude").write_text("*.log")  # a person's own line, no final newline
    gitrepo = GitRepository(repo)
    assert gitrepo.exclude(repo / "deep" / "trees [a]")
    assert gitrepo.exclude(repo / "deep" / "trees [a]")
    text = (info / "exclude").read_text()
    assert text.startswith("*.log\n") and text.count("/deep/trees \\[a]/") == 1, text
    (repo / "deep" / "trees [a]").mkdir(parents=True)
    (repo / "deep" / "trees [a]" / "x").write_text("x")
    assert git(repo, "status", "--porcelain") == ""

    # a repository whose checkout is itself a linked worktree: the common dir's exclude
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "--quiet", "-b", "side", str(linked))
    assert GitRepository(linked).exclude(linked / "lawless-worktrees")
    assert "/lawless-worktrees/" in (info / "exclude").read_text().splitlines()
    (linked / "lawless-worktrees").mkdir()
    (linked / "lawless-worktrees" / "y").write_text("y")
    assert git(linked, "status", "--porcelain") == ""

    # the worktrees folder outside the repository (the usual root of many repositories)
    assert not gitrepo.exclude(tmp_path / "lawless-worktrees")
    assert not gitrepo.exclude(repo)


async def test_through_the_server_with_the_root_as_the_repository(jp_root_dir, api):
    """As after `make lab` in a project: the server's root is the repository itself."""
    repo = make_repo(jp_root_dir, {"README.md": "# mine\n"})
    before = git(repo, "status", "--porcelain")
    session = await api.create(repo="", name="first")
    assert Path(session["worktree_path"]).is_dir()
    assert Path(session["worktree_path"]).is_relative_to(repo / "lawless-worktrees")
    assert git(repo, "status", "--porcelain") == before


async def test_notebook_checkpoints_stay_out_of_changes_and_commit_all(jp_root_dir, api, jp_fetch):
    """Opening a notebook in a worktree makes Jupyter write `.ipynb_checkpoints/` beside it:
    not the person's work, so neither Changes nor "Commit all" shows or takes it."""
    make_repo(jp_root_dir / "project", {"README.md": "# demo\n"})
    session = await api.create(name="nb")
    worktree = Path(session["worktree_path"])
    rel = worktree.relative_to(jp_root_dir).as_posix()
    notebook = {"type": "notebook", "content": nbformat.v4.new_notebook()}
    # the contents API, as the lab does when a notebook is opened and saved
    for path in ("analysis.ipynb", "deep/more.ipynb"):
        (worktree / path).parent.mkdir(exist_ok=True)
        await jp_fetch("api", "contents", f"{rel}/{path}", method="PUT", body=json.dumps(notebook))
        await jp_fetch("api", "contents", f"{rel}/{path}", "checkpoints", method="POST", body="")
    assert (worktree / ".ipynb_checkpoints").is_dir()
    assert (worktree / "deep" / ".ipynb_checkpoints").is_dir()

    status_url = f"api/workspace/sessions/{session['id']}/git/status"
    code, status, _ = await api("GET", status_url)
    assert code == 200
    assert sorted(f["path"] for f in status["files"]) == ["analysis.ipynb", "deep/more.ipynb"]
    code, body, _ = await api(
        "POST", f"api/workspace/sessions/{session['id']}/git/commit", {"message": "notebooks"}
    )
    assert code == 201, body
    assert sorted(body["commit"]["files"]) == ["analysis.ipynb", "deep/more.ipynb"]
    exclude = (jp_root_dir / "project" / ".git" / "info" / "exclude").read_text()
    assert exclude.splitlines().count(".ipynb_checkpoints/") == 1, exclude
    await api.create(name="second")
    exclude = (jp_root_dir / "project" / ".git" / "info" / "exclude").read_text()
    assert exclude.splitlines().count(".ipynb_checkpoints/") == 1, "added once"
