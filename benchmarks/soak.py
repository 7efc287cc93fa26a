"""Soak: does the server's memory stay flat over hundreds of sessions and chats?

A real ``python -m jupyter_server`` with the extension (``tests/servers.py``), the real
Claude Code CLI, a scripted fake Messages API (``tests/fake_anthropic.py``). One session
after another (``--sessions``, default 200): create it, chat in it (``--turns`` turns of a
streamed answer with a tool call), cancel one turn in every 4th session, re-attach to the
latest turn from the middle of it (exact replay), every 10th session also after the replay
window (the turn rebuilt from the history), a free chat in every 5th, then delete it.
The re-attach window and the idle timeout are short (``--replay-seconds``,
``--idle-seconds``) so the bounds act during the run, not after it.

The server's RSS is sampled after the first 20 sessions (the baseline: imports, caches and
the SQLite page cache warmed up), every 20 sessions, and at the end once the housekeeping
has closed the idle Claude processes. Target: the end within 10% of the baseline.

Run (about 10-15 minutes, two CPU cores busy)::

    .venv/bin/python benchmarks/soak.py                    # 200 sessions
    .venv/bin/python benchmarks/soak.py --sessions 60      # shorter
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, text, tool_use  # noqa: E402
from tests.servers import JupyterServer  # noqa: E402

SESSIONS = "api/workspace/sessions"


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


class Client:
    """Plain HTTP to the server; chat streams read event by event."""

    def __init__(self, server: JupyterServer):
        self.server = server

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, answer = self.server.request(method, path, body)
        assert status == expect, (method, path, status, answer)
        return answer

    def stream(self, method: str, path: str, body: Any = None, headers=None) -> Stream:
        conn = self._connection()
        conn.request(
            method,
            f"/lawless/{path}",
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {self.server.token}", **(headers or {})},
        )
        response = conn.getresponse()
        assert response.status == 200, (path, response.status, response.read()[:500])
        return Stream(conn, response)


class Stream:
    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self.conn, self.response = conn, response
        self.events: list[tuple[str, dict[str, Any]]] = []

    def next(self) -> tuple[str, dict[str, Any]] | None:
        event_id, data = "", None
        for raw in self.response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif not line and data is not None:
                self.events.append((event_id, data))
                return event_id, data
        return None

    def rest(self) -> list[tuple[str, dict[str, Any]]]:
        while (item := self.next()) is not None:
            if item[1]["type"] == "done":
                break
        self.conn.close()
        return self.events


def answer_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["delta"] for _, d in events if d["type"] == "text")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def one_session(client: Client, fake: FakeAnthropic, i: int, args: argparse.Namespace) -> None:
    session = client.json("POST", SESSIONS, {"repo": "project"}, expect=201)["session"]
    chat = f"{SESSIONS}/{session['id']}/chat"
    answer, events = "", []
    for turn in range(args.turns):
        if i % 4 == 0 and turn == 1:  # a turn stopped half-way
            fake.add(text("slow " * 200, chunks=200, delay=0.02))
            stream = client.stream("POST", chat, {"message": "talk slowly"})
            while (item := stream.next()) and item[1]["type"] != "text":
                pass
            client.json("POST", f"{chat}/cancel", {})
            events = stream.rest()
            assert events[-1][1] == {"type": "done", "stop_reason": "cancelled"}, events[-1]
            answer = ""  # the latest turn is this one
            continue
        answer = "".join(f"s{i}t{turn}w{k} " for k in range(args.deltas))
        fake.add(tool_use("Read", {"file_path": "README.md"}), text(answer, chunks=args.deltas))
        events = client.stream("POST", chat, {"message": f"turn {turn}"}).rest()
        assert answer_text(events) == answer and events[-1][1]["type"] == "done"
    if answer:  # re-attach to the latest turn, a whole one
        middle = events[len(events) // 2][0]
        rest = client.stream("GET", f"{chat}/stream", headers={"Last-Event-ID": middle}).rest()
        assert answer_text(events[: len(events) // 2 + 1] + rest) == answer, "an exact replay"
        if i % 10 == 0:
            time.sleep(args.replay_seconds + 1)
            whole = client.stream("GET", f"{chat}/stream", headers={"Last-Event-ID": middle})
            assert answer_text(whole.rest()) == answer, "rebuilt from the history"
    if i % 5 == 0:
        fake.add(text("A free answer."))
        events = client.stream("POST", "api/chat", {"message": "hello"}).rest()
        assert answer_text(events) == "A free answer."
    client.json("DELETE", f"{SESSIONS}/{session['id']}?force=true")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--deltas", type=int, default=200, help="text pieces per answer")
    parser.add_argument("--replay-seconds", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    for name in INHERITED_ENV:  # the machine's own Claude set-up stays out
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="lawless-soak-") as tmp_name, FakeAnthropic() as fake:
        tmp = Path(tmp_name)
        root = tmp / "root"
        make_repo(root / "project")
        server = JupyterServer(root, tmp / "home")
        config = {
            "LawlessApp": {
                "claude_env": fake.env(
                    CLAUDE_CONFIG_DIR=str(tmp / "claude-config"),
                    CLAUDE_CODE_TMPDIR=str(tmp / "claude-tmp"),
                ),
                "claude_max_retries": 0,
                "chat_replay_seconds": args.replay_seconds,
                "chat_idle_timeout": args.idle_seconds,
                "chat_messages_per_hour": 1_000_000,
                "api_requests_per_hour": 1_000_000,
                "max_sessions_per_repo": 1000,
            }
        }
        (tmp / "home" / "config").mkdir(parents=True)
        (tmp / "home" / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        server.start()
        pid = server.proc.pid
        client = Client(server)
        samples: list[tuple[int, float]] = []
        started = time.monotonic()
        try:
            for i in range(1, args.sessions + 1):
                one_session(client, fake, i, args)
                if i % 20 == 0 or i == args.sessions:
                    samples.append((i, rss_mb(pid)))
                    log(
                        f"{i:4d} sessions  {time.monotonic() - started:6.0f} s  "
                        f"server RSS {samples[-1][1]:.1f} MB"
                    )
            time.sleep(args.idle_seconds + min(60.0, args.idle_seconds / 2) + 2)
            end = rss_mb(pid)
            claudes = len(psutil.Process(pid).children(recursive=True))
        finally:
            server.stop()
    baseline = samples[0][1]
    figures = {
        "sessions": args.sessions,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "rss_mb_after_20": round(baseline, 1),
        "rss_mb_samples": [[n, round(mb, 1)] for n, mb in samples],
        "rss_mb_end": round(end, 1),
        "end_vs_after_20": round(end / baseline, 3),
        "processes_left": claudes,
        "target": "end within 10% of after 20 (<= 1.10)",
    }
    log(
        f"server RSS after 20 sessions {baseline:.1f} MB, at the end {end:.1f} MB = "
        f"{end / baseline:.3f}x ({'met' if end <= baseline * 1.1 else 'MISSED'}); "
        f"{claudes} child processes left"
    )
    if args.json:
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
