"""``LawlessApp``: the Jupyter Server extension. Configuration, services, routes, lifecycle."""

from __future__ import annotations

import asyncio
import functools
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

from . import metrics
from ._version import __version__
from .attempts import AttemptService, AttemptSettings
from .background import every
from .chat import ChatService, ChatSettings, ClaudeSettings
from .chat.rewind import RewindService
from .config import LawlessConfig
from .connections import ConnectionSettings, ConnectionsService, GitHubSettings
from .errors import Conflict
from .handlers import handlers
from .handlers.chat import WritePace
from .idempotency import IdempotencyService
from .notebooks import (
    KernelSettings,
    NotebookTools,
    SessionKernels,
    SharedNotebooks,
    cell_source,
    open_notebook_refusal,
)
from .preferences import PreferenceRules, PreferencesService
from .ratelimit import SlidingWindowLimit
from .remote import RemoteSessions
from .store import Store
from .terminals import TerminalService, TerminalSettings
from .usage import UsageService
from .vault import Vault, VaultError, VaultKeyError, load_or_create_key_file, parse_keys
from .workers import WorkerRegistry, WorkerSettings, parse_workers
from .workspace import WorkspaceService, WorkspaceSettings

#: how often answers kept for idempotency keys past their time are deleted
_IDEMPOTENCY_SWEEP_SECONDS = 300.0


