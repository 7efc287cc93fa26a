"""A real Jupyter server with the extension, in its own process (for tests that need one
outside pytest-jupyter's: killed, restarted, fuzzed)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .test_install import free_port


@dataclass
class JupyterServer:
    root: Path
    home: Path  # config, data, runtime dirs and the log live here
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def start(self, timeout: float = 60) -> JupyterServer:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            **self.env,
        }
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    f"--ServerApp.root_dir={self.root}",
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    "--ServerApp.ip=127.0.0.1",
                    f"--IdentityProvider.token={self.token}",
                    "--ServerApp.open_browser=False",
                    "--ServerApp.jpserver_extensions={'lawless_jupyter': True}",
                    f"--LawlessApp.db_path={self.home / 'db' / 'lawless.db'}",
                    "--allow-root",
                    *self.args,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}lawless/health", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"the jupyter server did not start; its log: {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``{base}lawless/{path}`` with the token: (status, JSON body), errors included."""
        request = urllib.request.Request(
            f"{self.url}lawless/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON body of a request that must succeed."""
        status, answer = self.request(method, path, body)
        assert status < 400, (method, path, status, answer)
        return answer
