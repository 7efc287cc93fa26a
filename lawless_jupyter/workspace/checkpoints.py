"""Checkpoints of a worktree as git objects, the way ``git stash`` records one. Blocking.

A checkpoint is a commit whose tree is the worktree (tracked files as they are on disk plus
untracked files that are not ignored), with two parents: HEAD, and a commit whose tree is
the index. It is made in a throwaway index (``GIT_INDEX_FILE``): the person's branch, index
and files are never touched. It is kept alive by a private ref of the session,
``refs/lawless/<session id>/turns/<n>`` (shared by every worktree of the repository, so a
fork can read its source's), and restoring it puts back the files, the index and the
session branch's HEAD.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from .gitrepo import NO_DEADLINE, Deadline, GitRepository

REF_ROOT = "refs/lawless"
# commit-tree needs an identity; the person's own may be unset, and these commits are ours
_IDENTITY = {
    "GIT_AUTHOR_NAME": "lawless-jupyter",
    "GIT_AUTHOR_EMAIL": "checkpoints@lawless.invalid",
    "GIT_COMMITTER_NAME": "lawless-jupyter",
    "GIT_COMMITTER_EMAIL": "checkpoints@lawless.invalid",
}


@dataclass(frozen=True)
class Checkpoint:
    commit: str  # the checkpoint commit (its tree: the worktree)
    head: str  # the commit HEAD was at
    tree: str  # the worktree's tree


def session_refs(session_id: str) -> str:
    return f"{REF_ROOT}/{session_id}/"


def turn_ref(session_id: str, number: int) -> str:
    return f"{session_refs(session_id)}turns/{number}"


def _head_and_index(gitrepo: GitRepository, worktree: Path) -> tuple[str, str, Path]:
    """(HEAD's commit, its tree, the worktree's index file), in one git call."""
    out = gitrepo.run(
        "rev-parse", "--path-format=absolute", "--git-path", "index",
        "HEAD^{commit}", "HEAD^{tree}", cwd=worktree,
    ).split("\n")  # fmt: skip
    return out[1], out[2], Path(out[0])


def worktree_trees(
    gitrepo: GitRepository,
    worktree: Path,
    deadline: Deadline = NO_DEADLINE,
    real_index: Path | None = None,
) -> tuple[str, str]:
    """(tree of the index, tree of the worktree incl. untracked files), written from a copy
    of the index: files whose stat data did not change are not read again."""
    if real_index is None:
        real_index = _head_and_index(gitrepo, worktree)[2]
    with tempfile.TemporaryDirectory(prefix="lawless-checkpoint-") as tmp:
        index = Path(tmp) / "index"
        if real_index.exists():
            shutil.copy2(real_index, index)  # its mtime kept: see gitrepo.diff
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            index_tree = gitrepo.run("write-tree", cwd=worktree, env=env, deadline=deadline)
        except git.GitCommandError:  # unmerged entries (a merge in progress): HEAD's index
            index_tree = gitrepo.run("rev-parse", "HEAD^{tree}", cwd=worktree, env=env)
        gitrepo.add_all(worktree, env, deadline)
        work_tree = gitrepo.run("write-tree", cwd=worktree, env=env, deadline=deadline)
    return index_tree.strip(), work_tree.strip()


def record(
    gitrepo: GitRepository,
    worktree: Path,
    ref: str | None,
    message: str,
    deadline: Deadline = NO_DEADLINE,
) -> Checkpoint:
    """Record the worktree's state as a checkpoint commit, under ``ref`` when given."""
    head, head_tree, real_index = _head_and_index(gitrepo, worktree)
    index_tree, work_tree = worktree_trees(gitrepo, worktree, deadline, real_index)
    env = dict(_IDENTITY)
    # nothing staged (the usual case): HEAD is the index's commit, and git keeps one parent
    index_commit = head
    if index_tree != head_tree:
        index_commit = gitrepo.run(
            "commit-tree", index_tree, "-p", head, "-m", f"index of {message}",
            cwd=worktree, env=env,
        ).strip()  # fmt: skip
    commit = gitrepo.run(
        "commit-tree", work_tree, "-p", head, "-p", index_commit, "-m", message,
        cwd=worktree, env=env,
    ).strip()  # fmt: skip
    if ref is not None:
        gitrepo.run("update-ref", "-m", message, ref, commit, cwd=worktree)
    return Checkpoint(commit, head, work_tree)


def changed_paths(gitrepo: GitRepository, worktree: Path, since_tree: str, now_tree: str) -> list:
    """Paths that differ between two worktree trees (added, edited, deleted)."""
    out = gitrepo.run(
        "diff-tree", "-r", "--name-only", "-z", "--no-renames", since_tree, now_tree, cwd=worktree
    )
    return sorted(filter(None, out.split("\0")))


def restore(
    gitrepo: GitRepository,
    worktree: Path,
    commit: str,
    branch: str,
    deadline: Deadline = NO_DEADLINE,
) -> None:
    """Put ``worktree`` back exactly as checkpoint ``commit`` recorded it: HEAD on the
    session ``branch`` at the recorded commit, every file (created ones removed, deleted
    ones back, untracked ones untracked again; ignored files are left alone), the index."""
    tree, *parents = gitrepo.run(
        "rev-parse", f"{commit}^{{tree}}", f"{commit}^@", cwd=worktree
    ).split()
    head, index_commit = parents[0], parents[-1]  # one parent: the index was HEAD's tree
    gitrepo.run("update-ref", "-m", "lawless: rewind", f"refs/heads/{branch}", head, cwd=worktree)
    gitrepo.run("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=worktree)
    # files: the index (and what it tracks on disk) becomes the checkpoint's worktree tree,
    # then what is untracked against it and not ignored goes
    gitrepo.run("read-tree", "--reset", "-u", tree, cwd=worktree, deadline=deadline)
    gitrepo.run("clean", "--force", "-d", "--quiet", cwd=worktree, deadline=deadline)
    # the index as it was (the files stay); its stat data refreshed so status is quick
    gitrepo.run("read-tree", f"{index_commit}^{{tree}}", cwd=worktree, deadline=deadline)
    gitrepo.ok("update-index", "-q", "--refresh", cwd=worktree, deadline=deadline)


def drop_all(gitrepo: GitRepository, session_id: str) -> int:
    """Delete every ref of the session's namespace (its objects go with git's next gc)."""
    refs = gitrepo.run("for-each-ref", "--format=%(refname)", session_refs(session_id)).split()
    for ref in refs:
        gitrepo.run("update-ref", "-d", ref)
    return len(refs)
