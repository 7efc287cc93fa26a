"""Density: sessions past ``max_live_claude`` cost no more memory, and come back fast.

A real ``python -m jupyter_server`` with the extension (``tests/servers.py``), the real
Claude Code CLI, a scripted fake Messages API (``tests/fake_anthropic.py``, in this
process). The server runs with ``max_live_claude = --cap`` (3). One session after another
(``--sessions``, 6) is created and chatted in, so the cap is reached and passed: each
session's first turn is a cold start (the first ``--cap`` under the bound, the rest closing
the least recently used idle process to make room). Then ``--rounds`` (2) times every
session is chatted in again: its process was closed meanwhile, so each of these turns
resumes the conversation from the session store in a fresh process.

Measured, all in the same run:

- memory: every 50 ms, the RSS of the server plus every process under it (the Claude Code
  processes and what they started), and how many Claude Code processes run. Budget: the
  server's RSS before the first chat plus ``cap`` x 250 MB (what ``max_live_claude``'s
  default assumes per process). Target: the peak under the budget, at most ``cap``
  processes at any sample.
- history: each resumed turn's request to the model holds that session's earlier turns
  (checked on every one; a failure stops the run).
- speed: request to first text event of a resumed turn against a cold first turn
  (medians). Target <= 1.2x.

Run (about a minute)::

    .venv/bin/python benchmarks/bench_density.py            # --cap 3 --sessions 6 --rounds 2
    .venv/bin/python benchmarks/bench_density.py --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lawless_jupyter.chat.capacity import BYTES_PER_PROCESS  # noqa: E402
from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, text  # noqa: E402
from tests.servers import JupyterServer  # noqa: E402

SESSIONS = "api/workspace/sessions"
MB = 2**20
TARGET_RESUME = 1.2


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def turn(server: JupyterServer, session_id: str, message: str) -> tuple[float, str, list]:
    """One chat turn: seconds from the request to the first text event, the answer, and
    the event types."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    started = time.perf_counter()
    conn.request(
        "POST",
        f"/lawless/{SESSIONS}/{session_id}/chat",
        body=json.dumps({"message": message}),
        headers={"Authorization": f"token {server.token}"},
    )
    response = conn.getresponse()
    assert response.status == 200, (response.status, response.read()[:500])
    first, answer, kinds = None, "", []
    for raw in response:
        line = raw.decode().rstrip("\r\n")
        if not line.startswith("data: "):
            continue
        data = json.loads(line[6:])
        kinds.append(data["type"])
        if data["type"] == "text":
            first = first or time.perf_counter() - started
            answer += data["delta"]
        if data["type"] == "done":
            break
    conn.close()
    assert first is not None and kinds[-1] == "done", kinds
    return first, answer, kinds


