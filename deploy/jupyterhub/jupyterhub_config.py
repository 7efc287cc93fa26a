"""JupyterHub on one machine, with lawless-jupyter in every user's JupyterLab.

Start it (as root, so it can create a system user per person and run their server as them)::

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Everything secret comes from the hub's environment (docs/deploy-jupyterhub.md lists it):

- ``OAUTH_CLIENT_ID``, ``OAUTH_CLIENT_SECRET``, ``OAUTH_CALLBACK_URL``: the GitHub OAuth app
  people log in with (read by OAuthenticator itself).
- ``JUPYTERHUB_CRYPT_KEY``: encrypts each person's GitHub token in the hub database.
- ``LAWLESS_HUB_USERS``, ``LAWLESS_HUB_ORGS``, ``LAWLESS_HUB_ADMINS``: who may log in / administer
  (comma-separated GitHub user and organisation names).
- ``ANTHROPIC_API_KEY``, ``SUPABASE_URL``, ``SUPABASE_SERVICE_ROLE_KEY``, ``LAWLESS_VAULT_KEYS``:
  passed on to every single-user server (see ``SERVER_ENV``).

The hub test (tests/test_jupyterhub.py) starts a real hub from this file, with a test
authenticator and spawner on top.
"""

import os

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

# The hub's own environment is not inherited (env_keep); these are passed on when set.
# lawless-jupyter reads them: Claude's credentials, the Supabase mirror, the token vault's key.
SERVER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "LAWLESS_VAULT_KEYS",
)
c.Spawner.environment = {name: os.environ[name] for name in SERVER_ENV if name in os.environ}

# -- the hub itself -------------------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("LAWLESS_HUB_BIND_URL", "http://:8000")
c.JupyterHub.db_url = os.environ.get("LAWLESS_HUB_DB_URL", "sqlite:///jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.environ.get(
    "LAWLESS_HUB_COOKIE_SECRET_FILE", "jupyterhub_cookie_secret"
)
