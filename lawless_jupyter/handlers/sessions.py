"""Workspace sessions and the git operations on them."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..digits import digits
from ..errors import InvalidInput
from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent


class SessionsHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # git worktree add runs the repo's hooks

    @web.authenticated
    @authorized
    async def get(self) -> None:
        repo = self.get_query_argument("repo", None)
        sessions = await self.lawless.workspace.list(self.identity.user_id, repo)
        self.reply({"sessions": sessions})

    @web.authenticated
    @authorized
    @idempotent
    async def post(self) -> None:
        body = self.json_body("repo", "base", "name", "worker")
        if "repo" not in body:
            raise InvalidInput("'repo' is required: the path of a git repository under the root.")
        user_id = self.identity.user_id
        fields = {k: body[k] for k in ("repo", "base", "name") if body.get(k) is not None}
        session = await self.lawless.remote.create(
            user_id,
            fields,
            body.get("worker"),
            lambda: self.lawless.workspace.create(
                user_id, body["repo"], body.get("base"), body.get("name")
            ),
        )
        self.reply({"session": session}, status=201)


class SessionHandler(LawlessHandler):
    auth_actions = {"DELETE": EXECUTE}  # deleting the branch runs git hooks

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        session = await self.lawless.workspace.get(self.identity.user_id, session_id)
        self.reply({"session": session})

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        result = await self.lawless.workspace.delete(
            self.identity.user_id, session_id, force=self.flag("force")
        )
        self.reply(result)


class GitStatusHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.reply(await self.lawless.workspace.status(self.identity.user_id, session_id))


class GitDiffHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        against = self.get_query_argument("against", "base")
        patch = not self.flag("files_only")  # the diff tab reads each file's texts itself
        self.reply(
            await self.lawless.workspace.diff(
                self.identity.user_id, session_id, against, patch=patch
            )
        )


class GitFilesHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.reply(await self.lawless.workspace.files(self.identity.user_id, session_id))


class GitNotebookDiffHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        result = await self.lawless.workspace.notebook_diff(
            self.identity.user_id,
            session_id,
            self.get_query_argument("path", None),
            self.get_query_argument("against", "base"),
        )
        self.reply(result)


class GitFileVersionsHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        result = await self.lawless.workspace.file_versions(
            self.identity.user_id,
            session_id,
            self.get_query_argument("path", None),
            self.get_query_argument("against", "base"),
        )
        self.reply(result)


class GitLogHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        limit = self.get_query_argument("limit", "50")
        if not digits(limit):
            raise InvalidInput("'limit' must be a whole number.")
        result = await self.lawless.workspace.log(
            self.identity.user_id, session_id, limit=int(limit), all_history=self.flag("all")
        )
        self.reply(result)


class GitCommitHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # git commit runs the repo's hooks

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("message", "paths")
        identity = self.identity
        result = await self.lawless.workspace.commit(
            identity.user_id, session_id, body.get("message"), body.get("paths"), identity.author
        )
        self.reply({"commit": result}, status=201)


class GitMergeHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # git merge runs the repo's hooks

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("strategy", "message")
        identity = self.identity
        result = await self.lawless.workspace.merge(
            identity.user_id, session_id, body.get("strategy"), body.get("message"), identity.author
        )
        self.reply({"merge": result})
