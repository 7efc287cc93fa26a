"""Workspace sessions through the REST API, on real repositories and worktrees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from .conftest import git, git_snapshot, make_repo


async def test_create_list_get_delete(api, repo, jp_root_dir):
    session = await api.create(name="fix login")
    worktree = Path(session["worktree_path"])
    assert session["state"] == "active"
    assert session["repo"] == "project"
    assert session["base"] == "main"
    assert session["branch"] == f"lawless/{session['id']}"
    assert worktree.is_dir() and (worktree / "src" / "app.py").read_text() == "x = 1\n"
    assert worktree.name == "fix-login"
    assert session["worktree_dir"] == "lawless-worktrees/project/fix-login"
    assert git(worktree, "branch", "--show-current").strip() == session["branch"]
    assert str(worktree) in git(repo, "worktree", "list")

    code, body, _ = await api("GET", "api/workspace/sessions")
    assert code == 200 and [s["id"] for s in body["sessions"]] == [session["id"]]
    code, body, _ = await api("GET", "api/workspace/sessions", params={"repo": "project"})
    assert [s["id"] for s in body["sessions"]] == [session["id"]]
    make_repo(jp_root_dir / "other")
    code, body, _ = await api("GET", "api/workspace/sessions", params={"repo": "other"})
    assert code == 200 and body["sessions"] == []

    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert code == 200 and body["session"] == session

    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 200, body
    assert body["session"]["state"] == "deleted"
    assert body["branch_deleted"] is True
    assert not worktree.exists()
    assert session["branch"] not in git(repo, "branch", "--list")

    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert code == 404 and body["code"] == "not_found"
    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 404, "deleting twice is a clear 404"


async def test_sessions_start_from_the_given_base(api, repo):
    git(repo, "switch", "--quiet", "-c", "feature")
    (repo / "feature.txt").write_text("on feature\n")
    git(repo, "add", "feature.txt")
    git(repo, "commit", "--quiet", "-m", "feature work")
    git(repo, "switch", "--quiet", "main")
    from_feature = await api.create(base="feature")
    assert from_feature["base"] == "feature"
    assert (Path(from_feature["worktree_path"]) / "feature.txt").exists()
    from_main = await api.create()
    assert from_main["base"] == "main"
    assert not (Path(from_main["worktree_path"]) / "feature.txt").exists()


async def test_delete_keeps_a_branch_with_commits_unless_forced(api, repo):
    session = await api.create()
    worktree = Path(session["worktree_path"])
    (worktree / "new.txt").write_text("work\n")

    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 409 and "uncommitted" in body["error"]
    assert (worktree / "new.txt").exists(), "a refused delete changes nothing"
    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active"

    git(worktree, "add", "new.txt")
    git(worktree, "commit", "--quiet", "-m", "work")
    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 200, body
    assert body["branch_deleted"] is False and body["unmerged_commits"] == 1
    assert not worktree.exists()
    assert session["branch"] in git(repo, "branch", "--list"), "the person's commit survives"


async def test_force_delete_throws_away_changes_and_branch(api, repo):
    session = await api.create()
    worktree = Path(session["worktree_path"])
    (worktree / "new.txt").write_text("work\n")
    git(worktree, "add", "new.txt")
    git(worktree, "commit", "--quiet", "-m", "work")
    (worktree / "dirty.txt").write_text("uncommitted\n")
    code, body, _ = await api(
        "DELETE", f"api/workspace/sessions/{session['id']}", params={"force": "true"}
    )
    assert code == 200, body
    assert body["branch_deleted"] is True
    assert not worktree.exists()
    assert session["branch"] not in git(repo, "branch", "--list")


@pytest.mark.parametrize("lawless_config", [{"branch_prefix": "agent", "worktrees_dir": ""}])
async def test_traits_configure_the_extension(api, repo, lawless_app):
    assert lawless_app.branch_prefix == "agent"
    session = await api.create()
    assert session["branch"] == f"agent/{session['id']}"


@pytest.mark.parametrize("lawless_config", [{"max_sessions_per_repo": 2}])
async def test_quota_of_sessions_per_repository(api, repo):
    first = await api.create()
    await api.create()
    before = git_snapshot(repo)
    code, body, response = await api("POST", "api/workspace/sessions", {"repo": "project"})
    assert code == 429
    assert body["limit"] == 2 and body["remaining"] == 0
    assert body["retryAfter"] >= 1 and body["reset"] > 0 and "limit" in body["error"]
    assert response.headers["Retry-After"] == str(body["retryAfter"])
    assert git_snapshot(repo) == before
    # deleting one frees a place
    code, _, _ = await api("DELETE", f"api/workspace/sessions/{first['id']}")
    assert code == 200
    await api.create()


async def test_concurrent_creates_with_the_same_name(api, repo):
    results = await asyncio.gather(
        *(
            api("POST", "api/workspace/sessions", {"repo": "project", "name": "same"})
            for _ in range(2)
        )
    )
    codes = sorted(code for code, _, _ in results)
    assert codes == [201, 409], results
    worktrees = git(repo, "worktree", "list").strip().splitlines()
    assert len(worktrees) == 2, "the main checkout and exactly one session"
    _code, body, _ = await api("GET", "api/workspace/sessions")
    assert len(body["sessions"]) == 1


async def test_an_existing_worktree_folder_is_not_touched(api, repo, jp_root_dir):
    squatter = jp_root_dir / "lawless-worktrees" / "project" / "mine"
    squatter.mkdir(parents=True)
    (squatter / "keep.txt").write_text("mine\n")
    before = git_snapshot(repo)
    code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "project", "name": "mine"})
    assert code == 409 and "already exists" in body["error"]
    assert (squatter / "keep.txt").read_text() == "mine\n"
    assert git_snapshot(repo) == before
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []


async def test_many_sessions_come_and_go_at_once_in_one_repository(api, repo):
    """Found by benchmarks/load.py: git has no lock on its worktree records, so a create
    racing another create or a delete in the same repository could fail."""

    async def come_and_go(i: int) -> None:
        session = await api.create(name=f"busy-{i}")
        code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
        assert code == 200, body

    for _ in range(5):
        await asyncio.gather(*(come_and_go(i) for i in range(10)))
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    _, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []
