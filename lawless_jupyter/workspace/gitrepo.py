"""Git for one repository and its worktrees (GitPython reads the repository; commands run
through ``gitprocess.run_git``). Blocking: call it off the loop.

Every git process runs under a deadline (it is killed, with its children, when the deadline
passes), so a slow hook or a huge checkout ends in ``OperationTimeout`` instead of hanging
a request. Arguments are passed as lists (no shell); refs come in validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import git

from ..errors import (
    Conflict,
    InvalidInput,
    LawlessError,
    NotFound,
    OperationTimeout,
    UpstreamUnauthorized,
)
from .gitprocess import run_git

T = TypeVar("T")

_LOG_FORMAT = "%H%x1f%h%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e"
# Every git the server runs: no fsmonitor (a configured one is a command git would run on
# status, diff, commit...), whoever set it. Without hooks, hooks point nowhere.
_SAFE_CONFIG = ("-c", "core.fsmonitor=false")
# ``git add`` on a repository nested in the worktree before its first commit (``git init sub``)
_NO_COMMIT = re.compile(r"error: '(.+?)' does not have a commit checked out")
_ADD_FAILED = "fatal: adding files failed"
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
MERGE_STRATEGIES = ("merge", "squash", "rebase")

# git keeps no lock on a repository's worktree records (.git/worktrees/*): a `worktree add`
# reading them while another is half made or half removed fails ("failed to read
# .../commondir", found by benchmarks/load.py). So work that reads or changes them runs one
# at a time per repository (in this process; other processes are git's business). The lock
# is an asyncio one, waited for on the loop (`worktree_admin`) around the thread doing the
# work, so a queue of waiters never ties up the thread pool; `run` checks it is held.
_WORKTREE_COMMANDS = ("worktree", "branch")
_admin_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
_admin_held: ContextVar[frozenset[str]] = ContextVar("lawless_git_admin", default=frozenset())


@contextlib.asynccontextmanager
async def worktree_admin(repo_path: str | Path) -> AsyncIterator[None]:
    """Hold ``repo_path``'s worktree lock; ``in_git_thread`` (or ``asyncio.to_thread``)
    calls made inside carry it (a context variable) to ``GitRepository.run``. The path as
    stored, not resolved: no file-system call on the loop."""
    key = str(Path(repo_path))
    lock = _admin_locks.get(key)
    if lock is None:
        lock = _admin_locks[key] = asyncio.Lock()
    async with lock:
        token = _admin_held.set(_admin_held.get() | {key})
        try:
            yield
        finally:
            _admin_held.reset(token)


# git's work mostly waits for a child process: it gets threads of its own, so a burst of it
# (twenty turns starting, each writing a checkpoint) never queues the server's short
# thread work (file reads, psutil, the default executor's 6 threads on 2 cores) behind it.
_GIT_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lawless-git")


async def in_git_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``asyncio.to_thread`` on git's threads: ``fn`` runs with the caller's context (the
    ``worktree_admin`` it holds)."""
    call = functools.partial(copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_GIT_THREADS, call)


@dataclass(frozen=True)
class Author:
    """Who commits. With ``prefer_git_config`` the repository's own ``user.name`` and
    ``user.email`` win when both are set (a laptop user's usual git identity)."""

    name: str
    email: str
    prefer_git_config: bool = False

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


