"""GET git/file-versions: one changed file's old and new text, whole (real git, real
server), for the panel's side-by-side diff tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import git, git_snapshot, make_repo


@pytest.fixture
def repo(jp_root_dir) -> Path:
    return make_repo(
        jp_root_dir / "project",
        {"README.md": "# demo\n", "app.py": "x = 1\n", "gone.txt": "bye\n", "logo.bin": "A"},
    )


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="work"))


def url(session):
    return f"api/workspace/sessions/{session['id']}/git/file-versions"


async def test_modified_added_deleted_and_binary_files(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "app.py").write_text("x = 2\nprint(x)\n")
    (worktree / "new.py").write_text("y = 'é'\n")
    (worktree / "gone.txt").unlink()
    (worktree / "logo.bin").write_bytes(b"\x89PNG\0\0data")

    code_, body, _ = await api("GET", url(session), params={"path": "app.py"})
    assert code_ == 200, body
    assert body["commit"] == git(worktree, "rev-parse", "HEAD").strip()
    assert (body["status"], body["old"], body["new"], body["binary"]) == (
        "modified",
        "x = 1\n",
        "x = 2\nprint(x)\n",
        False,
    )
    _, body, _ = await api("GET", url(session), params={"path": "new.py"})
    assert (body["status"], body["old"], body["new"]) == ("added", None, "y = 'é'\n")
    _, body, _ = await api("GET", url(session), params={"path": "gone.txt"})
    assert (body["status"], body["old"], body["new"]) == ("deleted", "bye\n", None)
    _, body, _ = await api("GET", url(session), params={"path": "logo.bin"})
    assert (body["binary"], body["old"], body["new"]) == (True, None, None)


async def test_against_head_sees_only_uncommitted_changes(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "app.py").write_text("x = 2\n")
    git(worktree, "commit", "-qam", "two")
    (worktree / "app.py").write_text("x = 3\n")
    code_, body, _ = await api("GET", url(session), params={"path": "app.py", "against": "head"})
    assert code_ == 200, body
    assert (body["against"], body["old"], body["new"]) == ("head", "x = 2\n", "x = 3\n")
    _, body, _ = await api("GET", url(session), params={"path": "app.py"})
    assert (body["old"], body["new"]) == ("x = 1\n", "x = 3\n")


async def test_bad_input_is_a_clear_4xx_and_changes_nothing(api, session, repo, lawless_app):
    worktree = Path(session["worktree_path"])
    (Path(repo).parent / "secret.txt").write_text("password = hunter2\n")
    (worktree / "link.txt").symlink_to(Path(repo).parent / "secret.txt")
    before = git_snapshot(repo), git(worktree, "status", "--porcelain")
    cases = [
        ({}, 400, "'path' is required"),
        ({"path": "../secret.txt"}, 400, "inside the worktree"),
        ({"path": "/etc/passwd"}, 400, "relative"),
        ({"path": "-p"}, 400, "starts with '-'"),
        ({"path": "app.py", "against": "main"}, 400, "'against'"),
        ({"path": "README.md"}, 404, "no changes"),  # unchanged
        ({"path": "missing.py"}, 404, "no changes"),
        ({"path": "link.txt"}, 400, "outside the session's worktree"),
    ]
    for params, status, words in cases:
        code_, body, _ = await api("GET", url(session), params=params)
        assert code_ == status, (params, body)
        assert words in body["error"], (params, body)
        assert "hunter2" not in str(body)
    assert (git_snapshot(repo), git(worktree, "status", "--porcelain")) == before

    other = await lawless_app.workspace.create("someone-else", "project", None, "theirs")
    Path(other["worktree_path"], "app.py").write_text("theirs = 1\n")
    code_, body, _ = await api("GET", url(other), params={"path": "app.py"})
    assert code_ == 404 and "theirs" not in str(body)


async def test_the_diff_with_files_only_lists_the_same_files_without_the_patch(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "app.py").write_text("x = 2\n")
    (worktree / "new.py").write_text("y = 1\n")
    diff = f"api/workspace/sessions/{session['id']}/git/diff"
    _, whole, _ = await api("GET", diff)
    code_, listed, _ = await api("GET", diff, params={"files_only": "true"})
    assert code_ == 200, listed
    assert "+x = 2" in whole["patch"] and listed["patch"] == ""
    assert listed["files"] == whole["files"]
    assert [f["path"] for f in listed["files"]] == ["app.py", "new.py"]
    code_, body, _ = await api("GET", diff, params={"files_only": "maybe"})
    assert code_ == 400 and "'files_only'" in body["error"]
