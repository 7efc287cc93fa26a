"""JupyterHub on one machine, with lawless-jupyter in every user's JupyterLab.

Start it (as root, so it can create a system user per person and run their server as them)::

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Everything secret comes from the hub's environment (docs/deploy-jupyterhub.md lists it):

- ``OAUTH_CLIENT_ID``, ``OAUTH_CLIENT_SECRET``, ``OAUTH_CALLBACK_URL``: the GitHub OAuth app
  people log in with (read by OAuthenticator itself).
- ``JUPYTERHUB_CRYPT_KEY``: encrypts each person's GitHub token in the hub database.
- ``LAWLESS_HUB_USERS``, ``LAWLESS_HUB_ORGS``, ``LAWLESS_HUB_ADMINS``: who may log in / administer
  (comma-separated GitHub user and organisation names).
- ``ANTHROPIC_API_KEY`` (and optionally ``ANTHROPIC_BASE_URL``): Claude's model access. The
  key stays in the hub: its ``lawless-anthropic`` service (``lawless_anthropic_proxy.py``)
  forwards each server's Messages API requests with it; a server gets a hub token of its
  own user's that reaches that service only.
- ``LAWLESS_VAULT_KEYS``: the token vault's keys; each server gets its own user's keys,
  derived from them (``lawless_vault_keys.py``), never these.
- ``SUPABASE_URL``, ``SUPABASE_ANON_KEY``, ``SUPABASE_JWT_SECRET``: the optional Supabase
  mirror. The JWT secret stays in the hub: its ``lawless-supabase`` service
  (``lawless_supabase_token.py``) hands each server a short-lived JWT for its own user only;
  servers get the URL and the anon key. The service role key is never passed on (with it, any
  user could read everyone's rows from a notebook).

The hub test (tests/test_jupyterhub.py) starts a real hub from this file, with a test
authenticator and spawner on top.
"""

import importlib.util
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)


