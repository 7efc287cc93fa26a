"""``LawlessConfig``: every setting a deployer tunes, as ``c.LawlessApp.<name>``.

The traits live here so that ``app.py`` keeps only the wiring; ``LawlessApp`` inherits them, so
the config section stays ``LawlessApp``.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    HasTraits,
    Int,
    List,
    TraitError,
    Unicode,
    default,
    validate,
)

from .chat.capacity import default_limit as default_live_claude
from .chat.permissions import MODES as PERMISSION_MODES
from .workers import parse_workers
from .workspace.refs import ref_format_error


def _from_environment(trait: str, *variables: str) -> Any:
    """A trait's default: the first of ``variables`` set in the environment (else empty)."""

    @default(trait)
    def _default(self: Any) -> str:
        return next((os.environ[v] for v in variables if os.environ.get(v)), "")

    return _default


class LawlessConfig(HasTraits):
    """The extension's settings, with their defaults and checks."""

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
    claude_env_passthrough = List(
        Unicode(),
        config=True,
        help="Names of server environment variables Claude Code (and the commands it runs) "
        "may see besides its allow-list: PATH, HOME, locale, TERM, TMPDIR, ANTHROPIC_*, "
        "CLAUDE_*, proxies, the cloud variables of Bedrock/Vertex/Foundry when that cloud is "
        "switched on, and claude_env. Everything else the server holds stays out.",
    )
    claude_nice = Int(
        10,
        config=True,
        help="How many steps below the server's CPU priority Claude Code runs once more "
        "Claude Code processes are live than claude_nice_above (nice(2); 0: never lower). "
        "The server's event loop relays every streamed answer: with many agents busy it must "
        "not wait behind them (at 5, twenty busy agents outweigh the server about 7 to 1 and "
        "its relay falls behind; benchmarks/README.md, 'Chat'). An attempt's check command "
        "always runs this far below.",
    )
    claude_nice_above = Int(
        config=True,
        help="How many Claude Code processes may be live at the server's CPU priority; when "
        "one more starts, every one runs claude_nice steps below it (and stays so until it "
        "is closed). A lone agent then keeps its share beside the kernels, many cannot "
        "starve the relay. Default: the CPUs this server may use. 0: always below.",
    )

    @default("claude_nice_above")
    def _default_claude_nice_above(self) -> int:
        if hasattr(os, "sched_getaffinity"):
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1

    @validate("claude_nice_above")
    def _check_claude_nice_above(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 0:
            raise TraitError("claude_nice_above must be 0 (always below) or more")
        return proposal["value"]

    @validate("claude_nice")
    def _check_claude_nice(self, proposal: dict[str, Any]) -> int:
        if not 0 <= proposal["value"] <= 19:
            raise TraitError("claude_nice must be from 0 to 19")
        return proposal["value"]

    run_git_hooks = Bool(
        True,
        config=True,
        help="Whether the server's commit, merge and push run the repository's git hooks (as "
        "git does for its users). Off: hooks never run (core.hooksPath=/dev/null). On: a hook "
        "changed in the session is named in the commit and merge answers.",
    )
    claude_max_retries = Int(2, config=True, help="API retries of Claude Code before an error.")
    chat_idle_timeout = Float(
        600.0, config=True, help="Seconds before an idle Claude Code process is closed."
    )
    max_live_claude = Int(
        config=True,
        help="How many Claude Code processes (about 200 MB each) the server keeps at once. "
        "Past it the least recently used idle one is closed (its conversation resumes on the "
        "next message); when all are busy a new turn waits in line (a 'queued' event). "
        "Default: what fits in the machine's (or container's) memory after keeping a quarter "
        "of it, at least 1 GiB, for everything else, at 250 MB each, at least 2. 0: no bound.",
    )

    @default("max_live_claude")
    def _default_max_live_claude(self) -> int:
        return default_live_claude()

    @validate("max_live_claude")
    def _check_max_live_claude(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 0:
            raise TraitError("max_live_claude must be 0 (no bound) or more")
        return proposal["value"]

    approval_timeout = Float(
        300.0, config=True, help="Seconds an approval request waits before counting as deny."
    )
    cancel_grace = Float(
        5.0, config=True, help="Seconds a cancelled turn gets to stop before Claude is killed."
    )
    chat_replay_seconds = Float(
        300.0,
        config=True,
        help="Seconds a finished chat turn's events are kept, so a client that re-attaches "
        "gets exactly the events it missed; later it gets the turn rebuilt from the history.",
    )
    sse_keepalive_interval = Float(15.0, config=True, help="Seconds between SSE keepalives.")
    chat_messages_per_hour = Int(100, config=True, help="Chat messages per user per hour.")
    api_requests_per_hour = Int(1000, config=True, help="API requests per user per hour.")
    idempotency_seconds = Float(
        86400.0,
        config=True,
        help="Seconds the first answer to a POST sent with an Idempotency-Key is kept: the "
        "same key again (a retry) gets that answer instead of doing the work twice. At "
        "least 600.",
    )

    @validate("idempotency_seconds")
    def _check_idempotency_seconds(self, proposal: dict[str, Any]) -> float:
        if proposal["value"] < 600:
            raise TraitError("idempotency_seconds must be at least 600 (ten minutes)")
        return proposal["value"]

    # -- kernels -----------------------------------------------------------------------------------

    default_kernel = Unicode(
        "python3",
        config=True,
        help="The kernelspec of a session's kernel when Claude runs code outside a notebook "
        "(running a notebook's cell uses the notebook's kernelspec).",
    )
    kernel_idle_timeout = Float(
        3600.0,
        config=True,
        help="Seconds a session's kernel may go unused (by Claude or a person's console) "
        "before it is shut down; the next run starts a fresh one.",
    )
    kernel_execute_timeout = Float(
        120.0,
        config=True,
        help="Seconds Claude's code may run in the kernel when the call names no timeout; "
        "past it the kernel is interrupted.",
    )
    kernel_max_execute_timeout = Float(
        3600.0, config=True, help="The longest timeout Claude may ask for one run of code."
    )

    # -- terminals ---------------------------------------------------------------------------------

    max_terminals_per_user = Int(5, config=True, help="Session terminals open at once per user.")
    terminal_output_cap_bytes = Int(
        1_000_000, config=True, help="Output kept per terminal (the newest; older is let go)."
    )
    terminal_env = Enum(
        ["inherit", "allow_list"],
        "inherit",
        config=True,
        help="The environment of a session's terminals and of its Jupyter kernel (where "
        "Claude's notebook tools run code). inherit (default): the server's, as every "
        "Jupyter terminal and kernel has (the person could open a plain one anyway); "
        "allow_list: the same allow-list as Claude Code (claude_env_passthrough included), "
        "for servers that hold secrets their users should not read.",
    )
    attempt_check_timeout = Float(
        300.0,
        config=True,
        help="Seconds an attempt's check command may run after a turn before it is stopped.",
    )
    attempt_check_output_bytes = Int(
        8000, config=True, help="The tail of an attempt's check output that is kept, in bytes."
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
    supabase_anon_key = Unicode(
        config=True,
        help="The project's anon key, used with supabase_token_url (JupyterHub): sent as "
        "apikey while the bearer is the user's own JWT. Default: $SUPABASE_ANON_KEY.",
    )
    supabase_token_url = Unicode(
        config=True,
        help="On JupyterHub: the hub's lawless-supabase service "
        "(.../services/lawless-supabase/token), which hands this server, asked with "
        "$JUPYTERHUB_API_TOKEN, a short-lived Supabase JWT for its own user; fetched again "
        "before it expires. With it the mirror uses supabase_anon_key and that JWT, never "
        "supabase_key, so row level security keeps it to its user's rows. Default: "
        "$LAWLESS_SUPABASE_TOKEN_URL.",
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
    _default_supabase_anon_key = _from_environment("supabase_anon_key", "SUPABASE_ANON_KEY")
    _default_supabase_token_url = _from_environment(
        "supabase_token_url", "LAWLESS_SUPABASE_TOKEN_URL"
    )

    def supabase_mirror_key(self) -> str:
        """The key the mirror sends: the anon key with a per-user JWT (hub), else the
        service role key. Empty: the mirror is off."""
        return self.supabase_anon_key if self.supabase_token_url else self.supabase_key

    @validate("supabase_url", "supabase_token_url")
    def _check_supabase_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        if value and not value.startswith(("https://", "http://")):
            raise TraitError(f"{proposal['trait'].name} must start with https:// (or http://)")
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
        "attempt_check_output_bytes",
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
        "chat_replay_seconds",
        "sse_keepalive_interval",
        "supabase_timeout",
        "supabase_retry_max_delay",
        "supabase_pull_interval",
        "connections_timeout",
        "worker_check_timeout",
        "worker_status_cache_seconds",
        "worker_degraded_latency",
        "metrics_interval",
        "kernel_idle_timeout",
        "kernel_execute_timeout",
        "kernel_max_execute_timeout",
        "attempt_check_timeout",
    )
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be more than 0 seconds")
        return proposal["value"]
