"""Workspace sessions: a git worktree on its own branch, recorded in the store.

Knows nothing of HTTP. Every git call runs in a worker thread under a deadline; the session
row moves through the state machine in ``states.py`` by compare-and-set, so two requests
racing on one session cannot both win.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import git

from ..errors import Conflict, InvalidInput, LawlessError, NotFound, storage_problem
from ..store import Store
from . import checkpoints
from .checkpoints import Checkpoint
from .file_versions import session_file_versions
from .gitrepo import (
    Author,
    Deadline,
    GitFailed,
    GitRepository,
    WorktreeDirty,
    clone,
    in_git_thread,
    worktree_admin,
)
from .hooks import hook_files
from .notebook_diff import notebook_path, session_notebook_diff
from .refs import slugify, validate_ref, validate_relative_path, validate_session_name
from .states import SessionState, check_transition

T = TypeVar("T")
S = SessionState
LIVE_STATES = (S.ACTIVE, S.CONNECTED, S.UPDATING)
SCRATCH_DIR_NAME = ".scratch"


@dataclass
class WorkspaceSettings:
    root_dir: Path
    worktrees_dir: Path
    branch_prefix: str = "lawless"
    max_sessions_per_repo: int = 10
    long_timeout: float = 300.0
    short_timeout: float = 60.0
    diff_max_bytes: int = 5_000_000
    run_git_hooks: bool = True  # whether commit, merge and push run the repository's hooks


@dataclass(frozen=True)
class ForkPoint:
    """Where a forked session starts: its source's base, a checkpoint of the source whose
    HEAD the new branch starts at and whose files, index and untracked files it gets."""

    base: str
    base_commit: str
    checkpoint: Checkpoint


class WorkspaceService:
    def __init__(
        self, store: Store, settings: WorkspaceSettings, log: logging.Logger | None = None
    ):
        self.store = store
        self.settings = settings
        self.logger = log or logging.getLogger(__name__)
        self._locks: dict[str, asyncio.Lock] = {}
        # called with the session id before a session is deleted (the chat stops its turn)
        self.before_delete: list[Callable[[str], Awaitable[None]]] = []
        # whether a person's commits strip notebook outputs (their preference; app.py)
        self.strip_outputs_for: Callable[[str], Awaitable[bool]] | None = None

    # -- helpers ----------------------------------------------------------------------------

    async def _git(
        self, fn: Callable[..., T], *args: Any, admin: str | Path | None = None, **kwargs: Any
    ) -> T:
        """Run blocking git work in a thread; unexpected git failures become ``GitFailed``.
        With ``admin`` (a repository path), the work adds or removes worktrees or branches:
        it waits, on the loop, for that repository's turn (``worktree_admin``)."""
        try:
            async with worktree_admin(admin) if admin is not None else nullcontext():
                return await in_git_thread(fn, *args, **kwargs)
        except git.GitCommandError as e:
            self.logger.warning("git failed: %s", e)
            if problem := storage_problem(e, "the repository or its worktrees"):
                raise problem from e
            raise GitFailed(f"git failed: {(e.stderr or '').strip()[-500:] or e.status}") from e
        except OSError as e:
            if problem := storage_problem(e, "the repository or its worktrees"):
                raise problem from e
            raise

    @functools.cached_property
    def _root(self) -> Path:
        return self.settings.root_dir.resolve()  # once: public() runs on the loop

    def _lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    def _long(self, what: str) -> Deadline:
        return Deadline(self.settings.long_timeout, what)

    def _short(self, what: str) -> Deadline:
        return Deadline(self.settings.short_timeout, what)

    async def _exclude(self, gitrepo: GitRepository) -> None:
        """Keep out of git's status what is not the person's work: Jupyter's notebook
        checkpoints, and the worktrees folder when it is inside the repository (the Jupyter
        root is the repository). A failure only warns."""
        worktrees = self.settings.worktrees_dir
        for what, call in (
            (".ipynb_checkpoints/", gitrepo.exclude_checkpoints),
            (worktrees, functools.partial(gitrepo.exclude, worktrees)),
        ):
            try:
                await self._git(call, admin=gitrepo.path)
            except (OSError, LawlessError, git.GitCommandError) as e:
                self.logger.warning(
                    "Could not add %s to %s's .git/info/exclude: %s", what, gitrepo.path, e
                )

    def resolve_repo(self, repo: object) -> tuple[str, Path]:
        """A repository path as given by a person -> (path relative to root, absolute path).

        Relative to the Jupyter root, no '..', and still inside the root once symlinks are
        followed."""
        if not isinstance(repo, str):
            raise InvalidInput(
                "'repo' must be the path of a git repository under the Jupyter root."
            )
        pure = PurePosixPath(repo.strip() or ".")
        if pure.is_absolute() or ".." in pure.parts or "\x00" in repo:
            raise InvalidInput(
                "'repo' must be a path relative to the Jupyter root without '..'.",
                details={"repo": repo[:200]},
            )
        root = self.settings.root_dir.resolve()
        path = (root / pure).resolve()
        if path != root and root not in path.parents:
            raise InvalidInput(
                "'repo' points outside the Jupyter root.", details={"repo": repo[:200]}
            )
        worktrees = self.settings.worktrees_dir.resolve()
        if path == worktrees or worktrees in path.parents:
            raise InvalidInput("That folder is a session worktree; pick the repository itself.")
        if not path.is_dir():
            raise InvalidInput(f"There is no folder {str(pure)!r} under the Jupyter root.")
        rel = path.relative_to(root).as_posix()
        return ("" if rel == "." else rel), path

    def public(self, row: dict[str, Any]) -> dict[str, Any]:
        """The session as the API shows it."""
        worktree = Path(row["worktree_path"])
        root = self._root
        in_root = worktree == root or root in worktree.parents
        return {
            "id": row["id"],
            "name": row["name"],
            "repo": row["repo"],
            "base": row["base"],
            "base_commit": row["base_commit"],
            "branch": row["branch"],
            "worktree_path": row["worktree_path"],
            "worktree_dir": worktree.relative_to(root).as_posix() if in_root else None,
            "state": row["state"],
            "error": row["error"],
            "worker": row.get("worker") or "local",
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    async def _owned(self, user_id: str, session_id: str) -> dict[str, Any]:
        """The session if it exists, is not deleted and belongs to ``user_id``; else 404
        (the same answer for someone else's session, so ids are no oracle)."""
        row = await self.store.get_session(session_id) if _is_uuid(session_id) else None
        if row is None or row["user_id"] != user_id or row["state"] == S.DELETED:
            raise NotFound(f"There is no workspace session {session_id[:64]!r}.")
        return row

    def _repository(self, path: str | Path) -> GitRepository:
        return GitRepository(path, run_hooks=self.settings.run_git_hooks)

    def _live(self, row: dict[str, Any]) -> tuple[GitRepository, Path]:
        if row["state"] not in LIVE_STATES:
            raise Conflict(
                f"The session is {row['state']}; git operations need an active session.",
                details={"state": row["state"]},
            )
        gitrepo, worktree = self._repository(row["repo_path"]), Path(row["worktree_path"])
        if worktree.exists():  # a vanished one is reconciliation's business
            gitrepo.check_worktree(worktree)
        return gitrepo, worktree

    def _hooks_changed(
        self, gitrepo: GitRepository, worktree: Path, base_commit: str, branch: str | None = None
    ) -> list[str]:
        """Hook files the session changed, which git will run (none when hooks are off)."""
        if not self.settings.run_git_hooks:
            return []
        changes = gitrepo.session_changes(worktree, base_commit, branch)
        return hook_files(changes, gitrepo.hooks_path(worktree))

    async def hooks_path(self, user_id: str, session_id: str) -> PurePosixPath | None:
        """The session's ``core.hooksPath`` inside its worktree (for Claude's policy)."""
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        return await self._git(gitrepo.hooks_path, worktree)

    # -- sessions ---------------------------------------------------------------------------

    async def create(
        self,
        user_id: str,
        repo: object,
        base: object = None,
        name: object = None,
        *,
        fork: ForkPoint | None = None,
        session_id: str | None = None,  # chosen by a caller that records it first (attempts)
    ) -> dict[str, Any]:
        """A new session; with ``fork``, one that starts as a checkpoint of another."""
        rel, repo_path = await asyncio.to_thread(self.resolve_repo, repo)  # stats: off the loop
        name = validate_session_name(name)
        if base is not None:
            base = validate_ref(base, "base ref")
        gitrepo = await self._git(self._repository, repo_path)
        if fork is not None:
            base, base_commit = fork.base, fork.base_commit
        elif base is None:  # the checkout's current branch (or commit, when detached)
            base_commit, branch_name = await self._git(gitrepo.head)
            base = branch_name or base_commit
        else:
            base_commit = await self._git(gitrepo.resolve_commit, base)
        if base_commit is None:
            if not await self._git(gitrepo.has_commits):
                raise InvalidInput(
                    f"The repository {rel or '.'!r} has no commits yet; commit once first."
                )
            raise InvalidInput(
                f"The base {base!r} is not a branch, tag or commit of this repository."
            )

        session_id = session_id or str(uuid.uuid4())
        branch = f"{self.settings.branch_prefix}/{session_id}"
        folder = slugify(name) if name else session_id[:8]
        worktrees_dir = await asyncio.to_thread(self.settings.worktrees_dir.resolve)
        worktree = worktrees_dir / slugify(repo_path.name) / folder
        if await asyncio.to_thread(worktree.exists):
            raise Conflict(
                f"A folder already exists at {worktree}; choose another session name.",
                details={"worktree_path": str(worktree)},
            )
        row = await self.store.create_session(
            {
                "id": session_id,
                "user_id": user_id,
                "name": name,
                "repo": rel,
                "repo_path": str(repo_path),
                "base": base,
                "base_commit": base_commit,
                "branch": branch,
                "worktree_path": str(worktree),
            },
            max_live_per_repo=self.settings.max_sessions_per_repo,
        )
        try:
            await self._exclude(gitrepo)
            await self._git(worktree.parent.mkdir, parents=True, exist_ok=True)
            await self._git(
                gitrepo.add_worktree,
                worktree,
                branch,
                fork.checkpoint.head if fork else base_commit,
                self._long("Creating the worktree"),
                admin=repo_path,
            )
            if fork is not None:
                await self._git(
                    self._start_fork, gitrepo, worktree, session_id, branch, fork, admin=repo_path
                )
        except BaseException:
            await self.store.discard_session(session_id)
            raise
        row = await self.store.transition_session(session_id, [S.CREATING], S.ACTIVE)
        await self.store.record_activity(
            user_id, "session.created", {"session_id": session_id, "repo": rel}
        )
        return self.public(row)

    def _start_fork(
        self, gitrepo: GitRepository, worktree: Path, session_id: str, branch: str, fork: ForkPoint
    ) -> None:
        """The fork's worktree gets the checkpoint's files and index, which its own ref keeps;
        on failure the worktree, its branch and its refs go (runs under ``worktree_admin``)."""
        ref = f"{checkpoints.session_refs(session_id)}forked-from"
        try:
            gitrepo.run("update-ref", ref, fork.checkpoint.commit, cwd=worktree)
            checkpoints.restore(
                gitrepo,
                worktree,
                fork.checkpoint.commit,
                branch,
                self._long("Copying the worktree"),
            )
        except BaseException:
            gitrepo.remove_worktree(worktree, force=True)
            if gitrepo.branch_exists(branch):
                gitrepo.delete_branch(branch)
            checkpoints.drop_all(gitrepo, session_id)
            raise

    async def list(self, user_id: str, repo: object = None) -> list[dict[str, Any]]:
        repo_path = None
        if repo is not None:
            repo_path = str((await asyncio.to_thread(self.resolve_repo, repo))[1])
        rows = await self.store.list_sessions(user_id, repo_path=repo_path)
        return [self.public(r) for r in rows]

    async def get(self, user_id: str, session_id: str) -> dict[str, Any]:
        return self.public(await self._owned(user_id, session_id))

    async def delete(
        self,
        user_id: str,
        session_id: str,
        *,
        force: bool = False,
        keep_branch: bool = False,  # keep it whatever it holds (attempts not chosen)
        keep_unmerged: bool = False,  # keep a branch with unmerged commits even with force
    ) -> dict[str, Any]:
        async with self._lock(session_id):
            row = await self._owned(user_id, session_id)
            check_transition(row["state"], S.DELETING)
            for hook in self.before_delete:
                await hook(session_id)
            row = await self._owned(user_id, session_id)  # a stopped chat moved it back
            gitrepo = await self._git(self._repository, row["repo_path"])
            before = row["state"]
            row = await self.store.transition_session(session_id, [before], S.DELETING)
            if row is None:
                raise Conflict("The session changed while it was being deleted; try again.")
            try:
                result = await self._git(
                    self._remove,
                    gitrepo,
                    row,
                    force,
                    keep_branch,
                    keep_unmerged,
                    admin=row["repo_path"],
                )
            except WorktreeDirty:  # git refused and removed nothing: the session is as it was
                await self.store.transition_session(
                    session_id, [S.DELETING], before, detail="deletion refused: uncommitted changes"
                )
                raise
            except BaseException as e:
                await self.store.transition_session(
                    session_id, [S.DELETING], S.FAILED, error=f"deletion failed: {e}"[:1000]
                )
                raise
            row = await self.store.transition_session(session_id, [S.DELETING], S.DELETED)
        self._locks.pop(session_id, None)
        await self.store.record_activity(
            user_id, "session.deleted", {"session_id": session_id, **result}
        )
        return {"session": self.public(row), **result}

    def _inside_worktrees(self, row: dict[str, Any]) -> Path | None:
        """The session's worktree path if it is strictly inside ``worktrees_dir`` (symlinks
        followed), else None: whatever the store says, nothing outside is ever deleted or
        checked out over."""
        path = Path(row["worktree_path"])
        root = self.settings.worktrees_dir.resolve()
        real = path.resolve()
        return path if real != root and real.is_relative_to(root) else None

    def _remove(
        self,
        gitrepo: GitRepository,
        row: dict[str, Any],
        force: bool,
        keep_branch: bool = False,
        keep_unmerged: bool = False,
    ) -> dict[str, Any]:
        """Remove the worktree; delete the branch unless that would lose commits (or the
        caller keeps it)."""
        worktree = self._inside_worktrees(row)
        if worktree is None:
            raise Conflict(
                "The session's worktree path is not inside the worktrees folder; nothing was "
                "deleted. Its row was changed outside this server.",
                details={"worktree_path": row["worktree_path"]},
            )
        gitrepo.remove_worktree(worktree, force=force, deadline=self._long("Deleting the session"))
        checkpoints.drop_all(gitrepo, row["id"])  # its turns' checkpoints go with it
        branch = row["branch"]
        if keep_branch or not gitrepo.branch_exists(branch):
            return {"branch_deleted": False, "unmerged_commits": 0}
        base_now = gitrepo.resolve_commit(row["base"])
        unmerged = gitrepo.unmerged_commits(
            branch, [base_now, row["base_commit"], row["merged_head"]]
        )
        if unmerged and (keep_unmerged or not force):
            return {"branch_deleted": False, "unmerged_commits": len(unmerged)}
        gitrepo.delete_branch(branch)
        return {"branch_deleted": True, "unmerged_commits": len(unmerged)}

    async def set_chat_attached(self, session_id: str, attached: bool) -> None:
        """``connected`` while a chat turn runs in the session, ``active`` after."""
        if attached:
            moved = await self.store.transition_session(session_id, [S.ACTIVE], S.CONNECTED)
            if moved is None:
                raise Conflict("The session is busy; try again in a moment.")
        else:
            await self.store.transition_session(session_id, [S.CONNECTED], S.ACTIVE)

    # -- git on a session ---------------------------------------------------------------------

    async def status(self, user_id: str, session_id: str) -> dict[str, Any]:
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        files = await self._git(gitrepo.status, worktree, self._short("Reading the status"))
        head = await self._git(gitrepo.resolve_commit, "HEAD", worktree)
        ahead = await self._git(gitrepo.unmerged_commits, row["branch"], [row["base_commit"]])
        hooks = await self._git(self._hooks_changed, gitrepo, worktree, row["base_commit"])
        return {
            "branch": row["branch"],
            "head": head,
            "base": row["base"],
            "ahead": len(ahead),
            "clean": not files,
            "files": files,
            "hooks_changed": hooks,
        }

    async def diff(
        self, user_id: str, session_id: str, against: str = "base", *, patch: bool = True
    ) -> dict[str, Any]:
        if against not in ("base", "head"):
            raise InvalidInput("'against' must be 'base' or 'head'.")
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        target = row["base_commit"] if against == "base" else "HEAD"
        result = await self._git(
            gitrepo.diff,
            worktree,
            target,
            max_bytes=self.settings.diff_max_bytes,
            deadline=self._short("The diff"),
            patch=patch,
        )
        commit = await self._git(gitrepo.resolve_commit, target, worktree)
        return {**result, "against": against, "commit": commit}

    async def files(self, user_id: str, session_id: str, limit: int = 5000) -> dict[str, Any]:
        """The worktree's files (tracked and untracked, not ignored), for @-mentions."""
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        files = await self._git(gitrepo.list_files, worktree, self._short("Listing the files"))
        return {"files": files[:limit], "truncated": len(files) > limit}

    async def notebook_diff(
        self, user_id: str, session_id: str, path: object, against: str = "base"
    ) -> dict[str, Any]:
        """One changed notebook, cell by cell (nbdime's format; see notebook_diff.py)."""
        _check_against(against)
        path = notebook_path(path)
        return await self._changed_file(user_id, session_id, against, path, session_notebook_diff)

    async def file_versions(
        self, user_id: str, session_id: str, path: object, against: str = "base"
    ) -> dict[str, Any]:
        """One changed file's old and new text, whole (see file_versions.py)."""
        _check_against(against)
        if path is None or path == "":
            raise InvalidInput("'path' is required: a file's path in the worktree.")
        path = validate_relative_path(path)
        return await self._changed_file(user_id, session_id, against, path, session_file_versions)

    async def _changed_file(
        self, user_id: str, session_id: str, against: str, path: str, read: Callable[..., Any]
    ) -> dict[str, Any]:
        """``read(gitrepo, worktree, commit, path, max_bytes)`` of one of the session's
        changed files, against the base commit or HEAD, off the loop."""
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        commit = row["base_commit"]
        if against == "head":
            commit = await self._git(gitrepo.resolve_commit, "HEAD", worktree)
        limit = self.settings.diff_max_bytes
        result = await self._git(read, gitrepo, worktree, commit, path, limit)
        return {**result, "against": against, "commit": commit}

    async def log(
        self, user_id: str, session_id: str, *, limit: int = 50, all_history: bool = False
    ) -> dict[str, Any]:
        if not 1 <= limit <= 1000:
            raise InvalidInput("'limit' must be between 1 and 1000.")
        row = await self._owned(user_id, session_id)
        gitrepo, worktree = await self._git(self._live, row)
        revisions = ["HEAD"] if all_history else ["HEAD", f"^{row['base_commit']}"]
        commits = await self._git(
            gitrepo.log, worktree, revisions, limit, self._short("Reading the log")
        )
        return {"commits": commits}

    async def commit(
        self, user_id: str, session_id: str, message: object, paths: object, author: Author
    ) -> dict[str, Any]:
        if not isinstance(message, str) or not message.strip():
            raise InvalidInput("A commit needs a non-empty 'message'.")
        if paths is not None:
            if not isinstance(paths, list) or not paths:
                raise InvalidInput("'paths' must be a non-empty list of paths in the worktree.")
            paths = [validate_relative_path(p) for p in paths]
        strip = bool(self.strip_outputs_for and await self.strip_outputs_for(user_id))
        async with self._updating(user_id, session_id) as row:
            gitrepo, worktree = await self._git(self._live, row)
            hooks = await self._git(self._hooks_changed, gitrepo, worktree, row["base_commit"])
            result = await self._git(
                gitrepo.commit,
                worktree,
                message,
                paths,
                author,
                self._short("The commit"),
                strip_notebooks=strip,
            )
            return {**result, "hooks_changed": hooks}

    async def merge(
        self, user_id: str, session_id: str, strategy: object, message: object, author: Author
    ) -> dict[str, Any]:
        strategy = "merge" if strategy is None else strategy
        if strategy not in ("merge", "squash", "rebase"):
            raise InvalidInput("'strategy' must be one of merge, squash, rebase.")
        async with self._updating(user_id, session_id) as row:
            if message is not None and (not isinstance(message, str) or not message.strip()):
                raise InvalidInput("'message' must be a non-empty string when given.")
            label = row["name"] or row["id"][:8]
            message = message or f"Merge workspace session {label} into {row['base']}"
            gitrepo, worktree = await self._git(self._live, row)
            branch_tip = await self._git(gitrepo.resolve_commit, f"refs/heads/{row['branch']}")
            hooks = await self._git(
                self._hooks_changed, gitrepo, worktree, row["base_commit"], row["branch"]
            )
            result = await self._git(
                gitrepo.merge_into_base,
                row["branch"],
                row["base"],
                strategy,
                message,
                author,
                self.settings.worktrees_dir / SCRATCH_DIR_NAME,
                self._long("The merge"),
                admin=row["repo_path"],
            )
            await self.store.update_session(session_id, merged_head=branch_tip)
            return {**result, "hooks_changed": hooks}

    # -- checkpoints of turns (checkpoints.py) --------------------------------------------------

    async def owned(self, user_id: str, session_id: str) -> dict[str, Any]:
        """The session's row (404 unless it is ``user_id``'s and not deleted)."""
        return await self._owned(user_id, session_id)

    async def _hookless(self, row: dict[str, Any]) -> tuple[GitRepository, Path]:
        """The session's repository for checkpoint work, which runs no hook of the
        repository (``update-ref`` would run a reference-transaction hook on every turn)."""
        gitrepo, worktree = await self._git(self._live, row)
        gitrepo.run_hooks = False
        return gitrepo, worktree

    async def checkpoint(self, row: dict[str, Any], ref: str | None, label: str) -> Checkpoint:
        """Record the worktree's whole state (HEAD, index, files) under ``ref``."""
        gitrepo, worktree = await self._hookless(row)
        return await self._git(
            checkpoints.record, gitrepo, worktree, ref, label, self._short("The checkpoint")
        )

    async def changes_since(self, row: dict[str, Any], tree: str) -> list[str]:
        """Paths whose content differs now from a checkpoint's worktree ``tree``."""
        gitrepo, worktree = await self._hookless(row)

        def changes() -> list[str]:
            _, now = checkpoints.worktree_trees(gitrepo, worktree, self._short("The diff"))
            return checkpoints.changed_paths(gitrepo, worktree, tree, now)

        return await self._git(changes)

    async def restore(self, row: dict[str, Any], commit: str) -> None:
        """Put the worktree back as checkpoint ``commit`` recorded it (hold ``updating``)."""
        gitrepo, worktree = await self._hookless(row)
        await self._git(
            checkpoints.restore, gitrepo, worktree, commit, row["branch"], self._long("The rewind")
        )

    def updating(self, user_id: str, session_id: str):
        """Hold the session in ``updating`` for a change of its worktree (409 while a turn
        runs or another change is under way)."""
        return self._updating(user_id, session_id)

    # -- remotes ------------------------------------------------------------------------------

    async def origin_url(self, user_id: str, session_id: str) -> str | None:
        """The URL of the session repository's ``origin`` remote (None without one)."""
        row = await self._owned(user_id, session_id)
        gitrepo, _ = await self._git(self._live, row)
        return await self._git(gitrepo.remote_url, "origin")

    async def push(self, user_id: str, session_id: str, env: dict[str, str]) -> dict[str, Any]:
        """Push the session's branch to ``origin``; ``env`` carries the credentials for this
        one git command."""
        async with self._updating(user_id, session_id) as row:
            gitrepo, worktree = await self._git(self._live, row)
            await self._git(
                gitrepo.push, worktree, "origin", row["branch"], env, self._long("The push")
            )
            head = await self._git(gitrepo.resolve_commit, f"refs/heads/{row['branch']}")
        await self.store.record_activity(
            user_id, "session.pushed", {"session_id": session_id, "head": head}
        )
        return {"branch": row["branch"], "base": row["base"], "head": head}

    async def clone(self, user_id: str, url: str, path: object, env: dict[str, str]) -> dict:
        """Clone ``url`` into ``path`` (relative to the Jupyter root, not there yet)."""
        if not isinstance(path, str) or not path.strip():
            raise InvalidInput("'path' must be a folder name under the Jupyter root.")
        rel = validate_relative_path(path.strip())
        root = self._root
        dest = await asyncio.to_thread(self._clone_target, root, rel)
        await self._git(clone, url, dest, env, self._long("The clone"))
        await self.store.record_activity(user_id, "repo.cloned", {"repo": rel, "url": url})
        return {"repo": dest.relative_to(root).as_posix()}

    @asynccontextmanager
    async def _updating(self, user_id: str, session_id: str) -> AsyncIterator[dict[str, Any]]:
        """Hold the session in ``updating`` (from ``active``) for a git change."""
        async with self._lock(session_id):
            row = await self._owned(user_id, session_id)
            if row["state"] == S.CONNECTED:
                raise Conflict("A chat turn is running in this session; wait for it to end.")
            check_transition(row["state"], S.UPDATING)
            moved = await self.store.transition_session(session_id, [S.ACTIVE], S.UPDATING)
            if moved is None:
                raise Conflict("The session changed meanwhile; try again.")
            try:
                yield moved
            finally:
                await self.store.transition_session(session_id, [S.UPDATING], S.ACTIVE)

    def _clone_target(self, root: Path, rel: str) -> Path:
        """Where a clone of ``rel`` goes, checked and made ready (file-system calls)."""
        dest = (root / rel).resolve()
        if root not in dest.parents:
            raise InvalidInput("'path' points outside the Jupyter root.", details={"path": rel})
        worktrees = self.settings.worktrees_dir.resolve()
        if dest == worktrees or worktrees in dest.parents:
            raise InvalidInput("'path' is inside the session worktrees folder; pick another.")
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise Conflict(f"{rel!r} already exists under the Jupyter root; pick another folder.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.rmdir()  # git clones into an empty folder only if it makes it itself
        return dest

    # -- start-up reconciliation ---------------------------------------------------------------

    async def reconcile(self) -> dict[str, list[dict[str, Any]]]:
        """Repair what a crash left behind; report what cannot be repaired safely.

        Never deletes anything a person wrote: a worktree is only removed if it was never
        handed out (``creating``) and a branch only if it has no commit of its own."""
        report: dict[str, list[dict[str, Any]]] = {"repaired": [], "failed": [], "orphans": []}
        for row in await self.store.sessions_in_states([S.UPDATING, S.CONNECTED]):
            if row.get("worker"):  # runs on a remote worker, which looks after it
                continue
            await self.store.transition_session(
                row["id"], [row["state"]], S.ACTIVE, detail="reset after restart"
            )
        for row in await self.store.sessions_in_states([S.CREATING, S.DELETING, S.ACTIVE]):
            if row.get("worker"):
                continue
            try:
                outcome = await self._git(self._reconcile_one, row, admin=row["repo_path"])
            except Exception as e:  # a broken repository must not stop the server starting
                outcome = ("failed", f"could not check the repository: {e}")
            kind, detail = outcome
            if kind == "ok":
                continue
            target = {"active": S.ACTIVE, "deleted": S.DELETED, "failed": S.FAILED}[kind]
            if target != row["state"]:
                expected = [row["state"]]
                if row["state"] == S.ACTIVE and target == S.FAILED:
                    # active cannot fail directly; record the problem and go through deleting
                    await self.store.update_session(row["id"], error=detail)
                else:
                    await self.store.transition_session(
                        row["id"],
                        expected,
                        target,
                        detail=detail,
                        error=detail if target == S.FAILED else None,
                    )
            entry = {
                "session_id": row["id"],
                "repo": row["repo"],
                "state": row["state"],
                "outcome": kind,
                "detail": detail,
            }
            report["failed" if kind == "failed" else "repaired"].append(entry)
        owned = {
            r["worktree_path"]
            for r in await self.store.sessions_in_states([s for s in S if s != S.DELETED])
        }
        report["orphans"] = await self._git(self._orphan_worktrees, owned)
        for entry in report["failed"] + report["orphans"]:
            self.logger.warning("lawless_jupyter reconciliation: %s", entry)
        for entry in report["repaired"]:
            self.logger.info("lawless_jupyter reconciliation: %s", entry)
        return report

    def _reconcile_one(self, row: dict[str, Any]) -> tuple[str, str | None]:
        worktree = self._inside_worktrees(row)
        if worktree is None:  # never delete or check out anything outside worktrees_dir
            return "failed", "the worktree path is not inside the worktrees folder; left alone"
        try:
            gitrepo = self._repository(row["repo_path"])
        except InvalidInput as e:
            return "failed", f"the repository is gone or broken: {e.message}"
        registered = any(Path(w["worktree"]) == worktree for w in gitrepo.worktrees())
        has_branch = gitrepo.branch_exists(row["branch"])
        state = row["state"]
        if state == S.CREATING:
            if registered and worktree.exists() and has_branch:
                return "active", "creation finished before the restart"
            gitrepo.remove_worktree(worktree, force=True)  # never handed out: nothing of the user's
            if has_branch and not gitrepo.unmerged_commits(row["branch"], [row["base_commit"]]):
                gitrepo.delete_branch(row["branch"])
            return "failed", "the server stopped while the session was being created"
        if state == S.DELETING:
            if worktree.exists():
                return "failed", "the server stopped during deletion; delete the session again"
            gitrepo.run("worktree", "prune")
            return "deleted", "deletion finished after the restart (branch kept)"
        # active
        if worktree.exists() and registered:
            return "ok", None
        if has_branch and not worktree.exists():
            gitrepo.run("worktree", "prune")
            worktree.parent.mkdir(parents=True, exist_ok=True)
            gitrepo.run("worktree", "add", str(worktree), row["branch"])
            return (
                "active",
                "the worktree folder was missing; it was checked out again from the branch",
            )
        return "failed", "the worktree and its branch are missing"

    def _orphan_worktrees(self, owned: set[str]) -> list[dict[str, Any]]:
        """Folders in the worktrees directory that no live session owns (reported only)."""
        root = self.settings.worktrees_dir
        scratch = root / SCRATCH_DIR_NAME
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)  # our own merge scratch space
        if not root.exists():
            return []
        return [
            {"path": str(p), "detail": "a folder in the worktrees directory that no session owns"}
            for p in sorted(root.resolve().glob("*/*"))
            if p.is_dir() and str(p) not in owned
        ]


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_against(against: object) -> None:
    if against not in ("base", "head"):
        raise InvalidInput("'against' must be 'base' or 'head'.")