class Deadline:
    """When the current operation must be over; ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None, what: str):
        self.what = what
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def error(self) -> OperationTimeout:
        return OperationTimeout(
            f"{self.what} took longer than {self.seconds:g} s and was stopped; nothing was "
            "changed. Try again, or ask the administrator to raise the time limit.",
            details={"limit_seconds": self.seconds},
        )


NO_DEADLINE = Deadline(None, "cleanup")


class GitFailed(LawlessError):
    """A git command failed in a way the caller did not expect."""

    status = 500
    code = "git_error"


class WorktreeDirty(Conflict):
    """git refused to remove a worktree that holds changes."""


class GitRepository:
    """One repository's main checkout at ``path`` (the top of a non-bare repository).

    ``run_hooks``: whether its git commands run the repository's hooks."""

    def __init__(self, path: str | Path, *, run_hooks: bool = True):
        self.path = Path(path)
        self.run_hooks = run_hooks
        try:
            repo = git.Repo(self.path)
        except git.NoSuchPathError as e:
            raise InvalidInput(f"There is no folder {self.path.name!r}.") from e
        except git.InvalidGitRepositoryError as e:
            if _inside_a_repository(self.path):
                raise InvalidInput(
                    f"{self.path.name!r} is inside a git repository but is not its top folder."
                ) from e
            raise InvalidInput(
                f"{self.path.name!r} is not a git repository (pick the folder that holds .git)."
            ) from e
        if repo.bare:
            raise InvalidInput(f"{self.path.name!r} is a bare repository; it has no checkout.")
        if Path(repo.working_tree_dir).resolve() != self.path.resolve():
            raise InvalidInput(
                f"{self.path.name!r} is inside a git repository but is not its top folder."
            )
        self.repo = repo
        repo.close()

    # -- running git ----------------------------------------------------------------------

    def run(
        self,
        *args: str,
        deadline: Deadline = NO_DEADLINE,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        network: bool = False,
    ) -> str:
        """Run ``git args`` in ``cwd`` (default: the main checkout) and return stdout
        (``network``: see ``run_git``)."""
        if args and args[0] in _WORKTREE_COMMANDS and str(self.path) not in _admin_held.get():
            raise RuntimeError(f"git {args[0]} needs worktree_admin({str(self.path)!r}) held")
        return self._execute(args, deadline, cwd, env, network)

    def _execute(
        self,
        args: tuple[str, ...],
        deadline: Deadline,
        cwd: str | Path | None,
        env: dict[str, str] | None,
        network: bool,
    ) -> str:
        config = _SAFE_CONFIG if self.run_hooks else (*_SAFE_CONFIG, *_NO_HOOKS)
        return run_git(["git", *config, *args], cwd or self.path, deadline, env, network=network)

    def add_all(self, worktree: Path, env: dict[str, str], deadline: Deadline) -> list[str]:
        """``git add --all`` into a throwaway index (``env``'s ``GIT_INDEX_FILE``). A
        repository nested in the worktree with no commit yet cannot be recorded (git has no
        commit to point at): it is left out rather than failing the whole add, which would
        leave a turn without its checkpoint and the review without its diff. Returns the
        paths left out."""
        try:
            self.run("add", "--all", "--ignore-errors", cwd=worktree, env=env, deadline=deadline)
            return []
        except git.GitCommandError as e:
            problems = re.findall(r"(?:error|fatal): [^\n]*", e.stderr or "")
            left_out = [m.group(1) for p in problems if (m := _NO_COMMIT.match(p))]
            if not left_out or any(
                not _NO_COMMIT.match(p) and not p.startswith(_ADD_FAILED) for p in problems
            ):
                raise
            return left_out

    def ok(self, *args: str, **kw: Any) -> bool:
        """True when ``git args`` exits 0 (for questions like 'does this ref exist?')."""
        try:
            self.run(*args, **kw)
        except git.GitCommandError:
            return False
        return True

    # -- refs -------------------------------------------------------------------------------

    def has_commits(self) -> bool:
        return self.ok("rev-parse", "--verify", "--quiet", "HEAD^{commit}")

    def head(self) -> tuple[str | None, str | None]:
        """(commit, branch) of the main checkout in one git call; branch is None when
        detached, both are None in a repository without commits."""
        try:
            out = self.run("rev-parse", "HEAD^{commit}", "--symbolic-full-name", "HEAD")
        except git.GitCommandError:
            return None, None
        commit, _, ref = out.strip().partition("\n")
        return commit or None, ref.removeprefix("refs/heads/") if ref.startswith("refs/") else None

    def resolve_commit(self, ref: str, cwd: Path | None = None) -> str | None:
        """The commit ``ref`` names, seen from ``cwd`` (HEAD differs per worktree)."""
        try:
            out = self.run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", cwd=cwd
            )
        except git.GitCommandError:
            return None
        return out.strip() or None

    def branch_exists(self, branch: str) -> bool:
        return self.ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}")

    def unmerged_commits(self, branch: str, exclude: list[str]) -> list[str]:
        """Commits on ``branch`` that none of ``exclude`` (base, merged tips) contains."""
        excluded = [f"^{c}" for c in exclude if c]
        out = self.run("rev-list", f"refs/heads/{branch}", *excluded, "--")
        return out.split()

    # -- worktrees --------------------------------------------------------------------------

    def worktrees(self) -> list[dict[str, str]]:
        """``git worktree list --porcelain`` as dicts with path, head and branch."""
        entries: list[dict[str, str]] = []
        current: dict[str, str] = {}
        for line in [*self.run("worktree", "list", "--porcelain").splitlines(), ""]:
            if not line:
                if current:
                    entries.append(current)
                current = {}
                continue
            key, _, value = line.partition(" ")
            current[key] = value
        return entries

    def add_worktree(self, path: Path, branch: str, commit: str, deadline: Deadline) -> None:
        """Create ``branch`` at ``commit`` checked out at ``path``; undo everything on failure."""
        try:
            self.run("worktree", "add", "-b", branch, str(path), commit, deadline=deadline)
        except BaseException:
            self.remove_worktree(path, force=True)
            if self.branch_exists(branch):
                self.run("branch", "-D", branch)
            raise

    def exclude(self, folder: Path) -> bool:
        """Keep ``folder`` (the worktrees folder, when it lies inside this checkout, as when
        the Jupyter root is the repository) out of the repository's ``git status`` and
        ``git add -A``: a ``/<folder>/`` line in ``info/exclude`` of the common git dir
        (shared by all worktrees), added once. True when the folder is excluded."""
        top = self.path.resolve()
        folder = folder.resolve()
        if folder == top or top not in folder.parents:
            return False
        pattern = "/" + folder.relative_to(top).as_posix() + "/"
        for char in "\\*?[":  # literally, not as a glob
            pattern = pattern.replace(char, "\\" + char)
        self._add_exclude(pattern, "session worktrees of lawless-jupyter")
        return True

    def exclude_checkpoints(self) -> None:
        """Keep Jupyter's ``.ipynb_checkpoints/`` folders (made when a notebook in a worktree
        is opened) out of ``git status`` and "Commit all", at any depth. ``info/exclude`` is
        the common git dir's, so the line holds for every worktree of the repository."""
        self._add_exclude(".ipynb_checkpoints/", "notebook checkpoints (lawless-jupyter)")

    def _add_exclude(self, pattern: str, comment: str) -> None:
        common = Path(self.run("rev-parse", "--path-format=absolute", "--git-common-dir").strip())
        exclude = common / "info" / "exclude"
        # read and append as one step: the service holds worktree_admin around this call, so
        # two sessions created at once add one line
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if pattern in (line.strip() for line in text.splitlines()):
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a", encoding="utf-8") as f:
            if text and not text.endswith("\n"):
                f.write("\n")
            f.write(f"# {comment}\n{pattern}\n")

    def remove_worktree(self, path: Path, *, force: bool, deadline: Deadline = NO_DEADLINE) -> None:
        """Remove a worktree we made. Tolerates one that is half made or already gone.

        Without ``force`` git refuses a worktree with changes: that is ``WorktreeDirty``."""
        args = ["worktree", "remove", *(["--force", "--force"] if force else []), str(path)]
        try:
            self.run(*args, deadline=deadline)
        except git.GitCommandError as e:
            message = e.stderr or ""
            if "use --force" in message:
                raise WorktreeDirty(
                    "The session's worktree has uncommitted changes. Commit them, or delete "
                    "with force=true to throw them away.",
                    details={"uncommitted": True},
                ) from e
            if "is not a working tree" not in message:
                raise
            if force and path.exists():  # never registered, or git forgot it
                shutil.rmtree(path)
            self.run("worktree", "prune")

    def delete_branch(self, branch: str) -> None:
        self.run("branch", "-D", branch)

    def check_worktree(self, worktree: Path) -> None:
        """Refuse a worktree whose ``.git`` is not git's pointer into this repository's own
        ``worktrees/`` folder (an edited pointer would make our git run another
        repository's config and hooks)."""
        pointer = worktree / ".git"
        admin = Path(os.path.realpath(self.repo.common_dir)) / "worktrees"
        try:
            text = "" if pointer.is_symlink() else pointer.read_text("utf-8", "replace")[:4096]
        except OSError:  # a folder, or gone
            text = ""
        target = text.removeprefix("gitdir:").strip() if text.startswith("gitdir:") else ""
        resolved = Path(os.path.realpath(worktree / target)) if target else None
        if resolved is None or admin not in resolved.parents:
            raise Conflict(
                "The session worktree's .git no longer points into its repository, so the "
                "server runs no git command in it. Restore it with `git worktree repair` in "
                "the repository, or delete the session.",
                details={"worktree_git": "tampered"},
            )

    def hooks_path(self, worktree: Path) -> PurePosixPath | None:
        """The configured ``core.hooksPath`` relative to ``worktree`` when it lies inside it
        (None: unset, or outside, where Claude cannot write anyway)."""
        try:
            value = self.run("config", "--get", "core.hooksPath", cwd=worktree).strip()
        except git.GitCommandError:
            return None
        if not value:
            return None
        target = Path(os.path.realpath(worktree / os.path.expanduser(value)))
        try:
            return PurePosixPath(target.relative_to(os.path.realpath(worktree)).as_posix())
        except ValueError:
            return None

    def session_changes(
        self, worktree: Path, base_commit: str, branch: str | None = None
    ) -> list[str]:
        """Paths changed since ``base_commit``: committed on the branch (or HEAD) and, without
        ``branch``, what the worktree holds beyond that (untracked files too)."""
        tip = f"refs/heads/{branch}" if branch else "HEAD"
        out = self.run(
            "diff", "--name-only", "-z", "--no-renames", base_commit, tip, "--", cwd=worktree
        )
        paths = set(filter(None, out.split("\0")))
        if branch is None:
            paths.update(f["path"] for f in self.status(worktree))
        return sorted(paths)

    # -- inspection -------------------------------------------------------------------------

    def status(self, worktree: Path, deadline: Deadline = NO_DEADLINE) -> list[dict[str, str]]:
        out = self.run(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            cwd=worktree,
            deadline=deadline,
        )
        files: list[dict[str, str]] = []
        fields = out.split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            x, y, path = entry[0], entry[1], entry[3:]
            item = {"path": path, "index": x, "worktree": y, "status": _describe(x, y)}
            if x in "RC":
                item["old_path"] = fields[i]
                i += 1
            files.append(item)
        return files

    def diff(
        self,
        worktree: Path,
        against: str,
        *,
        max_bytes: int,
        deadline: Deadline = NO_DEADLINE,
        patch: bool = True,
    ) -> dict[str, Any]:
        """The worktree as it is now (untracked files included) against commit ``against``;
        without ``patch``, the file list alone (``patch`` empty: one git process less).

        Staged through a throwaway index so the person's own index is never touched."""
        with tempfile.TemporaryDirectory(prefix="lawless-index-") as tmp:
            index = Path(tmp) / "index"
            real_index = Path(
                self.run(
                    "rev-parse", "--path-format=absolute", "--git-path", "index", cwd=worktree
                ).strip()
            )
            if real_index.exists():
                # copy2 keeps the index's mtime: git compares the contents of entries as
                # recent as the index itself ("racily clean"); a copy stamped now would make
                # git trust their stat and miss a same-size edit made in the same instant
                shutil.copy2(real_index, index)
            env = {"GIT_INDEX_FILE": str(index)}
            self.add_all(worktree, env, deadline)
            common = ["diff", "--cached", "--no-renames", "--no-color", "--no-ext-diff"]

            def diff_of(*args: str) -> str:
                return self.run(
                    *common, *args, against, "--", cwd=worktree, env=env, deadline=deadline
                )

            numstat = diff_of("--numstat", "-z")
            names = diff_of("--name-status", "-z")
            text = diff_of() if patch else ""
        kinds = names.split("\0")
        status_of = {kinds[i + 1]: kinds[i] for i in range(0, len(kinds) - 1, 2)}
        files = []
        for record in filter(None, numstat.split("\0")):
            added, deleted, path = record.split("\t", 2)
            binary = added == "-"
            files.append(
                {
                    "path": path,
                    "status": {"A": "added", "D": "deleted"}.get(
                        status_of.get(path, "M"), "modified"
                    ),
                    "additions": 0 if binary else int(added),
                    "deletions": 0 if binary else int(deleted),
                    "binary": binary,
                }
            )
        encoded = text.encode("utf-8", "replace")
        truncated = len(encoded) > max_bytes
        if truncated:
            text = encoded[:max_bytes].decode("utf-8", "ignore")
        return {"against": against, "files": files, "patch": text, "truncated": truncated}

    def list_files(self, worktree: Path, deadline: Deadline = NO_DEADLINE) -> list[str]:
        """The worktree's files as git sees them: tracked, and untracked but not ignored."""
        out = self.run(
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            cwd=worktree,
            deadline=deadline,
        )
        return sorted(set(filter(None, out.split("\0"))))

    def show_file(self, worktree: Path, commit: str, path: str) -> str | None:
        """The text of ``path`` (relative to the worktree's top) at ``commit``; None when
        the commit has no such file."""
        try:  # commit and path come checked: the one way this fails is no such file
            return self.run("cat-file", "blob", f"{commit}:{path}", cwd=worktree)
        except git.GitCommandError:
            return None

    def log(
        self,
        worktree: Path,
        revision_range: list[str],
        limit: int,
        deadline: Deadline = NO_DEADLINE,
    ) -> list[dict[str, str]]:
        out = self.run(
            "log",
            f"--format={_LOG_FORMAT}",
            f"--max-count={limit}",
            *revision_range,
            "--",
            cwd=worktree,
            deadline=deadline,
        )
        commits = []
        for record in filter(None, (r.strip("\n") for r in out.split("\x1e"))):
            sha, short, author, email, date, subject = record.split("\x1f")
            commits.append(
                {
                    "sha": sha,
                    "short_sha": short,
                    "author": author,
                    "email": email,
                    "date": date,
                    "subject": subject,
                }
            )
        return commits

    # -- changes ----------------------------------------------------------------------------

    def effective_author(self, author: Author, cwd: Path) -> Author:
        if not author.prefer_git_config:
            return author
        try:
            name = self.run("config", "--get", "user.name", cwd=cwd).strip()
            email = self.run("config", "--get", "user.email", cwd=cwd).strip()
        except git.GitCommandError:
            return author
        return Author(name, email) if name and email else author

    def commit(
        self,
        worktree: Path,
        message: str,
        paths: list[str] | None,
        author: Author,
        deadline: Deadline,
        *,
        strip_notebooks: bool = False,
    ) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="lawless-strip-") as tmp:
            # nbstripout's own git filter, set for this commit's commands only: what git
            # stages and commits of a notebook is cleaned; the worktree file is not touched
            strip = strip_notebook_config(Path(tmp)) if strip_notebooks else ()
            result = self._commit(worktree, message, paths, author, deadline, strip)
        if strip_notebooks:
            result["notebooks_stripped"] = [p for p in result["files"] if p.endswith(".ipynb")]
        return result

    def _commit(
        self,
        worktree: Path,
        message: str,
        paths: list[str] | None,
        author: Author,
        deadline: Deadline,
        strip: tuple[str, ...],
    ) -> dict[str, Any]:
        env = {**self.effective_author(author, worktree).env(), "GIT_LITERAL_PATHSPECS": "1"}
        try:
            if paths:
                self.run(
                    *strip, "add", "--all", "--", *paths, cwd=worktree, env=env, deadline=deadline
                )
            else:
                self.run(*strip, "add", "--all", cwd=worktree, env=env, deadline=deadline)
        except git.GitCommandError as e:
            if empty := _NO_COMMIT.findall(e.stderr or ""):
                raise InvalidInput(
                    f"{', '.join(empty)} is a git repository with no commit yet, which git "
                    "cannot record in this one: make its first commit, add it to "
                    ".gitignore, or commit the other files by their paths.",
                    details={"repositories": empty},
                ) from e
            if failed := _unstrippable(e):
                raise InvalidInput(
                    f"{failed} is not a notebook nbstripout can read, so its outputs cannot "
                    "be stripped: fix it, or turn stripping off to commit it as it is.",
                    details={"path": failed},
                ) from e
            raise InvalidInput(
                f"Could not stage the given paths: {_git_message(e)}", details={"paths": paths}
            ) from e
        # with paths, only those are committed (--only), whatever else is staged
        limit_to = ["--", *paths] if paths else []
        staged = self.run("diff", "--cached", "--name-only", "-z", *limit_to, cwd=worktree, env=env)
        staged = [p for p in staged.split("\0") if p]
        notebooks = [p for p in staged if p.endswith(".ipynb") and (worktree / p).exists()]
        if strip and notebooks:  # staged before, unchanged since: git would not clean them
            try:
                self.run(*strip, "add", "--renormalize", "--", *notebooks, cwd=worktree, env=env)
            except git.GitCommandError as e:
                raise InvalidInput(
                    f"Could not strip the notebooks' outputs: {_git_message(e)}",
                    details={"notebooks": notebooks},
                ) from e
            staged = self.run(
                "diff", "--cached", "--name-only", "-z", *limit_to, cwd=worktree, env=env
            )
            staged = [p for p in staged.split("\0") if p]
        if not staged:
            raise Conflict("There is nothing to commit: the worktree has no changes.")
        try:
            self.run(
                *strip,
                "commit",
                "--quiet",
                f"--message={message}",
                *limit_to,
                cwd=worktree,
                env=env,
                deadline=deadline,
            )
        except git.GitCommandError as e:
            raise Conflict(f"git refused the commit: {_git_message(e)}") from e
        head = self.run("rev-parse", "HEAD", cwd=worktree).strip()
        return {"sha": head, "files": staged}

    def merge_into_base(
        self,
        branch: str,
        base: str,
        strategy: str,
        message: str,
        author: Author,
        scratch_dir: Path,
        deadline: Deadline,
    ) -> dict[str, Any]:
        """Merge ``branch`` into the branch ``base`` without touching either on failure.

        The merge is made in a throwaway detached worktree; only when it succeeded is the
        base moved: fast-forwarded in the checkout that has it (git refuses if that would
        overwrite local changes) or moved with a compare-and-set ``update-ref``."""
        if strategy not in MERGE_STRATEGIES:
            raise InvalidInput(
                f"Unknown merge strategy {strategy!r}; use one of {MERGE_STRATEGIES}."
            )
        if not self.branch_exists(base):
            raise Conflict(f"The base {base!r} is not a branch, so nothing can be merged into it.")
        old_base = self.resolve_commit(f"refs/heads/{base}")
        if not self.run(
            "rev-list", "--max-count=1", f"refs/heads/{branch}", f"^{old_base}", "--"
        ).strip():
            raise Conflict(
                f"There is nothing to merge: {base} already contains every commit of the session."
            )
        env = self.effective_author(author, self.path).env()
        scratch = scratch_dir / f"merge-{uuid.uuid4().hex[:12]}"
        scratch_dir.mkdir(parents=True, exist_ok=True)
        start = old_base if strategy != "rebase" else self.resolve_commit(f"refs/heads/{branch}")
        self.run("worktree", "add", "--detach", str(scratch), start, deadline=deadline)
        try:
            try:
                if strategy == "merge":
                    self.run(
                        "merge",
                        "--no-ff",
                        "--no-edit",
                        f"--message={message}",
                        branch,
                        cwd=scratch,
                        env=env,
                        deadline=deadline,
                    )
                elif strategy == "squash":
                    self.run("merge", "--squash", branch, cwd=scratch, env=env, deadline=deadline)
                    self.run(
                        "commit",
                        "--quiet",
                        f"--message={message}",
                        cwd=scratch,
                        env=env,
                        deadline=deadline,
                    )
                else:
                    self.run("rebase", old_base, cwd=scratch, env=env, deadline=deadline)
            except git.GitCommandError as e:
                conflicts = self.run("diff", "--name-only", "--diff-filter=U", cwd=scratch).split()
                raise Conflict(
                    f"The session's changes conflict with {base}; nothing was merged. "
                    "Resolve the conflicts in the session (for example merge the base into it) "
                    "and try again.",
                    details={"conflicts": conflicts, "git": _git_message(e)},
                ) from e
            merged = self.run("rev-parse", "HEAD", cwd=scratch).strip()
        finally:
            self.remove_worktree(scratch, force=True)

        checkout = next(
            (w["worktree"] for w in self.worktrees() if w.get("branch") == f"refs/heads/{base}"),
            None,
        )
        try:
            if checkout:
                self.run(
                    "merge",
                    "--ff-only",
                    "--quiet",
                    merged,
                    cwd=checkout,
                    env=env,
                    deadline=deadline,
                )
            else:
                self.run("update-ref", f"refs/heads/{base}", merged, old_base, deadline=deadline)
        except git.GitCommandError as e:
            raise Conflict(
                f"{base} could not be updated: {_git_message(e)}. Nothing was merged.",
                details={"checkout": checkout},
            ) from e
        return {
            "strategy": strategy,
            "base": base,
            "previous_base_commit": old_base,
            "merged_commit": merged,
        }

    # -- remotes ------------------------------------------------------------------------------

    def remote_url(self, name: str = "origin") -> str | None:
        try:
            return self.run("remote", "get-url", "--", name).strip() or None
        except git.GitCommandError:
            return None

    def push(
        self, worktree: Path, remote: str, branch: str, env: dict[str, str], deadline: Deadline
    ) -> None:
        """Push ``branch`` to the same name on ``remote``. ``env`` carries the credentials for
        this one command (never written to any config)."""
        try:
            self.run(
                "push",
                "--porcelain",
                remote,
                f"refs/heads/{branch}:refs/heads/{branch}",
                cwd=worktree,
                env=env,
                deadline=deadline,
                network=True,
            )
        except git.GitCommandError as e:
            raise push_error(e) from e


