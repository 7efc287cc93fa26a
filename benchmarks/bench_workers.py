"""Benchmark: a chat turn streamed through a frontend's worker proxy vs straight from the worker.

Two real Jupyter servers on loopback, subprocesses: a worker (worker mode, its API key) and a
frontend configured with that worker. The scripted fake Messages API runs in this process,
so the model answers at once and what is measured is the plumbing.

Sides, same HTTP client (httpx, streaming), same worker, same user:

- ``proxy``: ``POST {frontend}lawless/api/workspace/sessions/{id}/chat`` for a session the
  frontend created on the worker (pinned there), with the frontend's token.
- ``direct``: the same request straight to the worker for a session of its own, with the
  worker API key and ``X-Lawless-User`` (what the proxy itself sends).

Each round runs one turn on each side (alternating which goes first); the answer has
``--deltas`` text deltas, sent all at once (the worst case for a proxy: nothing to hide its
cost behind) or ``--delay`` seconds apart (a model streams tens of tokens a second).
Measured per turn: request sent to the first SSE event (``start``),
to the first ``text`` event, and to ``done``. Reported: medians, the ratios proxy/direct
(target <= 1.1x), and the per-event overhead ((proxy - direct) total / events).

Run: ``.venv/bin/python benchmarks/bench_workers.py`` (``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, text  # noqa: E402
from tests.worker_server import WORKER_KEY, WorkerServer  # noqa: E402

TARGET = 1.1
USER = "bench"
LIMITS = {
    "api_requests_per_hour": 1_000_000,
    "chat_messages_per_hour": 1_000_000,
    "max_sessions_per_repo": 1000,
    "owner": USER,
}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def turn(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """One chat turn: times (s) to the first event, the first text, and done; events seen."""
    started = time.perf_counter()
    first = first_text = None
    events = 0
    async with client.stream(
        "POST", url, json={"message": "go"}, headers=headers, timeout=120
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            events += 1
            now = time.perf_counter() - started
            first = first if first is not None else now
            kind = json.loads(line[6:])["type"]
            if kind == "text" and first_text is None:
                first_text = now
            if kind == "done":
                return {"first": first, "text": first_text, "done": now, "events": events}
    raise RuntimeError("the stream ended without done")


async def run(
    rounds: int, deltas: int, delay: float, fake: FakeAnthropic, tmp: Path
) -> dict[str, Any]:
    claude = fake.env(CLAUDE_CONFIG_DIR=str(tmp / "claude"))
    worker = WorkerServer(tmp / "worker", lawless={**LIMITS, "claude_env": claude})
    make_repo(worker.root / "project")
    os.environ["LAWLESS_TEST_WORKER_KEY"] = WORKER_KEY
    frontend = WorkerServer(
        tmp / "frontend",
        api_key="",
        lawless={**LIMITS, "workers": [worker.worker_entry()], "claude_env": claude},
    )
    worker.start()
    frontend.start()
    try:
        async with httpx.AsyncClient() as client:
            token = {"Authorization": f"token {frontend.token}"}
            keyed = {"X-API-Key": WORKER_KEY, "X-Lawless-User": USER}
            sessions = "lawless/api/workspace/sessions"
            r = await client.post(
                frontend.url + sessions, json={"repo": "project", "worker": "w1"}, headers=token
            )
            assert r.status_code == 201 and r.json()["session"]["worker"] == "w1", r.text
            pinned = r.json()["session"]["id"]
            r = await client.post(worker.url + sessions, json={"repo": "project"}, headers=keyed)
            assert r.status_code == 201, r.text
            own = r.json()["session"]["id"]
            sides = {
                "proxy": (f"{frontend.url}{sessions}/{pinned}/chat", token),
                "direct": (f"{worker.url}{sessions}/{own}/chat", keyed),
            }
            results: dict[str, list[dict[str, Any]]] = {"proxy": [], "direct": []}
            for url, headers in sides.values():  # warm-up: Claude Code started
                fake.add(text("warm", chunks=1))
                await turn(client, url, headers)
            for i in range(rounds):
                order = list(sides) if i % 2 == 0 else list(reversed(sides))
                for side in order:
                    fake.add(text("x" * deltas, chunks=deltas, delay=delay))
                    results[side].append(await turn(client, *sides[side]))
                log(f"round {i + 1}/{rounds}")
    finally:
        frontend.stop()
        worker.stop()
    summary: dict[str, Any] = {"rounds": rounds, "deltas": deltas, "delay": delay}
    for side, turns in results.items():
        summary[side] = {
            key: round(med([t[key] for t in turns]) * 1000, 1) for key in ("first", "text", "done")
        }
        summary[side]["events"] = turns[0]["events"]
    p, d = summary["proxy"], summary["direct"]
    summary["ratio"] = {k: round(p[k] / d[k], 3) for k in ("first", "text", "done")}
    summary["per_event_overhead_ms"] = round((p["done"] - d["done"]) / p["events"], 4)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--deltas", type=int, default=500)
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds between deltas (0: all at once)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for name in INHERITED_ENV:
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, FakeAnthropic() as fake:
        summary = asyncio.run(run(args.rounds, args.deltas, args.delay, fake, Path(tmp)))
    p, d, r = summary["proxy"], summary["direct"], summary["ratio"]
    log(f"{'':10}{'first event':>14}{'first text':>14}{'done':>12}   (median ms)")
    log(f"{'proxy':10}{p['first']:>14}{p['text']:>14}{p['done']:>12}")
    log(f"{'direct':10}{d['first']:>14}{d['text']:>14}{d['done']:>12}")
    log(f"{'ratio':10}{r['first']:>14}{r['text']:>14}{r['done']:>12}   target <= {TARGET}x")
    log(f"per-event overhead: {summary['per_event_overhead_ms']} ms over {p['events']} events")
    if args.json:
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
