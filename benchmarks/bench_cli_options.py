"""Why does Claude Code use more CPU under the extension than driven directly?

The same 5,000-delta answer from the scripted fake Messages API, through the same bundled
CLI, with the client options switched on one at a time: what ``bench_chat.py``'s direct
side uses (``plain``), plus the ``can_use_tool`` callback (which makes the SDK start the
CLI with ``--permission-prompt-tool stdio``), plus the ``PreToolUse`` hook, plus the
``session_store`` (the CLI then hands every transcript entry to the SDK, which writes it to
the extension's SQLite store), the extension's own ``LiveClaude`` options (all of them),
and ``plain`` read by a slower reader (40 µs of other work per message, as in the server).
Each variant keeps one warm client; the variants take turns (round-robin) so machine noise
hits them alike. Reported: CPU time of the CLI process and of this process (the SDK's
parsing and our store) per answer, medians, and each as a ratio to ``plain``.

Run: ``.venv/bin/python benchmarks/bench_cli_options.py --reps 5`` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
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
    HookMatcher,
    PermissionResultAllow,
    ResultMessage,
)

from lawless_jupyter.chat.claude import ClaudeSettings, LiveClaude  # noqa: E402
from lawless_jupyter.chat.permissions import PermissionPolicy  # noqa: E402
from lawless_jupyter.store import Store  # noqa: E402
from lawless_jupyter.store.transcripts import TranscriptStore  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, text  # noqa: E402

VARIANTS = ("plain", "can_use_tool", "hook", "session_store", "extension", "slow_reader")
SLOW_READER_US = 40  # what the server spends per delta besides the SDK (``bench_chat.py``)


async def allow(tool: str, tool_input: dict[str, Any], context: Any) -> Any:
    return PermissionResultAllow()


async def no_opinion(input_data: dict[str, Any], tool_use_id: Any, context: Any) -> dict:
    return {}


def options(variant: str, cwd: Path, env: dict[str, str], store: Any) -> ClaudeAgentOptions:
    kw: dict[str, Any] = {"cwd": str(cwd), "env": env, "include_partial_messages": True}
    if variant == "can_use_tool":
        kw["can_use_tool"] = allow
    elif variant == "hook":
        kw["hooks"] = {"PreToolUse": [HookMatcher(matcher=None, hooks=[no_opinion])]}
    elif variant == "session_store":
        kw["session_store"] = store
    return ClaudeAgentOptions(**kw)


async def turn(client: ClaudeSDKClient, prompt: str, busy_us: float = 0) -> None:
    await client.query(prompt)
    async for message in client.receive_response():
        if isinstance(message, ResultMessage) and message.is_error:
            raise RuntimeError(f"the turn failed: {message}")
        if busy_us:  # a reader with other work to do, as the server is
            until = time.perf_counter() + busy_us / 1e6
            while time.perf_counter() < until:
                pass


def cli_process(client: ClaudeSDKClient) -> psutil.Process:
    return psutil.Process(client._transport._process.pid)  # type: ignore[union-attr]


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-options-"))
    work = tmp / "work"
    work.mkdir()
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)
    store = Store(tmp / "lawless.db")
    await store.open()
    transcripts = TranscriptStore(store, "bench")
    me = psutil.Process()
    answer = "".join(f"w{i:05d} " for i in range(args.deltas))
    with FakeAnthropic() as fake:
        env = fake.env(
            CLAUDE_CONFIG_DIR=str(tmp / "claude-config"),
            CLAUDE_CODE_TMPDIR=str(tmp / "claude-tmp"),
            CLAUDE_CODE_MAX_RETRIES="0",
        )
        clients: dict[str, ClaudeSDKClient] = {}
        for variant in VARIANTS:
            if variant == "extension":
                live = LiveClaude(
                    work,
                    PermissionPolicy("default"),
                    ClaudeSettings(env=env, max_retries=0),
                    lambda *a: asyncio.sleep(0, (True, "")),
                    None,
                    transcripts,
                )
                clients[variant] = await live.connected()
            else:
                client = ClaudeSDKClient(options(variant, work, env, transcripts))
                await client.connect()
                clients[variant] = client
            fake.add(text("warm up"))
            await turn(clients[variant], "warm up")
        cli_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
        sdk_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
        wall_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for rep in range(args.reps):
            order = VARIANTS if rep % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                client = clients[variant]
                proc = cli_process(client)
                fake.add(text(answer, chunks=args.deltas))
                c0, m0, t0 = cpu(proc), cpu(me), time.perf_counter()
                busy = SLOW_READER_US if variant == "slow_reader" else 0
                await turn(client, f"long answer {rep}", busy)
                await asyncio.sleep(0.3)  # the transcript traffic that follows the result
                cli_ms[variant].append((cpu(proc) - c0) * 1000)
                sdk_ms[variant].append((cpu(me) - m0) * 1000)
                wall_ms[variant].append((time.perf_counter() - t0 - 0.3) * 1000)
            print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)
        for client in clients.values():
            await client.disconnect()
    await store.close()
    base_cli = statistics.median(cli_ms["plain"])
    base_sdk = statistics.median(sdk_ms["plain"])
    table = {}
    for variant in VARIANTS:
        c, s = statistics.median(cli_ms[variant]), statistics.median(sdk_ms[variant])
        table[variant] = {
            "cli_cpu_ms": round(c, 1),
            "cli_vs_plain": round(c / base_cli, 2),
            "this_process_cpu_ms": round(s, 1),
            "this_process_vs_plain": round(s / base_sdk, 2),
            "wall_ms": round(statistics.median(wall_ms[variant]), 1),
        }
    return {"deltas": args.deltas, "reps": args.reps, "variants": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--deltas", type=int, default=5000)
    args = parser.parse_args()
    for name in INHERITED_ENV:
        os.environ.pop(name, None)
    result = asyncio.run(main_async(args))
    print(f"{'variant':14} {'CLI CPU ms':>11} {'x plain':>8} {'SDK+us ms':>10} {'x plain':>8}")
    for variant, row in result["variants"].items():
        print(
            f"{variant:14} {row['cli_cpu_ms']:11.1f} {row['cli_vs_plain']:8.2f}"
            f" {row['this_process_cpu_ms']:10.1f} {row['this_process_vs_plain']:8.2f}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