def _names(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


# -- who logs in: GitHub accounts ------------------------------------------------------------
# LocalGitHubOAuthenticator maps each GitHub login to a system user of the same name (created
# on first login), which LocalProcessSpawner runs the person's server as.
c.JupyterHub.authenticator_class = "local-github"
c.LocalGitHubOAuthenticator.create_system_users = True
c.GitHubOAuthenticator.allowed_users = _names("LAWLESS_HUB_USERS")
c.GitHubOAuthenticator.allowed_organizations = _names("LAWLESS_HUB_ORGS")
c.GitHubOAuthenticator.admin_users = _names("LAWLESS_HUB_ADMINS")
# "repo": the token may clone and push the person's repositories from their workspace.
c.GitHubOAuthenticator.scope = ["read:user", "read:org", "repo"]
# Keep the GitHub token (encrypted with JUPYTERHUB_CRYPT_KEY) so it can go to the server.
c.Authenticator.enable_auth_state = True
c.Authenticator.refresh_pre_spawn = True


def pass_github_token(spawner, auth_state):
    """The person's GitHub token, from the hub login, as the server's GITHUB_ACCESS_TOKEN:
    lawless-jupyter connects GitHub with it, without a second login."""
    token = (auth_state or {}).get("access_token")
    # a new dict for this spawner: nothing shared with another person's server
    environment = {k: v for k, v in spawner.environment.items() if k != "GITHUB_ACCESS_TOKEN"}
    if token:
        environment["GITHUB_ACCESS_TOKEN"] = token
    spawner.environment = environment


c.Spawner.auth_state_hook = pass_github_token

# -- each person's server -------------------------------------------------------------------
c.JupyterHub.allow_named_servers = True  # several servers per person: /user/<name>/<server>/
c.JupyterHub.named_server_limit_per_user = 3
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

# -- what a person may do on a server: Jupyter's actions from hub scopes ----------------------
# JupyterHub's own server authorizer lets anyone with access do everything. With these, a
# server shared with custom:jupyter_server:read:* (JupyterHub 5's sharing) can be read, and
# nothing runs: chat turns, terminals, kernels, commits (git hooks) need execute.
_ACTIONS = ("read", "write", "execute")
c.JupyterHub.custom_scopes = {
    "custom:jupyter_server:read:*": {"description": "Read a Jupyter server's files and sessions."},
    "custom:jupyter_server:write:*": {
        "description": "Change a Jupyter server's files and settings; no code runs.",
        "subscopes": ["custom:jupyter_server:read:*"],
    },
    "custom:jupyter_server:execute:*": {
        "description": "Run code on a Jupyter server: kernels, terminals, Claude, git hooks.",
        "subscopes": ["custom:jupyter_server:write:*", "custom:jupyter_server:read:*"],
    },
}
USER_SCOPES = ["self", *(f"custom:jupyter_server:{a}:*!user" for a in _ACTIONS)]  # own servers
SERVER_SCOPES = ["users:activity!user", "access:servers!server"]  # the server's own token
# a browser login to a server carries them too
c.Spawner.oauth_client_allowed_scopes = [
    "access:servers!server",
    *(f"custom:jupyter_server:{a}:*!server" for a in _ACTIONS),
]
c.Spawner.args = ["--ServerApp.authorizer_class=lawless_jupyter.hub_authorizer.HubScopesAuthorizer"]

# The hub's own environment is not inherited (env_keep): a server gets what is set below.
# Nothing in it may reach another person's data: a user reads their server's environment
# from any notebook.
c.Spawner.environment = {}
c.JupyterHub.services = []


def _load_beside(name: str):
    """A module kept beside this file (it is not a package: JupyterHub reads it by path)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The token vault: each server its own user's keys, derived from the hub's (so the key a
# person reads in their environment opens their own tokens only).
_vault_keys = _load_beside("lawless_vault_keys").for_each_user()
if _vault_keys is not None:
    c.Spawner.environment["LAWLESS_VAULT_KEYS"] = _vault_keys

# -- Supabase, per user ----------------------------------------------------------------------
# The hub's lawless-supabase service holds the JWT secret and answers each server, asked with
# its own hub token, with a short-lived JWT whose sub is that server's user; the server sends
# it with the anon key and row level security keeps it to that user's rows.
SUPABASE_TOKEN_SERVICE = "lawless-supabase"
SUPABASE_TOKEN_ACCESS = f"access:services!service={SUPABASE_TOKEN_SERVICE}"
_supabase = {name: os.environ.get(name, "") for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY")}
if all(_supabase.values()) and os.environ.get("SUPABASE_JWT_SECRET"):
    _port = int(os.environ.get("LAWLESS_SUPABASE_TOKEN_PORT", "8091"))
    _service_url = f"http://127.0.0.1:{_port}"
    c.JupyterHub.services.append(
        {
            "name": SUPABASE_TOKEN_SERVICE,
            "url": _service_url,
            "command": [sys.executable, str(Path(__file__).with_name("lawless_supabase_token.py"))],
            "environment": {
                name: os.environ[name]
                for name in ("SUPABASE_JWT_SECRET", "LAWLESS_SUPABASE_TOKEN_LIFETIME")
                if name in os.environ
            },
            "display": False,
        }
    )
    # a user, and their server's $JUPYTERHUB_API_TOKEN, may ask the service (for themselves)
    USER_SCOPES.append(SUPABASE_TOKEN_ACCESS)
    SERVER_SCOPES.append(SUPABASE_TOKEN_ACCESS)
    c.Spawner.environment.update(
        _supabase,
        LAWLESS_SUPABASE_TOKEN_URL=f"{_service_url}/services/{SUPABASE_TOKEN_SERVICE}/token",
    )

# -- Claude's model access, per user ---------------------------------------------------------
# The Anthropic key stays in the hub. Its lawless-anthropic service forwards the Messages API
# (only that) with it; each server's Claude Code gets, as its ANTHROPIC_API_KEY, a hub token
# of that server's user good for the service alone, deleted when the server stops. Without a
# key here (Bedrock, Vertex, a gateway of one's own), a gateway URL is passed on as it is.
ANTHROPIC_SERVICE = "lawless-anthropic"
ANTHROPIC_ACCESS = f"access:services!service={ANTHROPIC_SERVICE}"
ANTHROPIC_BUDGET = "LAWLESS_ANTHROPIC_DAILY_TOKENS"  # optional: model tokens per user per day
if os.environ.get("ANTHROPIC_API_KEY"):
    _anthropic = _load_beside("lawless_anthropic_proxy")
    _port = int(os.environ.get("LAWLESS_ANTHROPIC_PROXY_PORT", "8092"))
    _service_url = f"http://127.0.0.1:{_port}"
    c.JupyterHub.services.append(
        {
            "name": ANTHROPIC_SERVICE,
            "url": _service_url,
            "command": [
                sys.executable,
                str(Path(__file__).with_name("lawless_anthropic_proxy.py")),
            ],
            "environment": {
                name: os.environ[name]
                for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", ANTHROPIC_BUDGET)
                if name in os.environ
            },
            "display": False,
        }
    )
    USER_SCOPES.append(ANTHROPIC_ACCESS)  # a token may only carry what its user has
    c.Spawner.environment.update(
        ANTHROPIC_BASE_URL=f"{_service_url}/services/{ANTHROPIC_SERVICE}",
        ANTHROPIC_API_KEY=_anthropic.token_for_server,  # called at each start
    )
    c.Spawner.post_stop_hook = _anthropic.revoke_on_stop
elif os.environ.get("ANTHROPIC_BASE_URL"):
    c.Spawner.environment["ANTHROPIC_BASE_URL"] = os.environ["ANTHROPIC_BASE_URL"]

c.JupyterHub.load_roles = [
    {"name": "user", "scopes": USER_SCOPES},
    {"name": "server", "scopes": SERVER_SCOPES},
]

# -- the hub itself -------------------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("LAWLESS_HUB_BIND_URL", "http://:8000")
c.JupyterHub.db_url = os.environ.get("LAWLESS_HUB_DB_URL", "sqlite:///jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.environ.get(
    "LAWLESS_HUB_COOKIE_SECRET_FILE", "jupyterhub_cookie_secret"
)
