"""``LawlessApp``: the Jupyter Server extension. Configuration, services, routes, lifecycle."""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate

from . import metrics
from ._version import __version__
from .chat import ChatService, ChatSettings, ClaudeSettings
from .chat.permissions import MODES as PERMISSION_MODES
from .connections import ConnectionSettings, ConnectionsService, GitHubSettings
from .errors import Conflict
from .handlers import handlers
from .preferences import PreferenceRules, PreferencesService
from .ratelimit import SlidingWindowLimit
from .remote import RemoteSessions
from .store import Store
from .terminals import TerminalService, TerminalSettings
from .vault import Vault, VaultError, VaultKeyError, load_or_create_key_file, parse_keys
from .workers import WorkerRegistry, WorkerSettings, parse_workers
from .workspace import WorkspaceService, WorkspaceSettings
from .workspace.refs import ref_format_error


def _from_environment(trait: str, *variables: str) -> Any:
    """A trait's default: the first of ``variables`` set in the environment (else empty)."""

    @default(trait)
    def _default(self: Any) -> str:
        return next((os.environ[v] for v in variables if os.environ.get(v)), "")

    return _default


class LawlessApp(ExtensionApp):
    """Work with a coding agent inside JupyterLab, one git worktree per session."""

    name = "lawless_jupyter"
    load_other_extensions = True

    # -- where things live -------------------------------------------------------------------

    db_path = Unicode(
        "",
        config=True,
        help="The SQLite database. Default: lawless_jupyter/lawless.db in the Jupyter data dir.",
    )
    worktrees_dir = Unicode(
        "",
        config=True,
        help="Where session worktrees are created (one folder per repository). Default: "
        "'lawless-worktrees' in the Jupyter root, so the file browser can open them.",
    )
    branch_prefix = Unicode(
        "lawless", config=True, help="Session branches are named <branch_prefix>/<session id>."
    )

    # -- limits ----------------------------------------------------------------------------------

    max_sessions_per_repo = Int(
        10, config=True, help="Live workspace sessions allowed per repository (429 beyond)."
    )
    long_operation_timeout = Float(
        300.0, config=True, help="Seconds allowed for long operations (create, clone, merge)."
    )
    short_operation_timeout = Float(
        60.0, config=True, help="Seconds allowed for short operations (status, diff, commit...)."
    )
    max_body_bytes = Int(
        1024 * 1024, config=True, help="Largest accepted request body (413 beyond)."
    )
    diff_max_bytes = Int(
        5_000_000, config=True, help="A diff longer than this is cut (and says so)."
    )

    # -- chat ------------------------------------------------------------------------------------

    claude_model = Unicode(
        None, allow_none=True, config=True, help="The Claude model (default: Claude Code's)."
    )
    allowed_models = List(
        Unicode(), config=True, help="Models a person may pick per session (empty: any)."
    )
    permission_mode = Enum(
        list(PERMISSION_MODES),
        "default",
        config=True,
        help="What Claude may do without asking. default: read and edit inside the worktree, "
        "ask for shell commands and everything else; ask: edits ask too; read_only: only "
        "reads; trusted: everything inside the worktree. Paths outside are always refused.",
    )
    allowed_permission_modes = List(
        Enum(list(PERMISSION_MODES)),
        list(PERMISSION_MODES),
        config=True,
        help="Permission modes a person may pick per session.",
    )
    free_chat_permission_mode = Enum(
        list(PERMISSION_MODES),
        "read_only",
        config=True,
        help="Permission mode of a chat not tied to a worktree (api/chat), in the root.",
    )
    allowed_tools = List(Unicode(), config=True, help="Tools Claude may use without asking.")
    disallowed_tools = List(Unicode(), config=True, help="Tools Claude may never use.")
    claude_cli_path = Unicode(
        None, allow_none=True, config=True, help="Claude Code CLI (default: the bundled one)."
    )
    claude_env = Dict(
        config=True,
        help="Extra environment for Claude Code (credentials are read from the server's own "
        "environment as Claude Code reads them: ANTHROPIC_API_KEY, a Claude login, Bedrock...).",
    )
    claude_max_retries = Int(2, config=True, help="API retries of Claude Code before an error.")
    chat_idle_timeout = Float(
        600.0, config=True, help="Seconds before an idle Claude Code process is closed."
    )
    approval_timeout = Float(
        300.0, config=True, help="Seconds an approval request waits before counting as deny."
    )
    cancel_grace = Float(
        5.0, config=True, help="Seconds a cancelled turn gets to stop before Claude is killed."
    )
    sse_keepalive_interval = Float(15.0, config=True, help="Seconds between SSE keepalives.")
    chat_messages_per_hour = Int(100, config=True, help="Chat messages per user per hour.")
    api_requests_per_hour = Int(1000, config=True, help="API requests per user per hour.")

    # -- terminals ---------------------------------------------------------------------------------

    max_terminals_per_user = Int(5, config=True, help="Session terminals open at once per user.")
    terminal_output_cap_bytes = Int(
        1_000_000, config=True, help="Output kept per terminal (the newest; older is let go)."
    )
    terminal_keepalive_interval = Float(
        30.0, config=True, help="Seconds between keepalives the panel sends on a terminal."
    )

    # -- Supabase mirror -----------------------------------------------------------------------

    supabase_url = Unicode(
        config=True,
        help="The Supabase project URL (https://<ref>.supabase.co) to mirror sessions, "
        "conversations, messages and activity to. Empty: no mirror, SQLite only. "
        "Default: $SUPABASE_URL.",
    )
    supabase_key = Unicode(
        config=True,
        help="The key the mirror writes with: the project's service role key (the server "
        "sets user_id on every row; row level security is for clients). Default: "
        "$SUPABASE_SERVICE_ROLE_KEY, else $SUPABASE_KEY. Never logged or shown.",
    )
    supabase_batch_size = Int(200, config=True, help="Outbox rows sent per request, at most.")
    supabase_timeout = Float(10.0, config=True, help="Seconds per request to Supabase.")
    supabase_retry_max_delay = Float(
        60.0, config=True, help="Longest wait between tries while Supabase is unavailable."
    )
    supabase_pull_interval = Float(
        30.0,
        config=True,
        help="Seconds between pulls of newer versions (last-write-wins) of the rows this "
        "server holds, which also serve as the heartbeat of the status route.",
    )

    _default_supabase_url = _from_environment("supabase_url", "SUPABASE_URL")
    _default_supabase_key = _from_environment(
        "supabase_key", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_KEY"
    )

    @validate("supabase_url")
    def _check_supabase_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        if value and not value.startswith(("https://", "http://")):
            raise TraitError("supabase_url must start with https:// (or http://)")
        return value

    # -- connections (GitHub, Vercel) and the token vault ------------------------------------

    vault_keys = Unicode(
        config=True,
        help="Keys of the token vault (AES-256-GCM), newest first: '<id>:<base64 of 32 "
        "bytes>', comma separated. The newest encrypts, all decrypt; tokens sealed with an "
        "older key are re-encrypted at start-up. Default: $LAWLESS_VAULT_KEYS; with neither, "
        "a key file is made once (vault_key_file).",
    )
    vault_key_file = Unicode(
        "",
        config=True,
        help="The key file used when no vault_keys are set (made once, mode 0600). Default: "
        "lawless_jupyter/vault.key in the Jupyter data dir.",
    )
    github_client_id = Unicode(
        config=True,
        help="Client id of the GitHub OAuth app (web and device flow). Default: "
        "$LAWLESS_GITHUB_CLIENT_ID.",
    )
    github_client_secret = Unicode(
        config=True,
        help="Client secret of the GitHub OAuth app (the web flow needs it; the device flow "
        "does not). Default: $LAWLESS_GITHUB_CLIENT_SECRET. Never logged or shown.",
    )
    github_url = Unicode(
        "https://github.com",
        config=True,
        help="GitHub's web address: OAuth endpoints and git remotes (GitHub Enterprise: "
        "https://<host>). Tokens are only ever sent to this host and github_api_url.",
    )
    github_api_url = Unicode(
        "https://api.github.com",
        config=True,
        help="GitHub's REST API (GitHub Enterprise: https://<host>/api/v3).",
    )
    github_scopes = Unicode("repo read:user", config=True, help="OAuth scopes asked for.")
    github_redirect_uri = Unicode(
        "",
        config=True,
        help="The OAuth callback URL registered with the GitHub app. Default: made from the "
        "request, <scheme>://<host><base_url>lawless/api/auth/github/callback (set it behind a "
        "proxy that changes the host or scheme).",
    )
    github_token_env = Unicode(
        "GITHUB_ACCESS_TOKEN",
        config=True,
        help="Environment variable holding a GitHub token handed to the server (JupyterHub's "
        "GitHub OAuthenticator auth state); used for the server's owner when they have not "
        "connected GitHub themselves. Empty: never.",
    )
    vercel_api_url = Unicode("https://api.vercel.com", config=True, help="Vercel's REST API.")
    connections_timeout = Float(20.0, config=True, help="Seconds per request to GitHub or Vercel.")

    _default_vault_keys = _from_environment("vault_keys", "LAWLESS_VAULT_KEYS")
    _default_github_client_id = _from_environment("github_client_id", "LAWLESS_GITHUB_CLIENT_ID")
    _default_github_client_secret = _from_environment(
        "github_client_secret", "LAWLESS_GITHUB_CLIENT_SECRET"
    )

    @validate("github_url", "github_api_url", "vercel_api_url")
    def _check_service_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise TraitError(f"{proposal['trait'].name} must start with https:// (or http://)")
        return value

    # -- workers -------------------------------------------------------------------------------

    workers = List(
        Dict(),
        config=True,
        help="Remote workers: other Jupyter servers running this extension in worker mode, "
        "where sessions can run. Each is a dict {id, name, url, region, features, "
        "api_key_env}: url is the worker's base URL (https, or http on loopback), "
        "api_key_env the environment variable holding its worker API key. The local "
        "worker (id 'local', this server) is always there.",
    )
    worker_check_timeout = Float(
        5.0, config=True, help="Seconds a worker has to answer a health check."
    )
    worker_status_cache_seconds = Float(
        3.0, config=True, help="Seconds worker health is cached (shared by every caller)."
    )
    worker_degraded_latency = Float(
        2.0, config=True, help="A worker answering slower than this (seconds) is 'degraded'."
    )
    worker_retry_delays = List(
        Float(),
        [1.0, 2.0, 4.0],
        config=True,
        help="Seconds between retries of an idempotent request a worker answered with "
        "502/503 or did not answer at all.",
    )
    prefer_remote_workers = Bool(
        False,
        config=True,
        help="New sessions with no worker chosen go to the first usable worker: this server "
        "first (default), or with this on the configured workers in order, this server last.",
    )
    allow_insecure_workers = Bool(
        False,
        config=True,
        help="Allow plain HTTP to a non-loopback worker (the API key travels in the clear).",
    )
    worker_api_key = Unicode(
        config=True,
        help="Worker mode: the API key a frontend server sends as X-API-Key (with the user "
        "in X-Lawless-User). Empty: worker mode off, such headers grant nothing. "
        "Default: $LAWLESS_WORKER_API_KEY. Never logged or shown.",
    )

    _default_worker_api_key = _from_environment("worker_api_key", "LAWLESS_WORKER_API_KEY")

    @validate("workers")
    def _check_workers(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            parse_workers(proposal["value"], environ={})
        except ValueError as e:
            raise TraitError(str(e)) from e
        return proposal["value"]

    @validate("worker_api_key")
    def _check_worker_api_key(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        if value and len(value) < 16:
            raise TraitError("worker_api_key must be at least 16 characters")
        return value

    # -- monitoring ----------------------------------------------------------------------------

    metrics_interval = Float(
        15.0,
        config=True,
        help="Seconds between refreshes of the gauges on Jupyter's /metrics (sessions, "
        "terminals, outbox depth, worker status).",
    )

    # -- identity ------------------------------------------------------------------------------

    owner = Unicode(
        config=True,
        help="The user that owns the data on a single-user server (where Jupyter's own identity "
        "provider does not name users). Default: $JUPYTERHUB_USER, else the OS user.",
    )
    commit_email_domain = Unicode(
        "users.noreply.jupyter.local",
        config=True,
        help="Commits are signed <user>@<commit_email_domain> unless git config says otherwise.",
    )

    @default("owner")
    def _default_owner(self) -> str:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()

    @validate("branch_prefix")
    def _check_branch_prefix(self, proposal: dict[str, Any]) -> str:
        problem = ref_format_error(proposal["value"])
        if problem:
            raise TraitError(f"branch_prefix {proposal['value']!r} is not a valid ref: {problem}")
        return proposal["value"]

    @validate(
        "max_sessions_per_repo",
        "max_body_bytes",
        "diff_max_bytes",
        "chat_messages_per_hour",
        "api_requests_per_hour",
        "max_terminals_per_user",
        "terminal_output_cap_bytes",
        "supabase_batch_size",
    )
    def _check_positive_int(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return proposal["value"]

    @validate(
        "long_operation_timeout",
        "short_operation_timeout",
        "chat_idle_timeout",
        "approval_timeout",
        "cancel_grace",
        "sse_keepalive_interval",
        "supabase_timeout",
        "supabase_retry_max_delay",
        "supabase_pull_interval",
        "connections_timeout",
        "worker_check_timeout",
        "worker_status_cache_seconds",
        "worker_degraded_latency",
        "metrics_interval",
    )
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be more than 0 seconds")
        return proposal["value"]

    # -- lifecycle ------------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        self.started_at = time.time()
        root = Path(self.serverapp.root_dir).resolve()
        db_path = (
            Path(self.db_path)
            if self.db_path
            else (Path(jupyter_data_dir()) / "lawless_jupyter" / "lawless.db")
        )
        # Mirroring is on only with both a URL and a key; off, no outbox row is ever written.
        self.store = Store(db_path, mirror=bool(self.supabase_url and self.supabase_key))
        self.supabase: Any = None  # the SupabaseMirror, once started
        self._mirror_error: str | None = None
        self.workspace = WorkspaceService(
            self.store,
            WorkspaceSettings(
                root_dir=root,
                worktrees_dir=Path(self.worktrees_dir or root / "lawless-worktrees"),
                branch_prefix=self.branch_prefix,
                max_sessions_per_repo=self.max_sessions_per_repo,
                long_timeout=self.long_operation_timeout,
                short_timeout=self.short_operation_timeout,
                diff_max_bytes=self.diff_max_bytes,
            ),
            self.log,
        )
        self.chat = ChatService(
            self.store,
            self.workspace,
            ChatSettings(
                permission_mode=self.permission_mode,
                allowed_permission_modes=tuple(self.allowed_permission_modes),
                free_chat_mode=self.free_chat_permission_mode,
                allowed_models=tuple(self.allowed_models),
                idle_timeout=self.chat_idle_timeout,
                approval_timeout=self.approval_timeout,
                cancel_grace=self.cancel_grace,
                claude=ClaudeSettings(
                    model=self.claude_model,
                    cli_path=self.claude_cli_path,
                    env=dict(self.claude_env),
                    max_retries=self.claude_max_retries,
                    allowed_tools=list(self.allowed_tools),
                    disallowed_tools=list(self.disallowed_tools),
                ),
            ),
            root,
            self.log,
            transcripts_for=self.transcripts_for,
            defaults_for=lambda user_id: self.preferences.chat_defaults(user_id),
        )
        self.preferences = PreferencesService(
            self.store,
            PreferenceRules(
                permission_modes=tuple(self.allowed_permission_modes),
                models=tuple(self.allowed_models),
            ),
            fetch_remote=lambda: self.supabase.fetch_row if self.supabase else None,
        )
        self.terminals = TerminalService(
            self.store,
            self.workspace,
            lambda: self.serverapp.web_app.settings.get("terminal_manager"),
            TerminalSettings(
                max_per_user=self.max_terminals_per_user,
                output_cap_bytes=self.terminal_output_cap_bytes,
            ),
            self.log,
        )
        self.connections, self.connections_error = self._make_connections()
        self.chat_quota = SlidingWindowLimit("chat messages", self.chat_messages_per_hour)
        self.api_quota = SlidingWindowLimit("API requests", self.api_requests_per_hour)
        self.workers_registry = WorkerRegistry(
            parse_workers(self.workers),
            WorkerSettings(
                check_timeout=self.worker_check_timeout,
                cache_seconds=self.worker_status_cache_seconds,
                degraded_latency=self.worker_degraded_latency,
                allow_insecure=self.allow_insecure_workers,
                retry_delays=tuple(self.worker_retry_delays),
                prefer_remote=self.prefer_remote_workers,
            ),
            self.version_info,
            self.log,
        )
        self.remote = RemoteSessions(
            self.store,
            self.workers_registry,
            root_dir=root,
            timeout=self.long_operation_timeout + 60,  # chat streams keep alive more often
            logger=self.log,
            github_token_for=self._github_token_for,
        )
        self.workers_registry.on_status.append(metrics.record_worker_statuses)
        self.chat.on_turn_done.append(metrics.record_turn)
        self._metrics: asyncio.Task[None] | None = None
        if self.worker_api_key:
            from . import worker_auth

            worker_auth.install(self.settings, self.worker_api_key, self.serverapp.base_url)
            self.log.info("lawless_jupyter: worker mode on (X-API-Key)")
        self._startup: asyncio.Future[None] | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.log.info("lawless_jupyter %s: database %s", __version__, db_path)

    def _make_connections(self) -> tuple[ConnectionsService | None, str | None]:
        """The GitHub and Vercel connections with their vault; (None, why) when the vault
        keys are unusable (the rest of the extension works; those routes answer 503)."""
        try:
            if self.vault_keys.strip():
                keys = parse_keys(self.vault_keys)
                if not keys:
                    raise VaultKeyError("vault_keys is set but holds no key.")
            else:
                path = Path(
                    self.vault_key_file
                    or Path(jupyter_data_dir()) / "lawless_jupyter" / "vault.key"
                )
                keys, created = load_or_create_key_file(path)
                if created:
                    self.log.warning(
                        "Token vault: no key configured (LawlessApp.vault_keys or "
                        "$LAWLESS_VAULT_KEYS), so a new key was generated in %s (mode 0600). "
                        "Back it up: tokens stored with it cannot be read without it.",
                        path,
                    )
                else:
                    self.log.info("Token vault: key file %s", path)
        except (VaultError, OSError) as e:
            message = e.message if isinstance(e, VaultError) else f"the key file: {e}"
            self.log.error("Token vault unusable, GitHub and Vercel are off: %s", message)
            return None, f"The token vault has no usable key: {message}"
        service = ConnectionsService(
            self.store,
            Vault(keys),
            self.workspace,
            ConnectionSettings(
                github=GitHubSettings(
                    web_url=self.github_url,
                    api_url=self.github_api_url,
                    client_id=self.github_client_id,
                    client_secret=self.github_client_secret,
                    scopes=self.github_scopes,
                ),
                vercel_api_url=self.vercel_api_url,
                hub_token_env=self.github_token_env,
                hub_user=self.owner,  # the hub's token is its server owner's, nobody else's
                timeout=self.connections_timeout,
            ),
            self.log,
        )
        return service, None

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        await self.ready()

    def ready(self) -> asyncio.Future[None]:
        """Open the store and reconcile once; every request waits for it."""
        if self._startup is None:
            self._startup = asyncio.ensure_future(self._open())
        return self._startup

    async def _open(self) -> None:
        await asyncio.to_thread(_source_commit)  # cache it now, off the event loop
        await self.store.open()
        if self.store.mirroring:  # once per database: rows from before the mirror was on
            queued = await self.store.backfill_outbox()
            if queued:
                self.log.info("Supabase mirror: %d rows written before it are queued", queued)
        await self.store.close_open_terminals()  # no terminal outlives its server
        report = await self.workspace.reconcile()
        if any(report.values()):
            await self.store.record_activity(self.owner, "reconciliation", report)
        if self.store.mirroring:
            await self._start_mirror()
        elif self.supabase_url or self.supabase_key:
            self.log.warning("Supabase mirror off: it needs both supabase_url and supabase_key")
        if self.connections is not None:
            resealed = await self.connections.reseal_all()
            if resealed:
                self.log.info("Token vault: %d tokens re-encrypted with the newest key", resealed)
        self._housekeeping = asyncio.ensure_future(self._close_idle_chats())
        self._metrics = asyncio.ensure_future(self._refresh_metrics())

    async def _start_mirror(self) -> None:
        """Start the Supabase sync task; it resumes the outbox where the last run stopped.
        A mirror that cannot start is logged; the extension goes on with SQLite (the outbox
        keeps every row for a later start)."""
        from .store.supabase_mirror import MirrorSettings, SupabaseMirror

        try:
            mirror = SupabaseMirror(
                self.store,
                MirrorSettings(
                    url=self.supabase_url,
                    key=self.supabase_key,
                    batch_size=self.supabase_batch_size,
                    timeout=self.supabase_timeout,
                    retry_max=self.supabase_retry_max_delay,
                    pull_interval=self.supabase_pull_interval,
                ),
                self.log,
            )
            await mirror.start()
        except Exception as e:
            self.log.exception("The Supabase mirror did not start; SQLite only for now")
            self._mirror_error = f"the mirror did not start: {type(e).__name__}: {e}"
            return
        self.supabase = mirror
        self.log.info("Supabase mirror on: %s", self.supabase_url)

    def transcripts_for(self, user_id: str) -> Any:
        """A Claude Agent SDK ``SessionStore`` for ``user_id``'s Claude Code transcripts
        (``ClaudeAgentOptions(session_store=...)``): kept in SQLite, mirrored to Supabase
        when it is on, and loaded from there on a server that never saw them."""
        from .store.transcripts import TranscriptStore

        remote = self.supabase.fetch_transcript if self.supabase is not None else None
        return TranscriptStore(self.store, user_id, remote=remote)

    async def supabase_status(self) -> dict[str, Any]:
        from .store.supabase_mirror import outbox_status

        return await outbox_status(
            self.store,
            self.supabase,
            self.supabase_url,
            configured=self.store.mirroring,
            start_error=self._mirror_error,
        )

    async def _github_token_for(self, user_id: str) -> str | None:
        """The person's GitHub token, forwarded to a worker with a push or pull request."""
        if self.connections is None:
            return None
        return await self.connections.github_token_or_none(user_id)

    async def retry_parked(self) -> dict[str, Any]:
        """Queue the parked outbox rows again (``POST api/integrations/supabase/retry``)."""
        if not self.store.mirroring:
            raise Conflict("Supabase is not configured on this server; nothing is mirrored.")
        unparked = await self.store.outbox.unpark()
        if self.supabase is not None:
            self.supabase.wake()
        self.log.info("Supabase mirror: %d parked rows queued again", unparked)
        return {"requeued": unparked}

    async def _close_idle_chats(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.chat_idle_timeout / 2))
            try:
                await self.chat.close_idle()
            except Exception:  # housekeeping must never die
                self.log.exception("closing idle chats failed")

    async def _refresh_metrics(self) -> None:
        while True:
            try:
                metrics.record_counts(await self.store.counts())
                await self.workers_registry.statuses()  # records worker status when checked
            except Exception:  # monitoring must never die
                self.log.exception("refreshing the metrics failed")
            await asyncio.sleep(self.metrics_interval)

    async def stop_extension(self) -> None:
        for task in (self._housekeeping, self._metrics):
            if task is not None:
                task.cancel()
        await self.chat.shutdown()
        await self.terminals.shutdown()
        if self.connections is not None:
            await self.connections.close()
        await self.workers_registry.close()
        if self._startup is not None:
            try:
                await self._startup
            finally:
                if self.supabase is not None:
                    await self.supabase.stop()
                await self.store.close()

    # -- introspection ------------------------------------------------------------------------

    def version_info(self) -> dict[str, Any]:
        memory = psutil.Process().memory_info()
        return {
            "version": __version__,
            "commit": _source_commit(),
            "python": platform.python_version(),
            "uptime": round(time.time() - self.started_at, 3),
            "memory": {"rss": memory.rss, "vms": memory.vms},
            "timestamp": datetime.now(timezone.utc).isoformat(),
        }


@functools.cache
def _source_commit() -> str:
    """The git commit of the source tree this package runs from ("unknown" for a wheel)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"
