"""Benchmark: chat through the extension (HTTP + SSE) vs the bundled Claude Code CLI directly.

Everything runs against one scripted fake Messages API (``tests/fake_anthropic.py``,
started in this process), so the model answers instantly and what is measured is the
plumbing: the CLI, the SDK, the extension and the HTTP stream.

Sides:

- ``ext``: a real ``python -m jupyter_server`` subprocess with the extension. A turn is
  ``POST /lawless/api/workspace/sessions/{id}/chat`` and the SSE answer is read by a raw
  HTTP/1.0 client, as in ``tests/test_chat.py`` (but parsing whole socket reads).
- ``direct``: ``claude_agent_sdk.ClaudeSDKClient`` in this process, same env, cwd a git
  worktree of a clone of the same repository, ``include_partial_messages=True``.
- ``raw CLI``: ``claude -p <prompt> --output-format stream-json --include-partial-messages
  --verbose`` (the bundled binary) as a subprocess, read line by line.

Measures:

1. cold first turn, new session each time: request sent (ext) / ``connect()`` called (direct)
   / process spawned (raw CLI) until the first ``text`` event. Target ext/direct <= 1.15x.
2. follow-up turn on a warm session through the extension vs the direct cold figure of 1.
   Target <= 0.5x.
3. an answer of 5,000 text deltas on warm sessions, request to end of turn. Target <= 1.1x.
4. ``--concurrent`` sessions streaming at once through the extension (each ``--conc-deltas``
   deltas with ``--conc-delay`` s between them): the largest gap between consecutive events
   seen by any client. Target: no gap over 250 ms. The same load is also run on as many
   direct clients (``--no-conc-direct`` to skip), as a reference.

CPU time of the server, of the Claude Code processes and of this process is reported for 3
and 4; each fake delta is timestamped when sent, giving its latency to the client in 4,
and each model request when it reached the fake (Claude Code's own share of a first text).

Run: ``.venv/bin/python benchmarks/bench_chat.py`` (``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claude_agent_sdk import (  # noqa: E402
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ResultMessage,
    StreamEvent,
)

from tests.conftest import git, make_repo  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, _Handler, text  # noqa: E402
from tests.servers import JupyterServer  # noqa: E402

API = "/lawless/api/workspace/sessions"
HEALTH = "/lawless/health"
REPO_NAME = "bench-repo"
TARGET_COLD = 1.15
TARGET_WARM = 0.5
TARGET_BIG = 1.1
TARGET_GAP_MS = 250.0
CLI = Path(__import__("claude_agent_sdk").__file__).parent / "_bundled" / "claude"


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def now() -> float:
    return time.perf_counter()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def is_text_delta(event: dict[str, Any]) -> bool:
    return (
        event.get("type") == "content_block_delta"
        and event.get("delta", {}).get("type") == "text_delta"
    )


# -- set-up --------------------------------------------------------------------------------


#: the repository every side works in: a README and 20 small modules
REPO_FILES = {"README.md": "# bench\n", **{f"src/mod{i}.py": f"VALUE = {i}\n" for i in range(20)}}


def bench_server(
    tmp: Path, root: Path, claude_env: dict[str, str], claude_nice: int | None = None
) -> JupyterServer:
    """The extension's server (``tests/servers.py``), with quotas out of the way."""
    nice = {} if claude_nice is None else {"claude_nice": claude_nice}
    return JupyterServer(
        root,
        tmp,
        lawless={
            "claude_env": claude_env,
            "claude_max_retries": 0,
            "api_requests_per_hour": 1_000_000,
            "chat_messages_per_hour": 1_000_000,
            "max_sessions_per_repo": 1000,
            **nice,
        },
        config={"LabApp": {"log_level": "WARN"}},
    )


# -- the extension, over raw HTTP ----------------------------------------------------------


