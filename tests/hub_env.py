"""A real JupyterHub for tests and benchmarks, started from deploy/jupyterhub/jupyterhub_config.py.

``Hub`` writes a small config that loads the deploy config and then puts test pieces on top:
``DummyAuthenticator`` with a password (its logins carry a fake GitHub token in auth state, as
GitHub OAuthenticator's do), ``SimpleLocalProcessSpawner`` with homes in a temporary folder
(the servers run as root here, hence ``--allow-root``), ephemeral ports, the proxy from npm
(``configurable-http-proxy``, a dev dependency in package.json) and an admin service token.
The hub runs as a subprocess of this one; ``stop()`` ends it and every server it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

from .fake_anthropic import INHERITED_ENV
from .servers import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PASSWORD = "lawless-test-password"
START_TIMEOUT = 180.0  # seconds; a loaded 2-core machine starts a server in 5-30 s


def find_proxy() -> str:
    """configurable-http-proxy: `jlpm install` puts it in node_modules/.bin; else on PATH."""
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError(
            "configurable-http-proxy not found: run `make node_modules` (it is a dev dependency "
            "in package.json) or `npm install -g configurable-http-proxy`"
        )
    return found


def _test_config(
    tmp: Path, server_env: dict[str, str], admin_token: str, url: str, server_args: list[str]
) -> str:
    singleuser = Path(sys.executable).with_name("jupyterhub-singleuser")
    return f"""
load_subconfig({str(DEPLOY_CONFIG)!r})

from jupyterhub.auth import DummyAuthenticator


class GitHubLikeDummyAuthenticator(DummyAuthenticator):
    \"\"\"A login carries a token in auth state, as GitHub OAuthenticator's does.\"\"\"

    async def authenticate(self, handler, data):
        name = await super().authenticate(handler, data)
        if name is None:
            return None
        return {{"name": name, "auth_state": {{"access_token": "gho_fake_" + name}}}}


c.JupyterHub.authenticator_class = GitHubLikeDummyAuthenticator
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.Authenticator.admin_users = set()
c.Authenticator.refresh_pre_spawn = False

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(tmp / "home" / "{username}")!r}
c.Spawner.cmd = [{str(singleuser)!r}]
c.Spawner.args.extend(["--allow-root", *{server_args!r}])
c.Spawner.environment.update({server_env!r})
c.Spawner.start_timeout = {int(START_TIMEOUT)}
c.Spawner.http_timeout = {int(START_TIMEOUT)}
c.Spawner.poll_interval = 2  # notice a server that ended at once

c.JupyterHub.bind_url = {url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{find_proxy()!r}]
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{tmp / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(tmp / "hub.pid")!r}

