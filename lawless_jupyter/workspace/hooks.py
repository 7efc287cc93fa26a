"""Files that git (or a hook manager) turns into commands: hooks and their configuration.

One list for the two places that care: Claude's permission policy (an edit there would
become a command nobody approved) and the commit/merge answers (a hook changed in the
session runs when the person clicks).
"""

from __future__ import annotations

from pathlib import PurePosixPath

# git's own files: a `.git` folder or pointer file, anywhere (submodules have their own)
GIT_DIR_NAMES = frozenset({".git"})
# hook folders of the common hook managers (husky, plain `core.hooksPath=.githooks`)
HOOK_DIR_NAMES = frozenset({".husky", ".githooks"})
# configuration that names commands hooks will run (pre-commit, lefthook)
HOOK_CONFIG_NAMES = frozenset(
    {".pre-commit-config.yaml", "lefthook.yml", "lefthook.yaml", ".lefthook.yml", ".lefthook.yaml"}
)


def is_git_file(rel: PurePosixPath) -> bool:
    return any(part in GIT_DIR_NAMES for part in rel.parts)


def in_hook_dir(rel: PurePosixPath, hooks_path: PurePosixPath | None = None) -> bool:
    """Inside a hook folder: a known one anywhere, or the repository's ``core.hooksPath``
    (relative to the worktree; ``None`` when unset or outside the worktree)."""
    if any(part in HOOK_DIR_NAMES for part in rel.parts[:-1]) or rel.name in HOOK_DIR_NAMES:
        return True
    return hooks_path is not None and (rel == hooks_path or hooks_path in rel.parents)


def is_hook_config(rel: PurePosixPath) -> bool:
    return rel.name in HOOK_CONFIG_NAMES


def hook_files(paths: list[str], hooks_path: PurePosixPath | None) -> list[str]:
    """Of ``paths`` (relative to the worktree), those hooks run or read."""
    return [
        p
        for p in paths
        if in_hook_dir(PurePosixPath(p), hooks_path) or is_hook_config(PurePosixPath(p))
    ]
