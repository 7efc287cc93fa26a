"""A second real Jupyter server with the extension, in worker mode, as a subprocess on
loopback: what a frontend server proxies to. It can be killed and started again on the
same port (a worker going down and coming back)."""

from __future__ import annotations

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
from pathlib import Path
from typing import Any

WORKER_KEY = "test-worker-key-" + "k" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerServer:
    def __init__(self, base: Path, *, api_key: str = WORKER_KEY, lawless: dict | None = None):
        self.base = base
        self.root = base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = secrets.token_hex(16)  # the worker's own login token (not the key)
        self.api_key = api_key
        self.lawless = lawless or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _config(self) -> Path:
        config = {
            "ServerApp": {
                "jpserver_extensions": {"lawless_jupyter": True},
                "allow_unauthenticated_access": False,
                "ip": "127.0.0.1",
                "port": self.port,
                "port_retries": 0,
                "open_browser": False,
                "root_dir": str(self.root),
                "allow_root": True,
            },
            "IdentityProvider": {"token": self.token},
            "LawlessApp": {
                "db_path": str(self.base / "state" / "lawless.db"),
                "worker_api_key": self.api_key,
                **self.lawless,
            },
        }
        path = self.base / "jupyter_server_config.json"
        path.write_text(json.dumps(config))
        return path

    def start(self, timeout: float = 60) -> WorkerServer:
        config_dir = self.base / "config"
        config_dir.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
        }
        env.pop("LAWLESS_WORKER_API_KEY", None)
        self.log = open(self.base / "server.log", "ab")  # noqa: SIM115 (kept open while it runs)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", f"--config={self._config()}"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker server exited: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "lawless/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"the worker server did not start: {self.tail()}")

    def stop(self) -> None:
        """Kill it (SIGKILL: a worker that dies, not one that shuts down politely)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def tail(self, n: int = 4000) -> str:
        path = self.base / "server.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def worker_entry(self, **extra: Any) -> dict[str, Any]:
        """The frontend's ``LawlessApp.workers`` entry for this worker."""
        return {
            "id": "w1",
            "name": "Worker one",
            "url": self.url,
            "region": "test-1",
            "features": ["gpu"],
            "api_key_env": "LAWLESS_TEST_WORKER_KEY",
            **extra,
        }