# added to the deploy config's services and roles (its lawless-supabase token service)
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append({{"name": "admin", "services": ["test-admin"]}})
# alice may share her servers (JupyterHub 5's sharing), with bob by name
c.JupyterHub.load_roles.append(
    {{"name": "sharer", "scopes": ["shares!user", "read:users:name"], "users": ["alice"]}}
)
"""


class Hub:
    """One JupyterHub subprocess and the single-user servers it spawns."""

    def __init__(
        self,
        tmp: Path,
        server_env: dict[str, str],
        hub_env: dict[str, str] | None = None,
        server_args: tuple[str, ...] = (),
    ):
        self.tmp = tmp
        self.hub_env = hub_env or {}  # the hub's own environment (what the deploy config reads)
        self.admin_token = secrets.token_hex(16)
        self.config = tmp / "jupyterhub_test_config.py"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.config.write_text(
            _test_config(tmp, server_env, self.admin_token, self.url, list(server_args))
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "hub.log"
        self._server_pids: set[int] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Hub:
        # nothing of this machine's Claude, Supabase or vault set-up reaches the servers
        passed_on = {"SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_KEY"}
        passed_on |= {"SUPABASE_ANON_KEY", "SUPABASE_JWT_SECRET", "LAWLESS_SUPABASE_TOKEN_URL"}
        passed_on |= {"LAWLESS_VAULT_KEYS", "GITHUB_ACCESS_TOKEN"}
        env = {k: v for k, v in os.environ.items() if k not in {*INHERITED_ENV, *passed_on}}
        env["JUPYTERHUB_CRYPT_KEY"] = secrets.token_hex(32)
        env.pop("JUPYTERHUB_API_TOKEN", None)
        env.update(self.hub_env)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(self.config)],
                cwd=self.tmp,
                stdin=subprocess.DEVNULL,  # no terminal, as under systemd
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until(lambda: self.api("GET", "").status_code == 200, "the hub to answer")
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        # the proxy and the managed services run in sessions of their own: whatever the hub
        # leaves of them (a slow stop under load) goes with it, not on after the tests
        started: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            started = psutil.Process(self.process.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)  # the hub stops its servers and proxy
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for pid in self._server_pids:  # a server that did not stop in time
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for child in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()  # psutil checks it is still the same process
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_until(self, ready, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the hub exited while waiting for {what}:\n{self.log()}")
            with contextlib.suppress(requests.ConnectionError):
                if ready():
                    return
            time.sleep(0.3)
        raise TimeoutError(f"timed out waiting for {what}:\n{self.log()}")

    # -- the hub's REST API ------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kw: Any):
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=60, **kw
        )

    def login(self, user: str, password: str) -> tuple[requests.Session, requests.Response]:
        """Log in through the hub's login form, as a browser does (XSRF cookie + form)."""
        browser = requests.Session()
        page = browser.get(f"{self.url}/hub/login", timeout=60)
        assert page.status_code == 200, page.text
        answer = browser.post(
            f"{self.url}/hub/login",
            data={"username": user, "password": password, "_xsrf": browser.cookies["_xsrf"]},
            allow_redirects=False,
            timeout=60,
        )
        return browser, answer

    def user_token(self, user: str) -> str:
        response = self.api("POST", f"users/{user}/tokens", json={"note": "test"})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def spawn(self, user: str, server: str = "", token: str | None = None) -> None:
        path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
        response = self.api("POST", path, token=token)
        assert response.status_code in (201, 202), response.text

    def server_model(self, user: str, server: str = "") -> dict[str, Any] | None:
        response = self.api("GET", f"users/{user}")
        assert response.status_code == 200, response.text
        return response.json()["servers"].get(server)

    def wait_ready(self, user: str, server: str = "") -> dict[str, Any]:
        def ready() -> bool:
            model = self.server_model(user, server)
            return bool(model and model["ready"])

        self.wait_until(ready, f"the server {user}/{server} to be ready")
        model = self.server_model(user, server)
        assert model is not None
        if model.get("state", {}).get("pid"):
            self._server_pids.add(model["state"]["pid"])
        return model

    def wait_stopped(self, user: str, server: str = "") -> None:
        self.wait_until(lambda: self.server_model(user, server) is None, f"{user}/{server} to stop")

    def user_url(self, user: str, server: str = "") -> str:
        """The server's URL through the hub's proxy: /user/<name>/ or /user/<name>/<server>/."""
        return f"{self.url}/user/{user}/{server + '/' if server else ''}"

    def routes(self) -> dict[str, Any]:
        """The proxy's routing table (prefix -> target), from the hub's admin API."""
        response = self.api("GET", "proxy")
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.contextmanager
def running_hub(tmp: Path, server_env: dict[str, str], **options: Any) -> Iterator[Hub]:
    hub = Hub(tmp, server_env, **options)
    try:
        yield hub.start()
    finally:
        hub.stop()


def environ(pid: int) -> dict[str, str]:
    """A process's environment, as anyone who may read its /proc sees it."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(e.decode(errors="replace").partition("=")[::2] for e in entries if b"=" in e)


def sse_events(response: requests.Response) -> Iterator[dict[str, Any]]:
    """The ``data:`` payloads of a chat's SSE answer, as they arrive."""
    for line in response.iter_lines(decode_unicode=True):
        if line and line.startswith("data: "):
            yield json.loads(line[6:])