class Stream:
    """An SSE answer: (arrival time, data) of every event, keepalives skipped.

    Reads whole socket chunks and splits them into events itself: a line-by-line
    ``readline()`` client costs this process about 20 us an event, enough to be the slowest
    stage of a 5,000-delta answer (a browser's EventSource parses natively)."""

    def __init__(self, status: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.status, self.reader, self.writer = status, reader, writer
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._buffer = b""
        self._read = 0  # events handed out by next()

    async def next(self, timeout: float = 120) -> dict[str, Any] | None:
        while self._read == len(self.events):
            chunk = await asyncio.wait_for(self.reader.read(1 << 16), timeout)
            if not chunk:
                return None
            arrived = now()
            *blocks, self._buffer = (self._buffer + chunk).split(b"\n\n")
            for block in blocks:
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        self.events.append((arrived, json.loads(line[6:])))
        self._read += 1
        return self.events[self._read - 1][1]

    async def until(self, kind: str) -> float:
        """Read up to the first event of ``kind``; its arrival time."""
        while (data := await self.next()) is not None:
            if data["type"] == kind:
                return self.events[self._read - 1][0]
        raise RuntimeError(f"the stream ended without {kind!r}: {[d for _, d in self.events]}")

    async def rest(self) -> None:
        while await self.next() is not None:
            pass
        self.writer.close()

    def count(self, kind: str) -> int:
        return sum(1 for _, d in self.events if d["type"] == kind)

    def text(self) -> str:
        return "".join(d["delta"] for _, d in self.events if d["type"] == "text")


class Ext:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token

    async def open(self, method: str, path: str, body: Any = None) -> Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
            f"Authorization: token {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return Stream(status, reader, writer)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        stream = await self.open(method, path, body)
        raw = await stream.reader.read()
        stream.writer.close()
        return stream.status, (json.loads(raw) if raw else None)

    async def create(self) -> dict[str, Any]:
        status, body = await self.call("POST", API, {"repo": REPO_NAME})
        if status != 201:
            raise RuntimeError(f"create answered {status}: {body}")
        return body["session"]

    async def delete(self, session_id: str) -> None:
        status, body = await self.call("DELETE", f"{API}/{session_id}?force=true")
        if status != 200:
            raise RuntimeError(f"delete answered {status}: {body}")

    async def chat(self, session_id: str, message: str) -> Stream:
        stream = await self.open("POST", f"{API}/{session_id}/chat", {"message": message})
        if stream.status != 200:
            raise RuntimeError(f"chat answered {stream.status}: {await stream.reader.read()!r}")
        return stream


# -- the direct sides ------------------------------------------------------------------------


class Direct:
    """ClaudeSDKClient in this process, the way the CLI is driven without the extension."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.options = ClaudeAgentOptions(cwd=str(cwd), env=env, include_partial_messages=True)
        self.client: ClaudeSDKClient | None = None

    async def turn(self, prompt: str) -> dict[str, float]:
        """One turn (connecting first if needed); times from the start of this call."""
        t0 = now()
        if self.client is None:
            client = ClaudeSDKClient(self.options)
            await client.connect()
            self.client = client
        await self.client.query(prompt)
        first, deltas = None, 0
        async for message in self.client.receive_response():
            if isinstance(message, StreamEvent) and is_text_delta(message.event):
                deltas += 1
                if first is None:
                    first = now()
            elif isinstance(message, ResultMessage) and message.is_error:
                raise RuntimeError(f"direct turn failed: {message.result}")
        assert first is not None, "no text delta arrived"
        return {"first": first - t0, "total": now() - t0, "deltas": deltas}

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None


async def raw_cli_turn(env: dict[str, str], cwd: Path, prompt: str) -> dict[str, float]:
    """``claude -p`` as a subprocess: spawn to first text_delta line, and to exit."""
    t0 = now()
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "-p",
        prompt,
        "--output-format",
        "stream-json",
        "--include-partial-messages",
        "--verbose",
        cwd=str(cwd),
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 24,
    )
    assert proc.stdout is not None
    first = None
    while line := await proc.stdout.readline():
        if first is None and b'"text_delta"' in line:
            message = json.loads(line)
            if message.get("type") == "stream_event" and is_text_delta(message["event"]):
                first = now()
    await proc.wait()
    assert first is not None, "no text delta arrived from the raw CLI"
    return {"first": first - t0, "total": now() - t0}


# -- the measures ---------------------------------------------------------------------------


class Bench:
    def __init__(
        self, args: argparse.Namespace, tmp: Path, fake: FakeAnthropic, ext: Ext, cpu: CpuMeter
    ):
        self.args, self.tmp, self.fake, self.ext, self.cpu = args, tmp, fake, ext, cpu
        self.env = {**fake.env(**claude_dirs(tmp)), "CLAUDE_CODE_MAX_RETRIES": "0"}
        self.clone = tmp / "direct-repo"
        self.worktrees = 0
        self.results: dict[str, Any] = {}

    def worktree(self) -> Path:
        """A fresh git worktree for a direct session, as the extension makes one per session."""
        self.worktrees += 1
        path = self.tmp / "direct-worktrees" / f"wt-{self.worktrees}"
        git(self.clone, "worktree", "add", "--quiet", "-b", f"direct/{self.worktrees}", str(path))
        return path

    async def ext_cold(self) -> tuple[dict[str, float], str]:
        session = await self.ext.create()
        self.fake.add(text("Hello from the fake, in five pieces.", chunks=5))
        t0 = now()
        stream = await self.ext.chat(session["id"], "Say hello")
        t_headers = now()
        t_start = await stream.until("start")
        t_first = await stream.until("text")
        await stream.rest()
        return {
            "headers": t_headers - t0,
            "start": t_start - t0,
            "first": t_first - t0,
            "total": stream.events[-1][0] - t0,
        }, session["id"]

    async def ext_warm(self, session_id: str, turn: Any, prompt: str) -> dict[str, float]:
        self.fake.add(turn)
        t0 = now()
        stream = await self.ext.chat(session_id, prompt)
        t_first = await stream.until("text")
        await stream.rest()
        if stream.events[-1][1] != {"type": "done", "stop_reason": "end_turn"}:
            raise RuntimeError(f"the turn ended badly: {stream.events[-3:]}")
        return {
            "first": t_first - t0,
            "total": stream.events[-1][0] - t0,
            "deltas": stream.count("text"),  # pieces that came together go as one event
            "text": stream.text(),
        }

    async def direct_cold(self) -> tuple[dict[str, float], Direct]:
        direct = Direct(self.env, self.worktree())
        self.fake.add(text("Hello from the fake, in five pieces.", chunks=5))
        return await direct.turn("Say hello"), direct

    async def raw_cold(self) -> dict[str, float]:
        self.fake.add(text("Hello from the fake, in five pieces.", chunks=5))
        return await raw_cli_turn(self.env, self.worktree(), "Say hello")

    # 1 + 2 ----------------------------------------------------------------------------------

    async def cold_and_warm(self) -> None:
        n = self.args.cold
        ext_c: list[dict[str, float]] = []
        dir_c: list[dict[str, float]] = []
        raw_c: list[dict[str, float]] = []
        keep_session, keep_direct = None, None

        # warm-up, not counted: first chat in the server, page cache, imports
        r, sid = await self.ext_cold()
        await self.ext.delete(sid)
        r, d = await self.direct_cold()
        await d.close()
        if not self.args.no_raw:
            await self.raw_cold()

        for i in range(n):
            order = ["ext", "direct", "raw"] if i % 2 == 0 else ["raw", "direct", "ext"]
            for side in order:
                if side == "ext":
                    r, sid = await self.ext_cold()
                    ext_c.append(r)
                    if keep_session is None:
                        keep_session = sid
                    else:
                        await self.ext.delete(sid)
                elif side == "direct":
                    r, d = await self.direct_cold()
                    dir_c.append(r)
                    if keep_direct is None:
                        keep_direct = d
                    else:
                        await d.close()
                elif not self.args.no_raw:
                    raw_c.append(await self.raw_cold())
            log(
                f"  cold {i + 1}/{n}: ext {ms(ext_c[-1]['first']):6.1f} ms"
                f"  direct {ms(dir_c[-1]['first']):6.1f} ms"
                + (f"  raw CLI {ms(raw_c[-1]['first']):6.1f} ms" if raw_c else "")
            )

        assert keep_session is not None and keep_direct is not None
        ext_w: list[dict[str, float]] = []
        dir_w: list[dict[str, float]] = []
        for i in range(self.args.warm):
            turn = text("A follow-up answer, in five pieces.", chunks=5)
            ext_w.append(await self.ext_warm(keep_session, turn, f"Follow-up {i}"))
            self.fake.add(text("A follow-up answer, in five pieces.", chunks=5))
            dir_w.append(await keep_direct.turn(f"Follow-up {i}"))
        log(
            "  warm: ext " + ", ".join(f"{ms(r['first'])}" for r in ext_w) + " ms;"
            " direct " + ", ".join(f"{ms(r['first'])}" for r in dir_w) + " ms"
        )

        self.results["cold"] = {
            "ext_first_ms": [ms(r["first"]) for r in ext_c],
            "ext_start_event_ms": [ms(r["start"]) for r in ext_c],
            "ext_headers_ms": [ms(r["headers"]) for r in ext_c],
            "ext_total_ms": [ms(r["total"]) for r in ext_c],
            "direct_first_ms": [ms(r["first"]) for r in dir_c],
            "direct_total_ms": [ms(r["total"]) for r in dir_c],
            "raw_cli_first_ms": [ms(r["first"]) for r in raw_c],
            "raw_cli_exit_ms": [ms(r["total"]) for r in raw_c],
        }
        self.results["warm"] = {
            "ext_first_ms": [ms(r["first"]) for r in ext_w],
            "direct_warm_first_ms": [ms(r["first"]) for r in dir_w],
        }
        self.keep_session, self.keep_direct = keep_session, keep_direct

    # 3 ----------------------------------------------------------------------------------------

    async def big_answer(self) -> None:
        n_deltas = self.args.big_deltas
        answer = "".join(f"w{i:05d} " for i in range(n_deltas))  # 7 characters per delta
        ext_b: list[dict[str, float]] = []
        dir_b: list[dict[str, float]] = []
        for i in range(self.args.big_reps):
            for side in ("ext", "direct") if i % 2 == 0 else ("direct", "ext"):
                before = self.cpu.read()
                if side == "ext":
                    r = await self.ext_warm(
                        self.keep_session, text(answer, chunks=n_deltas), f"Long answer {i}"
                    )
                    ext_b.append(r)
                else:
                    self.fake.add(text(answer, chunks=n_deltas))
                    r = await self.keep_direct.turn(f"Long answer {i}")
                    dir_b.append(r)
                r["cpu"] = self.cpu.used(before, self.cpu.read())
            if ext_b[-1]["text"] != answer or dir_b[-1]["deltas"] != n_deltas:
                raise RuntimeError("the answer did not arrive whole")
            log(
                f"  {n_deltas} deltas {i + 1}/{self.args.big_reps}:"
                f" ext {ms(ext_b[-1]['total']):7.1f} ms  direct {ms(dir_b[-1]['total']):7.1f} ms"
            )
        self.results["big"] = {
            "deltas": n_deltas,
            "ext_total_ms": [ms(r["total"]) for r in ext_b],
            "direct_total_ms": [ms(r["total"]) for r in dir_b],
            "ext_cpu_ms": [r["cpu"] for r in ext_b],
            "direct_cpu_ms": [r["cpu"] for r in dir_b],
        }

    # 4 ----------------------------------------------------------------------------------------

    async def concurrent(self) -> None:
        self.results["concurrent"] = {
            "sessions": self.args.concurrent,
            "deltas": self.args.conc_deltas,
            "delay_s": self.args.conc_delay,
            "ext": await self._concurrent_side("ext"),
        }
        if not self.args.no_conc_direct:
            self.results["concurrent"]["direct"] = await self._concurrent_side("direct")

    async def _concurrent_side(self, side: str) -> dict[str, float]:
        n, deltas, delay = self.args.concurrent, self.args.conc_deltas, self.args.conc_delay
        # every session's CLI is started first (a short turn each, five at a time): the
        # figure is about streaming, not about 20 CLIs starting at once on 2 cores
        t0 = now()
        if side == "ext":
            handles: list[Any] = [(await self.ext.create())["id"] for _ in range(n)]
        else:
            handles = [Direct(self.env, self.worktree()) for _ in range(n)]
        for k in range(0, n, 5):
            batch = handles[k : k + 5]
            self.fake.add(*[text("ready") for _ in batch])
            await asyncio.gather(*[self._conc_turn(side, h, "start") for h in batch])
        log(f"  {side}: {n} sessions started in {now() - t0:.1f} s")

        # each delta is stamped when the fake sends it: its latency to the client
        sent: dict[str, float] = {}
        original = _Handler._sse

        def stamped(handler: Any, event: str, data: dict[str, Any]) -> None:
            original(handler, event, data)
            if event == "content_block_delta":
                sent[data["delta"].get("text", "")] = now()

        self.fake.add(
            *[
                text(
                    "".join(f"s{k:02d}w{i:04d} " for i in range(deltas)), chunks=deltas, delay=delay
                )
                for k in range(n)
            ]
        )
        lag = LoopLag()
        lag_task = asyncio.create_task(lag.run())
        _Handler._sse = stamped  # type: ignore[method-assign]
        before = self.cpu.read()
        requests_before = len(self.fake.log)
        t0, wall0 = now(), time.time()  # the fake stamps requests with time.time()
        try:
            runs = await asyncio.gather(
                *[self._conc_turn(side, h, "Stream along") for h in handles]
            )
        finally:
            _Handler._sse = original  # type: ignore[method-assign]
            lag_task.cancel()
        total = now() - t0
        cpu = self.cpu.used(before, self.cpu.read())
        # when each turn's model request reached the fake: Claude Code's own part of the
        # first text (what comes after is the stream's way back to the client)
        asked = sorted(r.time - wall0 for r in self.fake.log[requests_before:] if r.main)

        gaps_all, gaps_text, firsts, latencies = [], [], [], []
        for t_sent, events in runs:
            gaps_all.append(
                max(b - a for a, b in itertools.pairwise([t_sent, *(t for t, _ in events)]))
            )
            texts = [(t, delta) for t, delta in events if delta is not None]
            # pieces that came together go as one event: count the words
            if sum(len(delta.split()) for _, delta in texts) != deltas:
                raise RuntimeError(f"{side}: not all {deltas} text pieces arrived")
            gaps_text.append(max(b[0] - a[0] for a, b in itertools.pairwise(texts)))
            firsts.append(texts[0][0] - t_sent)
            last = [(t, delta.split()[-1] + " ") for t, delta in texts if delta.strip()]
            latencies += [t - sent[piece] for t, piece in last if piece in sent]
        latencies.sort()
        if side == "ext":
            for session_id in handles:
                await self.ext.delete(session_id)
        else:
            await asyncio.gather(*[d.close() for d in handles])
        return {
            "total_ms": ms(total),
            "max_gap_ms": ms(max(gaps_all)),
            "max_gap_streaming_ms": ms(max(gaps_text)),
            "median_of_max_streaming_gaps_ms": ms(med(gaps_text)),
            "first_text_median_ms": ms(med(firsts)),
            "first_text_max_ms": ms(max(firsts)),
            "delta_latency_median_ms": ms(latencies[len(latencies) // 2]),
            "delta_latency_p99_ms": ms(latencies[int(len(latencies) * 0.99)]),
            "delta_latency_max_ms": ms(latencies[-1]),
            "bench_loop_lag_max_ms": ms(lag.worst),
            "first_event_max_ms": ms(max(events[0][0] - t_sent for t_sent, events in runs)),
            "api_request_median_ms": ms(med(asked)),
            "api_request_max_ms": ms(asked[-1]),
            "cpu_ms": cpu,
        }

    async def _conc_turn(
        self, side: str, handle: Any, prompt: str
    ) -> tuple[float, list[tuple[float, str | None]]]:
        """One turn; (time sent, [(arrival, text delta or None)]) of the events a person sees:
        ext: every SSE event (start, text..., usage, done); direct: text deltas and the result."""
        t0 = now()
        if side == "ext":
            stream = await self.ext.chat(handle, prompt)
            await stream.rest()
            return t0, [
                (t, d.get("delta") if d["type"] == "text" else None) for t, d in stream.events
            ]
        events: list[tuple[float, str | None]] = []
        if handle.client is None:
            handle.client = ClaudeSDKClient(handle.options)
            await handle.client.connect()
            t0 = now()
        await handle.client.query(prompt)
        async for message in handle.client.receive_response():
            if isinstance(message, StreamEvent) and is_text_delta(message.event):
                events.append((now(), message.event["delta"]["text"]))
            elif isinstance(message, ResultMessage):
                events.append((now(), None))
        return t0, events


class CpuMeter:
    """CPU time (user + system) used by the server, the Claude Code processes (the server's
    and this process's) and this process (the fake API and the clients) between two reads."""

    def __init__(self, server_pid: int):
        self.server = psutil.Process(server_pid)
        self.me = psutil.Process()

    def read(self) -> dict[str, float]:
        out = {"server": 0.0, "claude": 0.0, "bench": 0.0}
        for group, procs in (
            ("server", [self.server]),
            ("bench", [self.me]),
            ("claude", [p for p in self.me.children(recursive=True) if p.pid != self.server.pid]),
        ):
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = proc.cpu_times()
                    out[group] += times.user + times.system
        return out

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: ms(after[k] - before[k]) for k in before}


class LoopLag:
    """How late this process's own event loop wakes up (the client side of the gaps)."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            t0 = now()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, now() - t0 - 0.005)


def claude_dirs(tmp: Path) -> dict[str, str]:
    return {
        "CLAUDE_CONFIG_DIR": str(tmp / "claude-config"),
        "CLAUDE_CODE_TMPDIR": str(tmp / "claude-tmp"),
    }


# -- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def cpu_cell(samples: list[dict[str, float]]) -> str:
    """Median CPU ms of each group, as server/claude/bench."""
    return "/".join(f"{med([c[k] for c in samples]):.0f}" for k in ("server", "claude", "bench"))


def report(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    c, w = results["cold"], results["warm"]
    ext_cold, dir_cold = med(c["ext_first_ms"]), med(c["direct_first_ms"])
    ratio = ext_cold / dir_cold
    rows.append(
        (
            "1. cold first text",
            f"{ext_cold:.0f} ms",
            f"{dir_cold:.0f} ms",
            f"{ratio:.2f}x",
            f"<= {TARGET_COLD}x {verdict(ratio <= TARGET_COLD)}",
        )
    )
    if c["raw_cli_first_ms"]:
        raw = med(c["raw_cli_first_ms"])
        rows.append(
            (
                "   vs raw claude -p",
                f"{ext_cold:.0f} ms",
                f"{raw:.0f} ms",
                f"{ext_cold / raw:.2f}x",
                "",
            )
        )
    ext_warm = med(w["ext_first_ms"])
    ratio = ext_warm / dir_cold
    rows.append(
        (
            "2. warm first text",
            f"{ext_warm:.0f} ms",
            f"{dir_cold:.0f} ms (cold)",
            f"{ratio:.2f}x",
            f"<= {TARGET_WARM}x {verdict(ratio <= TARGET_WARM)}",
        )
    )
    dir_warm = med(w["direct_warm_first_ms"])
    rows.append(
        (
            "   vs direct warm",
            f"{ext_warm:.0f} ms",
            f"{dir_warm:.0f} ms",
            f"{ext_warm / dir_warm:.2f}x",
            "",
        )
    )
    if "big" in results:
        b = results["big"]
        e, d = med(b["ext_total_ms"]), med(b["direct_total_ms"])
        rows.append(
            (
                f"3. {b['deltas']} deltas total",
                f"{e:.0f} ms",
                f"{d:.0f} ms",
                f"{e / d:.2f}x",
                f"<= {TARGET_BIG}x {verdict(e / d <= TARGET_BIG)}",
            )
        )
        rows.append(
            (
                "   CPU server/claude/bench",
                cpu_cell(b["ext_cpu_ms"]),
                cpu_cell(b["direct_cpu_ms"]),
                "",
                "",
            )
        )
    if "concurrent" in results:
        k = results["concurrent"]
        e, d = k["ext"], k.get("direct", {})

        def both(key: str) -> tuple[str, str]:
            return f"{e[key]:.0f} ms", (f"{d[key]:.0f} ms" if d else "")

        rows.append(
            (
                f"4. {k['sessions']} sessions max gap",
                *both("max_gap_ms"),
                "",
                f"<= {TARGET_GAP_MS:.0f} ms {verdict(e['max_gap_ms'] <= TARGET_GAP_MS)}",
            )
        )
        rows.append(("   text to text only", *both("max_gap_streaming_ms"), "", ""))
        rows.append(("   first text, median", *both("first_text_median_ms"), "", ""))
        rows.append(("   first text, max", *both("first_text_max_ms"), "", ""))
        if "api_request_max_ms" in e:
            rows.append(("   model request, median", *both("api_request_median_ms"), "", ""))
            rows.append(("   model request, max", *both("api_request_max_ms"), "", ""))
        rows.append(("   delta latency p99", *both("delta_latency_p99_ms"), "", ""))
        rows.append((f"   total, {k['deltas']} deltas each", *both("total_ms"), "", ""))
        rows.append(
            ("   POST to start event, max", f"{e['first_event_max_ms']:.0f} ms", "", "", "")
        )
        rows.append(
            (
                "   CPU server/claude/bench",
                cpu_cell([e["cpu_ms"]]),
                cpu_cell([d["cpu_ms"]]) if d else "",
                "",
                "",
            )
        )
    head = ("measure", "extension", "direct", "ratio", "target")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(wd) for cell, wd in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    m = results.get("machine", {})
    lines.append(
        f"\n{m.get('cpus')} CPUs; load average before {m.get('loadavg_before')}, "
        f"after {m.get('loadavg_after')}; CPU pressure during the run "
        f"{m.get('cpu_pressure_pct')}% (this run's own load included); "
        f"wall time {results.get('wall_s')} s"
    )
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------


def cpu_pressure_us() -> int | None:
    """Linux PSI: total microseconds in which some task waited for a CPU."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(line.rsplit("total=", 1)[1])


def pressure_pct(before: int | None, t_before: float) -> float | None:
    """Share of the wall time since ``t_before`` in which some task waited for a CPU."""
    after = cpu_pressure_us()
    if before is None or after is None:
        return None
    return round((after - before) / 1e4 / (now() - t_before), 1)


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    pressure_before, t_before = cpu_pressure_us(), now()
    root = tmp / "root"
    make_repo(root / REPO_NAME, REPO_FILES)
    git(tmp, "clone", "--quiet", str(root / REPO_NAME), str(tmp / "direct-repo"))
    with FakeAnthropic() as fake:
        claude_env = fake.env(**claude_dirs(tmp))
        t0 = now()
        with bench_server(tmp, root, claude_env, args.claude_nice) as server:
            log(f"server up in {now() - t0:.1f} s; fake API at {fake.url}; tmp {tmp}")
            ext = Ext(server.port, server.token)
            bench = Bench(args, tmp, fake, ext, CpuMeter(server.proc.pid))
            await bench.cold_and_warm()
            if args.big_reps:
                await bench.big_answer()
            await bench.keep_direct.close()
            await bench.ext.delete(bench.keep_session)
            if args.concurrent:
                await bench.concurrent()
            if fake.pending:
                raise RuntimeError(f"{fake.pending} scripted answers were never asked for")
            results = bench.results
    results["machine"] = {
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "cpu_pressure_pct": pressure_pct(pressure_before, t_before),
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=5, help="cold first turns per side")
    parser.add_argument("--warm", type=int, default=5, help="warm follow-up turns per side")
    parser.add_argument("--big-reps", type=int, default=5, help="long answers per side")
    parser.add_argument("--big-deltas", type=int, default=5000, help="deltas of a long answer")
    parser.add_argument("--concurrent", type=int, default=20, help="sessions streaming at once")
    parser.add_argument("--conc-deltas", type=int, default=200, help="deltas per session")
    parser.add_argument("--conc-delay", type=float, default=0.01, help="seconds between deltas")
    parser.add_argument(
        "--no-conc-direct", action="store_true", help="skip the direct side of the concurrency test"
    )
    parser.add_argument("--no-raw", action="store_true", help="skip the raw `claude -p` side")
    parser.add_argument(
        "--claude-nice", type=int, help="the server's claude_nice (default: the extension's)"
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    for name in INHERITED_ENV:  # the machine's own Claude set-up stays out of it
        os.environ.pop(name, None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    t0 = now()
    try:
        results = asyncio.run(run(args, tmp))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["wall_s"] = round(now() - t0, 1)
    table = report(results)
    if args.json:
        log(table)
        print(json.dumps(results, indent=1))
    else:
        print(table)


if __name__ == "__main__":
    main()