def strip_notebook_config(folder: Path) -> tuple[str, ...]:
    """``git -c`` options that run every ``*.ipynb`` through nbstripout (outputs and execution
    counts out, cell ids kept) as it is staged: nbstripout's git filter, declared in an
    attributes file in ``folder`` instead of the repository's config. ``required``: a
    notebook nbstripout cannot read fails the command instead of going in unstripped."""
    attributes = folder / "attributes"
    attributes.write_text("*.ipynb filter=lawless-nbstripout\n", encoding="utf-8")
    command = f"{shlex.quote(sys.executable)} -m nbstripout --keep-id"
    return (
        "-c",
        f"core.attributesFile={attributes}",
        "-c",
        f"filter.lawless-nbstripout.clean={command}",
        "-c",
        "filter.lawless-nbstripout.smudge=cat",
        "-c",
        "filter.lawless-nbstripout.required=true",
    )


def clone(url: str, dest: Path, env: dict[str, str], deadline: Deadline) -> None:
    """Clone ``url`` into ``dest`` (which must not exist). ``env`` carries credentials for
    this one command; ``url`` is what ``origin`` is set to, so it holds none. A failed clone
    leaves nothing behind."""
    try:
        command = ["git", *_SAFE_CONFIG, "clone", "--quiet", "--", url, str(dest)]
        run_git(command, dest.parent, deadline, env, network=True)
    except OperationTimeout:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except git.GitCommandError as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise push_error(e, "clone") from e


