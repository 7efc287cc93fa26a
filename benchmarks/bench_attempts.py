"""Benchmark: three attempts (best-of-N) vs one session, time to the first text.

One real ``python -m jupyter_server`` subprocess with the extension, the bundled Claude Code
CLI and the scripted fake Messages API (``tests/fake_anthropic.py``, in this process, answering
at once), so what is measured is the plumbing: worktrees, Claude Code starts, SDK, SSE. The
server's settings and the SSE client are ``bench_chat.py``'s.

- ``single``: ``POST api/workspace/sessions`` then ``POST .../chat``; from the first request
  sent to the first ``text`` event of the stream.
- ``attempts``: ``POST api/workspace/attempts {"n": 3}``, then each session's turn followed
  with ``GET .../chat/stream``; from the request sent to the *last* session's first ``text``
  event (a stream re-attached late replays from the turn's start, so a late attach only
  makes the figure worse).

Rounds alternate the two sides in the same run; the ratio is of the medians. Target: three
attempts <= 1.5x a single session on 2 cores.

Reference (``--no-direct`` to skip): the same with the bundled CLI driven directly through
``ClaudeSDKClient`` (one client vs three at once, each in its own folder, same fake): what
starting three Claude Code processes at once costs on this machine without the extension.

Run: ``.venv/bin/python benchmarks/bench_attempts.py --rounds 5`` (``--json`` for machine
output).
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, StreamEvent  # noqa: E402

from benchmarks.bench_chat import Ext, bench_server  # noqa: E402
from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic  # noqa: E402
from tests.servers import JupyterServer  # noqa: E402

TARGET = 1.5
N = 3


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


async def first_text(
    server: JupyterServer, method: str, path: str, body: dict | None = None
) -> float:
    """Open an SSE request (bench_chat's client) and return the perf_counter time of its
    first text event."""
    stream = await Ext(server.port, server.token).open(method, f"/lawless/{path}", body)
    try:
        assert stream.status == 200, stream.status
        return await stream.until("text")
    finally:
        stream.writer.close()


async def single(server: JupyterServer) -> tuple[float, str]:
    started = time.perf_counter()
    code, body = await asyncio.to_thread(
        server.request, "POST", "api/workspace/sessions", {"repo": "project"}
    )
    assert code == 201, body
    session = body["session"]["id"]
    at = await first_text(
        server, "POST", f"api/workspace/sessions/{session}/chat", {"message": "Say hi"}
    )
    return at - started, session


async def attempts(server: JupyterServer) -> tuple[float, list[str]]:
    started = time.perf_counter()
    code, body = await asyncio.to_thread(
        server.request,
        "POST",
        "api/workspace/attempts",
        {"repo": "project", "prompt": "Say hi", "n": N},
    )
    assert code == 201, body
    answered = time.perf_counter()
    ids = [s["session_id"] for s in body["attempt"]["sessions"]]
    times = await asyncio.gather(
        *(first_text(server, "GET", f"api/workspace/sessions/{i}/chat/stream") for i in ids)
    )
    log(
        f"  POST answered after {(answered - started) * 1000:.0f} ms; first texts at "
        + ", ".join(f"{(t - started) * 1000:.0f}" for t in sorted(times))
        + " ms"
    )
    return max(times) - started, ids


async def clean(server: JupyterServer, ids: list[str]) -> None:
    for session in ids:  # wait for the turn to end, then delete
        for _ in range(200):
            _, body = await asyncio.to_thread(
                server.request, "GET", f"api/workspace/sessions/{session}"
            )
            if body["session"]["state"] == "active":
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(
            server.request, "DELETE", f"api/workspace/sessions/{session}?force=true"
        )


async def direct_first_text(env: dict[str, str], cwd: Path, started: float) -> float:
    options = ClaudeAgentOptions(cwd=str(cwd), env=env, include_partial_messages=True)
    client = ClaudeSDKClient(options)
    await client.connect()
    try:
        await client.query("Say hi")
        first = None
        async for message in client.receive_response():
            if (
                first is None
                and isinstance(message, StreamEvent)
                and message.event.get("type") == "content_block_delta"
            ):
                first = time.perf_counter()
        assert first is not None
        return first - started
    finally:
        await client.disconnect()


async def direct(env: dict[str, str], tmp: Path, n: int, round_: int) -> float:
    folders = [tmp / f"direct-{round_}-{n}-{i}" for i in range(n)]
    for folder in folders:
        folder.mkdir(parents=True)
    started = time.perf_counter()
    times = await asyncio.gather(*(direct_first_text(env, f, started) for f in folders))
    return max(times)


async def run(rounds: int, with_direct: bool = True) -> dict[str, Any]:
    for name in INHERITED_ENV:
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="bench-attempts-") as tmp, FakeAnthropic() as fake:
        tmp_path = Path(tmp)
        root = tmp_path / "root"
        make_repo(root / "project", {"README.md": "# bench\n", "src/app.py": "x = 1\n"})
        server = bench_server(
            tmp_path / "server", root, fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
        )
        server.start()
        try:
            await single(server)  # warm the page cache: the CLI binary, git, the server
            singles, triples, direct1, direct3 = [], [], [], []
            for i in range(rounds):
                seconds, ids = await single(server)
                singles.append(seconds)
                await clean(server, [ids])
                seconds, ids3 = await attempts(server)
                triples.append(seconds)
                await clean(server, ids3)
                log(
                    f"round {i + 1}: single {singles[-1] * 1000:.0f} ms, "
                    f"{N} attempts {triples[-1] * 1000:.0f} ms"
                )
                if with_direct:
                    env = fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "claude-direct"))
                    direct1.append(await direct(env, tmp_path, 1, i))
                    direct3.append(await direct(env, tmp_path, N, i))
                    log(
                        f"  direct CLI: one {direct1[-1] * 1000:.0f} ms, "
                        f"{N} at once {direct3[-1] * 1000:.0f} ms"
                    )
        finally:
            server.stop()
    one, three = statistics.median(singles), statistics.median(triples)
    reference = {}
    if with_direct:
        d1, d3 = statistics.median(direct1), statistics.median(direct3)
        reference = {
            "direct_one_ms": round(d1 * 1000, 1),
            "direct_three_ms": round(d3 * 1000, 1),
            "direct_ratio": round(d3 / d1, 2),
        }
    return {
        **reference,
        "rounds": rounds,
        "single_first_text_ms": round(one * 1000, 1),
        "attempts_last_first_text_ms": round(three * 1000, 1),
        "ratio": round(three / one, 2),
        "target": TARGET,
        "met": three / one <= TARGET,
        "singles_ms": [round(s * 1000) for s in singles],
        "attempts_ms": [round(s * 1000) for s in triples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct CLI reference")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, not args.no_direct))
    if args.json:
        print(json.dumps(result))
    log(
        f"single session: first text {result['single_first_text_ms']} ms; "
        f"{N} attempts: last first text {result['attempts_last_first_text_ms']} ms; "
        f"ratio {result['ratio']}x (target <= {TARGET}x: "
        f"{'met' if result['met'] else 'missed'})"
    )
    if "direct_ratio" in result:
        log(
            f"direct CLI: one {result['direct_one_ms']} ms, {N} at once "
            f"{result['direct_three_ms']} ms = {result['direct_ratio']}x"
        )


if __name__ == "__main__":
    main()
