"""Load: N concurrent clients against one real server (with the fake model) for a while.

Each client loops: create a session, chat one turn, read the history, list sessions, read
git status and diff, delete the session. Reports errors, p50/p99 latency per non-chat route,
turn time, and the server's memory before, at the peak, and after the load (after an idle
period, so a leak shows as growth that stays).

    .venv/bin/python benchmarks/load.py --clients 50 --minutes 3

Outside the test run (it takes minutes and fills both cores); figures go to
docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import FakeAnthropic  # noqa: E402
from tests.servers import JupyterServer  # noqa: E402


class Load:
    def __init__(self, server: JupyterServer, repos: int):
        self.server = server
        self.repos = repos
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.turns: list[float] = []

    async def call(self, client: httpx.AsyncClient, name: str, method: str, path: str, **kw):
        t0 = time.perf_counter()
        response = await client.request(method, f"lawless/{path}", **kw)
        self.latency[name].append(time.perf_counter() - t0)
        if response.status_code >= 400:
            self.errors.append(f"{name}: {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    async def chat(self, client: httpx.AsyncClient, sid: str) -> None:
        t0 = time.perf_counter()
        last = None
        async with client.stream(
            "POST", f"lawless/api/workspace/sessions/{sid}/chat", json={"message": "hello"}
        ) as response:
            if response.status_code != 200:
                self.errors.append(f"chat: {response.status_code} {await response.aread()!r}")
                return
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    last = json.loads(line[6:])
                    if last["type"] == "error":
                        self.errors.append(f"chat error event: {last}")
        self.turns.append(time.perf_counter() - t0)
        if not last or last["type"] != "done":
            self.errors.append(f"chat ended without done: {last}")

    async def client(self, i: int, until: float) -> None:
        headers = {"Authorization": f"token {self.server.token}"}
        async with httpx.AsyncClient(
            base_url=self.server.url, headers=headers, timeout=120
        ) as client:
            while time.monotonic() < until:
                body = await self.call(
                    client,
                    "POST sessions",
                    "POST",
                    "api/workspace/sessions",
                    json={"repo": f"project-{i % self.repos}"},
                )
                if body is None:
                    await asyncio.sleep(1)
                    continue
                sid = body["session"]["id"]
                base = f"api/workspace/sessions/{sid}"
                await self.chat(client, sid)
                await self.call(client, "GET messages", "GET", f"{base}/messages")
                await self.call(client, "GET sessions", "GET", "api/workspace/sessions")
                await self.call(client, "GET git/status", "GET", f"{base}/git/status")
                await self.call(client, "GET git/diff", "GET", f"{base}/git/diff")
                await self.call(client, "DELETE session", "DELETE", base)


def rss_mb(proc: psutil.Process) -> float:
    """The server and its children (Claude Code CLIs, git), resident MB."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total / 2**20


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds after the load")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lawless-load-"))
    repos = max(1, args.clients // 8)
    for r in range(repos):
        make_repo(tmp / "root" / f"project-{r}", {"README.md": "# load\n", "src/a.py": "x=1\n"})
    with FakeAnthropic(default_text="Hello from the fake model. " * 8) as fake:
        server = JupyterServer(
            tmp / "root",
            tmp / "server",
            env=fake.env(CLAUDE_CONFIG_DIR=str(tmp / "claude")),
            args=[
                "--LawlessApp.max_sessions_per_repo=20",
                "--LawlessApp.api_requests_per_hour=10000000",
                "--LawlessApp.chat_messages_per_hour=10000000",
                "--LawlessApp.chat_idle_timeout=5",
                "--LawlessApp.claude_max_retries=0",
            ],
        ).start()
        proc = psutil.Process(server.proc.pid)
        try:
            before = rss_mb(proc)
            load = Load(server, repos)
            until = time.monotonic() + args.minutes * 60
            peak = before

            async def watch() -> None:
                nonlocal peak
                while time.monotonic() < until:
                    peak = max(peak, rss_mb(proc))
                    await asyncio.sleep(1)

            t0 = time.monotonic()
            await asyncio.gather(watch(), *(load.client(i, until) for i in range(args.clients)))
            elapsed = time.monotonic() - t0
            await asyncio.sleep(args.idle)
            after = rss_mb(proc)
            server_only_after = proc.memory_info().rss / 2**20
        finally:
            server.stop()
    print(f"{args.clients} clients for {elapsed:.0f} s; {len(load.turns)} chat turns")
    print(f"errors: {len(load.errors)}")
    for error in load.errors[:10]:
        print("  ", error)
    print(f"{'route':<16} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in sorted(load.latency.items()):
        print(
            f"{name:<16} {len(values):>6} {statistics.median(values) * 1000:>8.0f} "
            f"{percentile(values, 99) * 1000:>8.0f} {max(values) * 1000:>8.0f}"
        )
    if load.turns:
        print(
            f"chat turn: p50 {statistics.median(load.turns):.2f} s, "
            f"p99 {percentile(load.turns, 99):.2f} s"
        )
    print(
        f"memory (server + children): before {before:.0f} MB, peak {peak:.0f} MB, "
        f"{args.idle:.0f} s after {after:.0f} MB (server process alone {server_only_after:.0f} MB)"
    )


if __name__ == "__main__":
    asyncio.run(main())
