"""A second real Jupyter server with the extension, in worker mode, as a subprocess on
loopback: what a frontend server proxies to. It can be killed and started again on the
same port (a worker going down and coming back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .servers import JupyterServer

WORKER_KEY = "test-worker-key-" + "k" * 24


class WorkerServer(JupyterServer):
    def __init__(self, base: Path, *, api_key: str = WORKER_KEY, lawless: dict | None = None):
        super().__init__(
            base / "root",
            base,
            lawless={
                "db_path": str(base / "state" / "lawless.db"),
                "worker_api_key": api_key,
                **(lawless or {}),
            },
            config={"ServerApp": {"allow_unauthenticated_access": False}},
            drop_env=("LAWLESS_WORKER_API_KEY",),
        )
        self.base = base
        self.root.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key

    def stop(self) -> None:
        """Kill it (SIGKILL: a worker that dies, not one that shuts down politely)."""
        self.kill(group=True)

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
