"""The one way tests and benchmarks start a real Jupyter server with the extension, in its
own process: plain, in worker mode (``worker_server.py``), as ``jupyter lab``
(``lab_server.py``) or a benchmark's own server script. It can be killed and started again
on the same port and with the same database (a crash, a worker going down and coming back).
A benchmark that times the server's own loop, or both sides in one process, runs the same
settings inside this process instead (``in_this_process``).

Each server gets its own Jupyter config, data and runtime folders under ``home``, so the
machine's Jupyter set-up never leaks in, and its settings in one JSON config file there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_dirs(home: Path, config_dir: Path | None = None) -> dict[str, str]:
    """The environment that keeps a server away from the user's Jupyter folders."""
    env = {
        "JUPYTER_CONFIG_DIR": str(config_dir or home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    for folder in env.values():
        if folder != "1":
            Path(folder).mkdir(parents=True, exist_ok=True)
    return env


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Config sections of ``extra`` update those of ``base`` (one level deep)."""
    merged = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        merged.setdefault(section, {}).update(values)
    return merged


@dataclass
class JupyterServer:
    root: Path
    home: Path  # config, data and runtime folders, the database and the log live here
    args: list[str] = field(default_factory=list)  # more command line (wins over config)
    env: dict[str, str] = field(default_factory=dict)  # more environment
    #: LawlessApp settings; db_path defaults to home/db/lawless.db, None leaves it unset
    lawless: dict[str, Any] = field(default_factory=dict)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # more config sections
    #: what runs under this Python: jupyter_server, jupyterlab, or a benchmark's own script
    app: list[str] = field(default_factory=lambda: ["-m", "jupyter_server"])
    drop_env: tuple[str, ...] = ()  # variables of this process the server must not see
    config_dir: Path | None = None  # JUPYTER_CONFIG_DIR (default: home/config)
    cwd: Path | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def settings(self) -> dict[str, dict[str, Any]]:
        """The whole config file this server starts with."""
        lawless = {"db_path": str(self.home / "db" / "lawless.db"), **self.lawless}
        return _merge(
            {
                "ServerApp": {
                    "root_dir": str(self.root),
                    "ip": "127.0.0.1",
                    "port": self.port,
                    "port_retries": 0,
                    "open_browser": False,
                    "allow_root": True,  # containers often run as root
                    # jupyter-collaboration (in the test extra) enables itself on install;
                    # a server has it only when its test asks (lab_server.running_lab)
                    "jpserver_extensions": {
                        "lawless_jupyter": True,
                        "jupyter_server_ydoc": False,
                        "jupyter_server_fileid": False,
                    },
                },
                "IdentityProvider": {"token": self.token},
                "LawlessApp": {k: v for k, v in lawless.items() if v is not None},
            },
            self.config,
        )

    def environment(self) -> dict[str, str]:
        """Write the settings; the environment a server with them runs in (in its own
        process, or, for an in-process benchmark, this one's)."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in self.drop_env}
        env.update(jupyter_dirs(self.home, self.config_dir), **self.env)
        # jupyter_config.json: the base file every Jupyter app reads first, so that a
        # jupyter_server_config.py or jupyter_lab_config.json a test puts beside it still
        # counts (a --config file would replace those)
        config = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_config.json"
        config.write_text(json.dumps(self.settings(), indent=1))
        return env

    def start(self, timeout: float = 60) -> JupyterServer:
        env = self.environment()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *self.app, *self.args],
                env=env,
                cwd=self.cwd or self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill(group=True) ends all
            )
        deadline = time.monotonic() + timeout
        while True:
            status = self._health()
            if status == 200:
                return self
            # 404: Jupyter is up but the extension did not load (an import error, say)
            if status == 404 or self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill(group=True)
                raise RuntimeError(
                    f"the jupyter server did not come up with the extension (health: {status});"
                    f" the end of its log ({self.log}):\n{self.tail()}"
                )
            time.sleep(0.1)

    def _health(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}lawless/health", timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def stop(self) -> None:
        """Stop it as a person would (SIGTERM), then end what it left running (Claude Code
        processes, terminals)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = []
        with contextlib.suppress(psutil.NoSuchProcess):
            children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

    def kill(self, *, group: bool = False) -> None:
        """SIGKILL: a server that dies. ``group``: with every process it started."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``{base}lawless/{path}`` with the token: (status, JSON body), errors included."""
        request = urllib.request.Request(
            f"{self.url}lawless/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON body of a request that must succeed."""
        status, answer = self.request(method, path, body)
        assert status < 400, (method, path, status, answer)
        return answer


@dataclass
class InProcess:
    """A server's settings running as a ``ServerApp`` in this process, with a tornado
    client of it (``in_this_process``)."""

    server: JupyterServer
    app: Any  # jupyter_server's ServerApp
    client: Any  # tornado's AsyncHTTPClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.server.token}"}

    @property
    def lawless(self) -> Any:
        """The extension's ``LawlessApp`` (its services)."""
        return self.app.extension_manager.extension_points["lawless_jupyter"].app

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/lawless/{path}"

    async def create_session(self, repo: str) -> dict[str, Any]:
        """A workspace session of ``repo`` (a folder of the root), made through the API."""
        response = await self.client.fetch(
            self.url("api/workspace/sessions"),
            method="POST",
            headers=self.headers,
            body=json.dumps({"repo": repo}),
            request_timeout=300,
        )
        return json.loads(response.body)["session"]


@contextlib.asynccontextmanager
async def in_this_process(server: JupyterServer) -> AsyncIterator[InProcess]:
    """``server``'s settings as a ``ServerApp`` inside this process (its environment becomes
    this process's), until the block ends."""
    os.environ.update(server.environment())
    from jupyter_server.serverapp import ServerApp
    from tornado.httpclient import AsyncHTTPClient

    app = ServerApp.instance(log_level="WARN")
    app.init_signal = lambda: None  # leave SIGINT alone
    app.initialize(argv=[])
    app.start_app()
    await app._post_start()  # starts the extensions (the store opens, reconciliation runs)
    running = InProcess(server, app, AsyncHTTPClient(force_instance=True))
    try:
        for _ in range(50):  # the socket is bound by a callback: wait for it
            try:
                await running.client.fetch(running.url("health"))
                break
            except OSError:
                await asyncio.sleep(0.1)
        yield running
    finally:
        running.client.close()
        await app._cleanup()
        ServerApp.clear_instance()
