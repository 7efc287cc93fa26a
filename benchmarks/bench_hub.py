"""Benchmark: chat through JupyterHub's proxy vs straight to the single-user server.

One real JupyterHub (tests/hub_env.py: the deploy config, DummyAuthenticator,
SimpleLocalProcessSpawner, configurable-http-proxy from npm), one user server, one scripted
fake Messages API (tests/fake_anthropic.py) answering instantly. Both sides use the same
server, the same user API token and a warm session each (one Claude Code process already
running), so what differs is the hop through the proxy.

- ``proxy``: ``POST {hub}/user/alice/lawless/api/workspace/sessions/{id}/chat``
- ``direct``: the same path on the server's own address (the proxy's route target)

Measured per turn, from the request sent: the first SSE event (``start``), the first
``text`` event, and the end of the turn; the two sides alternate which goes first. Also a
plain ``GET .../sessions`` as the proxy's cost on a small request.

The hub holds the model's key, as the deploy config has it: Claude Code in the server reaches
the fake through the hub's ``lawless-anthropic`` service. Its own cost is measured on a
streamed Messages API request (``--model-deltas`` deltas, ``--model-delay`` seconds apart)
sent with the server's token through the service vs straight to the fake with the key,
alternating: the first delta and the end of the answer.

Run: ``.venv/bin/python benchmarks/bench_hub.py`` (``--rounds 20``, ``--json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_repo  # noqa: E402
from tests.fake_anthropic import FakeAnthropic, text  # noqa: E402
from tests.hub_env import environ, free_port, running_hub  # noqa: E402

SESSIONS = "lawless/api/workspace/sessions"
MODEL_ACCESS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")  # the hub's, not the server's
KEYS = ("first_event", "first_text", "end", "small", "first_delta", "model_end")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def turn(base: str, token: str, session_id: str) -> dict[str, float]:
    """One chat turn; seconds from the request to the first event, first text, end."""
    marks: dict[str, float] = {}
    started = time.perf_counter()
    with requests.post(
        f"{base}{SESSIONS}/{session_id}/chat",
        json={"message": "hello"},
        headers={"Authorization": f"token {token}"},
        stream=True,
        timeout=120,
    ) as response:
        assert response.status_code == 200, response.text
        buffer = b""
        for chunk in response.iter_content(chunk_size=None):
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                data = next(
                    (line[6:] for line in event.split(b"\n") if line[:6] == b"data: "), None
                )
                if data is None:
                    continue
                kind = json.loads(data)["type"]
                now = time.perf_counter() - started
                marks.setdefault("first_event", now)
                if kind == "text":
                    marks.setdefault("first_text", now)
                if kind == "done":
                    marks["end"] = now
    return marks


def small_request(base: str, token: str) -> float:
    started = time.perf_counter()
    response = requests.get(
        base + SESSIONS, headers={"Authorization": f"token {token}"}, timeout=60
    )
    assert response.status_code == 200
    return time.perf_counter() - started


def model_request(base: str, key: str, deltas: int) -> dict[str, float]:
    """One streamed Messages API request; seconds to the first text delta and to the end."""
    marks: dict[str, float] = {}
    body = {"model": "claude-fake", "max_tokens": 4096, "stream": True, "tools": []}
    body["messages"] = [{"role": "user", "content": "Stream along"}]
    started = time.perf_counter()
    with requests.post(
        f"{base}/v1/messages",
        json=body,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        stream=True,
        timeout=120,
    ) as response:
        assert response.status_code == 200, response.text
        seen = 0
        for chunk in response.iter_content(chunk_size=None):
            seen += chunk.count(b"content_block_delta") // 2  # the event line and its data
            if seen and "first_delta" not in marks:
                marks["first_delta"] = time.perf_counter() - started
    marks["model_end"] = time.perf_counter() - started
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--model-deltas", type=int, default=200)
    # as a model streams: a delta every few ms (sent all at once, the burst reaches the
    # service in one piece, so its first delta is as late as the last)
    parser.add_argument("--model-delay", type=float, default=0.005)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp,
        FakeAnthropic(default_text="warm answer", nodelay=True) as fake,
        running_hub(
            Path(tmp),
            {k: v for k, v in fake.env().items() if k not in MODEL_ACCESS},
            hub_env={
                **{k: fake.env()[k] for k in MODEL_ACCESS},
                "LAWLESS_ANTHROPIC_PROXY_PORT": str(free_port()),
            },
        ) as hub,
    ):
        hub.spawn("alice")
        server = hub.wait_ready("alice")
        claude_env = environ(server["state"]["pid"])
        model_sides = {
            "proxy": (claude_env["ANTHROPIC_BASE_URL"], claude_env["ANTHROPIC_API_KEY"]),
            "direct": (fake.url, fake.env()["ANTHROPIC_API_KEY"]),
        }
        token = hub.user_token("alice")
        make_repo(Path(tmp) / "home" / "alice" / "project")
        sides = {
            "proxy": hub.user_url("alice"),
            "direct": hub.routes()["/user/alice/"]["target"] + "/user/alice/",
        }
        sessions = {}
        for side, base in sides.items():
            response = requests.post(
                base + SESSIONS,
                json={"repo": "project", "name": side},
                headers={"Authorization": f"token {token}"},
                timeout=120,
            )
            assert response.status_code == 201, response.text
            sessions[side] = response.json()["session"]["id"]
            turn(base, token, sessions[side])  # warm: Claude Code started for the session
        results: dict[str, dict[str, list[float]]] = {
            side: {key: [] for key in KEYS} for side in sides
        }
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                fake.add(text("warm answer in a few pieces", chunks=4))
                for key, value in turn(sides[side], token, sessions[side]).items():
                    results[side][key].append(value)
                results[side]["small"].append(small_request(sides[side], token))
                chunks = args.model_deltas
                words = "".join(f"w{i} " for i in range(chunks))
                fake.add(text(words, chunks=chunks, delay=args.model_delay))
                for key, value in model_request(*model_sides[side], chunks).items():
                    results[side][key].append(value)

    summary: dict[str, Any] = {"rounds": args.rounds}
    for key in KEYS:
        proxy = statistics.median(results["proxy"][key]) * 1000
        direct = statistics.median(results["direct"][key]) * 1000
        summary[key] = {
            "proxy_values_ms": sorted(round(v * 1000, 1) for v in results["proxy"][key]),
            "direct_values_ms": sorted(round(v * 1000, 1) for v in results["direct"][key]),
            "proxy_ms": round(proxy, 1),
            "direct_ms": round(direct, 1),
            "ratio": round(proxy / direct, 2),
            "overhead_ms": round(proxy - direct, 1),
        }
    log(f"{args.rounds} rounds, medians (warm sessions):")
    log(f"{'':14}{'proxy ms':>10}{'direct ms':>11}{'ratio':>8}{'+ms':>8}")
    for key in KEYS:
        s = summary[key]
        log(f"{key:14}{s['proxy_ms']:>10}{s['direct_ms']:>11}{s['ratio']:>8}{s['overhead_ms']:>8}")
    if args.json:
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