def push_error(e: git.GitCommandError, what: str = "push") -> LawlessError:
    """What git said when talking to a remote failed, as an error a person understands."""
    message = _git_message(e)
    lowered = message.lower()
    if any(
        sign in lowered
        for sign in ("authentication failed", "could not read username", " 401", " 403")
    ):
        return UpstreamUnauthorized(
            f"The git server refused the credentials for the {what}; connect GitHub again.",
            details={"git": message},
        )
    if "not found" in lowered or "does not appear to be a git repository" in lowered:
        return NotFound(f"The remote repository was not found: {message}")
    if "rejected" in lowered or "non-fast-forward" in lowered or "fetch first" in lowered:
        return Conflict(
            f"The remote refused the {what}: {message}. Pull or merge the remote changes first.",
            details={"git": message},
        )
    return GitFailed(f"git {what} failed: {message}", details={"git": message})


def _describe(x: str, y: str) -> str:
    if x == "?":
        return "untracked"
    if "U" in (x, y) or (x, y) in (("A", "A"), ("D", "D")):
        return "conflicted"
    for code, word in (("A", "added"), ("D", "deleted"), ("R", "renamed"), ("C", "copied")):
        if code in (x, y):
            return word
    return "modified"


def _unstrippable(e: git.GitCommandError) -> str | None:
    """The notebook nbstripout's filter refused, from git's 'fatal: P: clean filter ...'."""
    match = re.search(r"fatal: (.+): clean filter 'lawless-nbstripout' failed", e.stderr or "")
    return match.group(1) if match else None


def _git_message(e: git.GitCommandError) -> str:
    text = (e.stderr or e.stdout or "").strip()
    text = text.removeprefix("stderr: ").strip().strip("'").strip()
    return text[-2000:] or f"git exited with status {e.status}"


def _inside_a_repository(path: Path) -> bool:
    try:
        git.Repo(path, search_parent_directories=True).close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False
    return True