class MemorySampler:
    """The server's process tree every 100 ms: its memory and its Claude Code processes.

    Two sums: RSS (what the brief budgets; it counts the CLI's 400 MB binary's shared pages
    once per process, and a process Claude Code forks, for git say, at its parent's size
    until it execs) and PSS (shared pages split between their users: the memory the tree
    really holds)."""

    def __init__(self, pid: int):
        self.server = psutil.Process(pid)
        self.peak_rss = self.peak_pss = self.peak_processes = self.samples = 0
        self.forks_at_peak_rss = 0  # processes Claude Code forked, in the sample of peak RSS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            rss = pss = 0
            claudes: dict[int, int] = {}
            for proc in [self.server, *self.server.children(recursive=True)]:
                try:
                    memory = proc.memory_full_info()
                    command = " ".join(proc.cmdline())
                    parent = proc.ppid()
                except psutil.NoSuchProcess:
                    continue
                rss, pss = rss + memory.rss, pss + memory.pss
                if proc is not self.server and "claude" in command:
                    claudes[proc.pid] = parent
            # a Claude Code process, not one it started
            tops = sum(1 for parent in claudes.values() if parent not in claudes)
            if rss > self.peak_rss:
                self.peak_rss, self.forks_at_peak_rss = rss, len(claudes) - tops
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, tops)
            self.samples += 1

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(args: argparse.Namespace, tmp: Path, fake: FakeAnthropic) -> dict[str, Any]:
    root = tmp / "root"
    make_repo(root / "project")
    server = JupyterServer(
        root,
        tmp / "home",
        lawless={
            "claude_env": fake.env(
                CLAUDE_CONFIG_DIR=str(tmp / "claude-config"),
                CLAUDE_CODE_TMPDIR=str(tmp / "claude-tmp"),
            ),
            "claude_max_retries": 0,
            "max_live_claude": args.cap,
            "chat_messages_per_hour": 1_000_000,
            "api_requests_per_hour": 1_000_000,
            "max_sessions_per_repo": 1000,
        },
        config={"ServerApp": {"log_level": "WARN"}},
    )
    server.start()
    try:
        ids = [
            server.call("POST", SESSIONS, {"repo": "project"})["session"]["id"]
            for _ in range(args.sessions)
        ]
        idle_server = psutil.Process(server.proc.pid).memory_info().rss
        budget = idle_server + args.cap * BYTES_PER_PROCESS
        cold: list[float] = []  # first turns of new sessions
        resumed: list[float] = []  # later turns of sessions whose process was closed
        claude_rss: list[int] = []

        def first_turn(session_id: str, name: str) -> None:
            fake.add(text(f"Answer 0 for {name}.", chunks=5))
            first, answer, kinds = turn(server, session_id, f"Question 0 from {name}")
            assert answer == f"Answer 0 for {name}." and "queued" not in kinds
            cold.append(first)
            usage = server.call("GET", "version")["claude"]
            assert usage["live"] <= args.cap, usage
            claude_rss.append(usage["rss"] // max(1, usage["live"]))
            log(f"{name}: cold first text {first * 1000:.0f} ms, {usage['live']} live")

        with MemorySampler(server.proc.pid) as memory:
            for i, session_id in enumerate(ids):
                first_turn(session_id, f"session {i}")
            for round_ in range(1, args.rounds + 1):
                for i, session_id in enumerate(ids):
                    # a cold start right before each resumed turn: both under the same load
                    fresh = server.call("POST", SESSIONS, {"repo": "project"})["session"]
                    first_turn(fresh["id"], f"fresh session {round_}.{i}")
                    fake.add(text(f"Answer {round_} for session {i}.", chunks=5))
                    prompt = f"Question {round_} from session {i}"
                    first, answer, kinds = turn(server, session_id, prompt)
                    assert answer == f"Answer {round_} for session {i}." and "queued" not in kinds
                    seen = str(next(r for r in fake.main_requests if prompt in str(r["messages"])))
                    earlier = [f"Answer {k} for session {i}." for k in range(round_)]
                    assert all(a in seen for a in earlier), f"session {i} lost its history"
                    resumed.append(first)
                    log(f"session {i} round {round_}: resumed, first text {first * 1000:.0f} ms")
            final = server.call("GET", "version")
    finally:
        server.stop()
    cold_ms, resumed_ms = statistics.median(cold) * 1000, statistics.median(resumed) * 1000
    return {
        "cap": args.cap,
        "sessions": len(cold),
        "turns": len(cold) + len(resumed),
        "server_rss_mb_idle": round(idle_server / MB, 1),
        "server_rss_mb_end": round(final["memory"]["rss"] / MB, 1),
        "claude_rss_mb_per_process": round(statistics.median(claude_rss) / MB, 1),
        "budget_mb": round(budget / MB, 1),
        "peak_rss_mb": round(memory.peak_rss / MB, 1),
        "peak_rss_vs_budget": round(memory.peak_rss / budget, 3),
        "peak_pss_mb": round(memory.peak_pss / MB, 1),
        "peak_pss_vs_budget": round(memory.peak_pss / budget, 3),
        "forks_at_peak_rss": memory.forks_at_peak_rss,
        "peak_claude_processes": memory.peak_processes,
        "memory_samples": memory.samples,
        "cold_first_text_ms": round(cold_ms, 1),
        "resumed_first_text_ms": round(resumed_ms, 1),
        "resumed_vs_cold": round(resumed_ms / cold_ms, 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cap", type=int, default=3, help="max_live_claude")
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="resumed turns per session")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.sessions <= args.cap:
        parser.error("--sessions must be more than --cap, so the cap is passed")

    for name in INHERITED_ENV:  # the machine's own Claude set-up stays out
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="lawless-density-") as tmp, FakeAnthropic() as fake:
        figures = run(args, Path(tmp), fake)
    log(
        f"peak RSS {figures['peak_rss_mb']} MB (server + Claude), PSS "
        f"{figures['peak_pss_mb']} MB, of a {figures['budget_mb']} MB budget = "
        f"{figures['peak_rss_vs_budget']}x / {figures['peak_pss_vs_budget']}x "
        f"({'met' if figures['peak_rss_vs_budget'] <= 1 else 'MISSED'}); at most "
        f"{figures['peak_claude_processes']} Claude processes (cap {args.cap}); "
        f"{figures['claude_rss_mb_per_process']} MB per process"
    )
    log(
        f"first text: resumed {figures['resumed_first_text_ms']} ms vs cold "
        f"{figures['cold_first_text_ms']} ms = {figures['resumed_vs_cold']}x "
        f"({'met' if figures['resumed_vs_cold'] <= TARGET_RESUME else 'MISSED'}, "
        f"<= {TARGET_RESUME}x); load average {figures['load_average']}"
    )
    if args.json:
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
