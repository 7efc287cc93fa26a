"""Status, diff, log, commit and merge on a session's worktree, with real git."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lawless_jupyter.workspace.gitprocess import run_git
from lawless_jupyter.workspace.gitrepo import NO_DEADLINE

from .conftest import git


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="work"))


def url(session, op):
    return f"api/workspace/sessions/{session['id']}/git/{op}"


async def test_status_and_diff_show_edits_and_new_files(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "src" / "app.py").write_text("x = 2\n")
    (worktree / "notes").mkdir()
    (worktree / "notes" / "new.md").write_text("hello\n")

    code, status, _ = await api("GET", url(session, "status"))
    assert code == 200
    by_path = {f["path"]: f["status"] for f in status["files"]}
    assert by_path == {"src/app.py": "modified", "notes/new.md": "untracked"}
    assert status["clean"] is False and status["ahead"] == 0

    code, diff, _ = await api("GET", url(session, "diff"))
    assert code == 200
    files = {f["path"]: f for f in diff["files"]}
    assert files["src/app.py"]["status"] == "modified"
    assert (files["src/app.py"]["additions"], files["src/app.py"]["deletions"]) == (1, 1)
    assert files["notes/new.md"]["status"] == "added", "untracked files are part of the diff"
    assert "+x = 2" in diff["patch"] and "+hello" in diff["patch"]
    # the person's own index was not touched by the diff
    assert git(worktree, "diff", "--cached", "--name-only") == ""


async def test_commit_all_then_log_and_diff_against_head(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "a.txt").write_text("a\n")
    (worktree / "b.txt").write_text("b\n")
    code, body, _ = await api(
        "POST", url(session, "commit"), {"message": "Add a", "paths": ["a.txt"]}
    )
    assert code == 201, body
    assert body["commit"]["files"] == ["a.txt"]
    code, status, _ = await api("GET", url(session, "status"))
    assert [f["path"] for f in status["files"]] == ["b.txt"] and status["ahead"] == 1

    code, body, _ = await api("POST", url(session, "commit"), {"message": "The rest"})
    assert code == 201 and body["commit"]["files"] == ["b.txt"]
    head = git(worktree, "log", "-1", "--format=%an <%ae>|%s").strip()
    assert head.endswith("|The rest")

    code, log, _ = await api("GET", url(session, "log"))
    assert [c["subject"] for c in log["commits"]] == ["The rest", "Add a"]
    code, log, _ = await api("GET", url(session, "log"), params={"all": "true", "limit": "5"})
    assert [c["subject"] for c in log["commits"]] == ["The rest", "Add a", "initial"]

    code, diff, _ = await api("GET", url(session, "diff"), params={"against": "head"})
    assert diff["files"] == []
    code, diff, _ = await api("GET", url(session, "diff"))
    assert sorted(f["path"] for f in diff["files"]) == ["a.txt", "b.txt"]

    code, body, _ = await api("POST", url(session, "commit"), {"message": "again"})
    assert code == 409 and "nothing to commit" in body["error"]


async def test_commit_author_is_the_jupyter_user(api, session, lawless_app):
    worktree = Path(session["worktree_path"])
    (worktree / "a.txt").write_text("a\n")
    code, body, _ = await api("POST", url(session, "commit"), {"message": "by me"})
    assert code == 201, body
    author = git(worktree, "log", "-1", "--format=%an <%ae>").strip()
    owner = lawless_app.owner
    assert author == f"{owner} <{owner}@{lawless_app.commit_email_domain}>"


async def test_commit_prefers_the_repository_git_identity(api, session):
    worktree = Path(session["worktree_path"])
    git(worktree, "config", "user.name", "Ada Lovelace")
    git(worktree, "config", "user.email", "ada@example.org")
    (worktree / "a.txt").write_text("a\n")
    await api("POST", url(session, "commit"), {"message": "by ada"})
    assert (
        git(worktree, "log", "-1", "--format=%an <%ae>").strip() == "Ada Lovelace <ada@example.org>"
    )


async def commit_file(worktree: Path, name: str, content: str, message: str):
    (worktree / name).write_text(content)
    git(worktree, "add", name)
    git(worktree, "commit", "--quiet", "-m", message)


@pytest.mark.parametrize("strategy", ["merge", "squash", "rebase"])
async def test_merge_back_into_the_base(api, session, repo, strategy):
    worktree = Path(session["worktree_path"])
    await commit_file(worktree, "feature.txt", "feature\n", "feature")
    await commit_file(repo, "other.txt", "other\n", "meanwhile on main")
    code, body, _ = await api("POST", url(session, "merge"), {"strategy": strategy})
    assert code == 200, body
    merged = body["merge"]["merged_commit"]
    assert git(repo, "rev-parse", "main").strip() == merged
    assert (repo / "feature.txt").read_text() == "feature\n", "the main checkout was updated"
    assert (repo / "other.txt").exists()
    assert git(repo, "status", "--porcelain") == ""
    parents = git(repo, "log", "-1", "--format=%P", "main").split()
    assert len(parents) == (2 if strategy == "merge" else 1)
    # after merging, deleting the session deletes its branch: nothing would be lost
    code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 200 and body["branch_deleted"] is True, body


async def test_merge_into_a_base_that_is_not_checked_out(api, repo):
    git(repo, "branch", "release")
    session = await api.create(base="release")
    await commit_file(Path(session["worktree_path"]), "fix.txt", "fix\n", "fix")
    code, body, _ = await api(
        "POST", url(session, "merge"), {"strategy": "squash", "message": "Fix"}
    )
    assert code == 200, body
    assert git(repo, "log", "-1", "--format=%s", "release").strip() == "Fix"
    assert not (repo / "fix.txt").exists(), "main's checkout is untouched"


async def test_conflicting_merge_changes_nothing(api, session, repo):
    worktree = Path(session["worktree_path"])
    await commit_file(worktree, "README.md", "session version\n", "session edit")
    await commit_file(repo, "README.md", "main version\n", "main edit")
    main_before = git(repo, "rev-parse", "main").strip()
    branch_before = git(repo, "rev-parse", session["branch"]).strip()
    for strategy in ("merge", "squash", "rebase"):
        code, body, _ = await api("POST", url(session, "merge"), {"strategy": strategy})
        assert code == 409, body
        assert body["details"]["conflicts"] == ["README.md"]
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert git(repo, "rev-parse", session["branch"]).strip() == branch_before
    assert (repo / "README.md").read_text() == "main version\n"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list").count("\n") == 2, "no scratch worktree left"
    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active"


async def test_merge_refuses_when_there_is_nothing_or_the_base_is_not_a_branch(api, session, repo):
    code, body, _ = await api("POST", url(session, "merge"), {})
    assert code == 409 and "nothing to merge" in body["error"]
    git(repo, "tag", "v1")
    tagged = await api.create(base="v1")
    await commit_file(Path(tagged["worktree_path"]), "t.txt", "t\n", "t")
    code, body, _ = await api("POST", url(tagged, "merge"), {})
    assert code == 409 and "not a branch" in body["error"]


async def test_merge_refuses_to_overwrite_local_changes_in_the_base_checkout(api, session, repo):
    await commit_file(Path(session["worktree_path"]), "README.md", "session\n", "edit")
    (repo / "README.md").write_text("uncommitted local edit\n")
    main_before = git(repo, "rev-parse", "main").strip()
    code, body, _ = await api("POST", url(session, "merge"), {})
    assert code == 409, body
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert (repo / "README.md").read_text() == "uncommitted local edit\n"


@pytest.mark.parametrize("lawless_config", [{"long_operation_timeout": 1.0}])
async def test_a_slow_create_times_out_and_leaves_nothing(api, repo):
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\nsleep 30\n")
    hook.chmod(0o755)
    before = git(repo, "branch", "--list")
    code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "project"})
    assert code == 504, body
    assert "longer than 1 s" in body["error"]
    assert git(repo, "branch", "--list") == before
    assert git(repo, "worktree", "list").count("\n") == 1
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []


async def test_git_runs_in_a_group_of_its_own_inside_the_servers_session(api, repo):
    """Its own process group: a passed deadline kills git with its hooks (above). The
    server's session: where Linux shares CPU per session (autogroup), a session per git
    command took as much CPU as the server and its Claude processes together."""
    seen = repo / "hook-saw.txt"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ncut -d' ' -f5,6 /proc/$$/stat > {seen}\n")
    hook.chmod(0o755)
    code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "project"})
    assert code == 201, body
    group, session = map(int, seen.read_text().split())
    assert session == os.getsid(0), "git ran in a session of its own"
    assert group not in (os.getpgid(0), session), "git ran in the server's process group"


def test_a_push_or_clone_runs_without_the_servers_terminal(tmp_path):
    """Network commands get a session of their own: no terminal for ssh to ask on (it
    fails at once instead of stopping the command until its deadline)."""
    show = [sys.executable, "-c", "import os; print(os.getsid(0), os.getpid())"]
    session, pid = map(int, run_git(show, tmp_path, NO_DEADLINE, network=True).split())
    assert session == pid
    session, pid = map(int, run_git(show, tmp_path, NO_DEADLINE).split())
    assert session == os.getsid(0)


async def test_status_and_diff_name_the_session_head(api, session, repo):
    worktree = Path(session["worktree_path"])
    await commit_file(worktree, "a.txt", "a\n", "a")
    head = git(worktree, "rev-parse", "HEAD").strip()
    assert head != git(repo, "rev-parse", "HEAD").strip()
    _, status, _ = await api("GET", url(session, "status"))
    assert status["head"] == head and status["ahead"] == 1
    _, diff, _ = await api("GET", url(session, "diff"), params={"against": "head"})
    assert diff["commit"] == head


async def test_commit_of_given_paths_leaves_other_staged_files(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "b.txt").write_text("b\n")
    (worktree / "c.txt").write_text("c\n")
    git(worktree, "add", "c.txt")
    code, body, _ = await api("POST", url(session, "commit"), {"message": "b", "paths": ["b.txt"]})
    assert code == 201 and body["commit"]["files"] == ["b.txt"]
    assert git(worktree, "show", "--name-only", "--format=", "HEAD").split() == ["b.txt"]
    assert git(worktree, "diff", "--cached", "--name-only").split() == ["c.txt"]


async def test_unknown_fields_are_refused(api, session):
    code, body, _ = await api("POST", url(session, "commit"), {"message": "m", "amend": True})
    assert code == 400 and "amend" in body["error"]
    code, body, _ = await api("POST", url(session, "merge"), {"strategy": ""})
    assert code == 400