class LawlessApp(LawlessConfig, ExtensionApp):
    """Work with a coding agent inside JupyterLab, one git worktree per session."""

    name = "lawless_jupyter"
    load_other_extensions = True

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
        self.store = Store(db_path, mirror=bool(self.supabase_url and self.supabase_mirror_key()))
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
                run_git_hooks=self.run_git_hooks,
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
                replay_seconds=self.chat_replay_seconds,
                max_live_claude=self.max_live_claude,
                claude=ClaudeSettings(
                    model=self.claude_model,
                    cli_path=self.claude_cli_path,
                    env=dict(self.claude_env),
                    env_passthrough=list(self.claude_env_passthrough),
                    nice=self.claude_nice,
                    nice_above=self.claude_nice_above,
                    max_retries=self.claude_max_retries,
                    allowed_tools=list(self.allowed_tools),
                    disallowed_tools=list(self.disallowed_tools),
                ),
            ),
            root,
            self.log,
            transcripts_for=self.transcripts_for,
            defaults_for=lambda user_id: self.preferences.chat_defaults(user_id),
            tools_for=lambda session_id, worktree: {
                "jupyter": NotebookTools(
                    self.kernels, session_id, worktree, self.shared_notebooks
                ).server()
            },
            code_for=lambda tool, tool_input, worktree: cell_source(
                tool, tool_input, worktree, self.shared_notebooks
            ),
            refusal_for=lambda tool, tool_input, worktree: open_notebook_refusal(
                tool, tool_input, worktree, self.shared_notebooks
            ),
        )
        # an open notebook's collaborative document, when jupyter-collaboration is enabled
        self.shared_notebooks = SharedNotebooks(lambda: self.serverapp, root, self.log)
        self.kernels = SessionKernels(
            self.store,
            self.workspace,
            lambda: self.serverapp.kernel_manager,
            root,
            KernelSettings(
                default_kernel=self.default_kernel,
                idle_timeout=self.kernel_idle_timeout,
                execute_timeout=self.kernel_execute_timeout,
                max_execute_timeout=self.kernel_max_execute_timeout,
                env=self.terminal_env,
                env_passthrough=tuple(self.claude_env_passthrough),
            ),
            self.log,
        )
        self.chat.on_cancel.append(self.kernels.interrupt)
        self.rewind = RewindService(
            self.store, self.workspace, self.chat, self.transcripts_for, self.log
        )
        self.preferences = PreferencesService(
            self.store,
            PreferenceRules(
                permission_modes=tuple(self.allowed_permission_modes),
                models=tuple(self.allowed_models),
            ),
            fetch_remote=lambda: self.supabase.fetch_row if self.supabase else None,
        )
        self.workspace.strip_outputs_for = self.preferences.strip_notebook_outputs
        self.terminals = TerminalService(
            self.store,
            self.workspace,
            lambda: self.serverapp.web_app.settings.get("terminal_manager"),
            TerminalSettings(
                max_per_user=self.max_terminals_per_user,
                output_cap_bytes=self.terminal_output_cap_bytes,
                env=self.terminal_env,
                env_passthrough=tuple(self.claude_env_passthrough),
            ),
            self.log,
        )
        self.attempts = AttemptService(
            self.store,
            self.workspace,
            self.chat,
            AttemptSettings(
                check_timeout=self.attempt_check_timeout,
                check_output_bytes=self.attempt_check_output_bytes,
                env=self.terminal_env,
                env_passthrough=tuple(self.claude_env_passthrough),
                nice=self.claude_nice,
            ),
            self.log,
        )
        self.connections, self.connections_error = self._make_connections()
        self.idempotency = IdempotencyService(
            self.store.idempotency, self.idempotency_seconds, self.log
        )
        self.chat_quota = SlidingWindowLimit("chat messages", self.chat_messages_per_hour)
        self.write_pace = WritePace()  # how often this server's chat streams write
        self.api_quota = SlidingWindowLimit("API requests", self.api_requests_per_hour)
        self.usage = UsageService(
            self.store,
            api_quota=self.api_quota,
            chat_quota=self.chat_quota,
            max_sessions_per_repo=self.max_sessions_per_repo,
        )
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
        self._idempotency_sweep: asyncio.Task[None] | None = None
        self._kernel_sweep: asyncio.Task[None] | None = None
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
            queued = await self.store.outbox.backfill_once()
            if queued:
                self.log.info("Supabase mirror: %d rows written before it are queued", queued)
        await self.store.terminals.close_open()  # no terminal outlives its server
        report = await self.workspace.reconcile()
        if any(report.values()):
            await self.store.activity.record(self.owner, "reconciliation", report)
        kernels = await self.kernels.reconcile()  # after the sessions: it reads their states
        if any(kernels.values()):
            await self.store.activity.record(self.owner, "kernels.reconciled", kernels)
        await self.attempts.reconcile()
        if self.store.mirroring:
            await self._start_mirror()
        elif self.supabase_url or self.supabase_mirror_key():
            key = "supabase_anon_key" if self.supabase_token_url else "supabase_key"
            self.log.warning("Supabase mirror off: it needs both supabase_url and %s", key)
        if self.connections is not None:
            resealed = await self.connections.reseal_all()
            if resealed:
                self.log.info("Token vault: %d tokens re-encrypted with the newest key", resealed)
        self._housekeeping = every(
            min(60.0, self.chat_idle_timeout / 2),
            self.chat.close_idle,
            self.log,
            "closing idle chats",
            wait_first=True,
        )
        self._idempotency_sweep = every(
            _IDEMPOTENCY_SWEEP_SECONDS,
            self.idempotency.sweep,
            self.log,
            "forgetting expired idempotency keys",
            wait_first=True,  # an expired answer is never given; nothing to do at start
        )
        self._kernel_sweep = every(
            min(60.0, self.kernel_idle_timeout / 2),
            self.kernels.close_idle,
            self.log,
            "shutting down idle kernels",
            wait_first=True,
        )
        self._metrics = every(
            self.metrics_interval,
            lambda: metrics.refresh(self.store, self.workers_registry, self.chat),
            self.log,
            "refreshing the metrics",
        )

    async def _start_mirror(self) -> None:
        """Start the Supabase sync task; it resumes the outbox where the last run stopped.
        A mirror that cannot start is logged; the extension goes on with SQLite (the outbox
        keeps every row for a later start)."""
        from .store.supabase_credential import HubSupabaseToken
        from .store.supabase_mirror import MirrorSettings, SupabaseMirror

        try:
            user_token = None
            if self.supabase_token_url:  # on JupyterHub: this user's own JWT, from the hub
                api_token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
                if not api_token:
                    raise ValueError("supabase_token_url needs $JUPYTERHUB_API_TOKEN (a hub)")
                user_token = HubSupabaseToken(
                    self.supabase_token_url, api_token, timeout=self.supabase_timeout
                )
            mirror = SupabaseMirror(
                self.store,
                MirrorSettings(
                    url=self.supabase_url,
                    key=self.supabase_mirror_key(),
                    user_token=user_token,
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
        self.log.info(
            "Supabase mirror on: %s%s",
            self.supabase_url,
            " (this user's JWT from the hub)" if self.supabase_token_url else "",
        )

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

    async def stop_extension(self) -> None:
        for task in (
            self._housekeeping,
            self._idempotency_sweep,
            self._kernel_sweep,
            self._metrics,
        ):
            if task is not None:
                task.cancel()
        await self.attempts.shutdown()
        await self.chat.shutdown()
        await self.rewind.shutdown()  # after the turns: their bookkeeping ends with them
        await self.kernels.shutdown()
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
            "claude": self.chat.claude_usage(),
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
