"""Benchmark: Claude's ``execute`` tool vs the same code sent straight to the kernel.

What it does (see benchmarks/README.md for the figures):

1. Starts a ``ServerApp`` with the extension inside this process (``tests/servers.py``,
   ``in_this_process``), makes a repository and a workspace session through the REST API.
2. Tool path: a JSON-RPC ``tools/call`` of ``execute {code}`` handed to the session's
   ``jupyter`` MCP server through the SDK's own bridge (``SdkMcpBridge``, what the SDK does
   with a call the Claude Code CLI sends it), so it includes the MCP layer, input
   validation, our handler, the kernel round trip and the result's rendering.
3. Baseline: the same code as an ``execute_request`` over Jupyter's kernel websocket
   (``api/kernels/{id}/channels``) of the same server and the same kernel, until the
   kernel's ``idle`` status for it (what a notebook or console does).
4. The floor: the same code through a bare jupyter_client ``AsyncKernelClient`` (ZMQ, this
   process), what the tool itself uses underneath.
5. ``--n`` rounds of each after a warm-up, who goes first rotating every round; the overhead
   is the difference of the medians (target <= 20 ms) and their ratio.

Run: ``nice -n 5 .venv/bin/python benchmarks/bench_notebook_tools.py --n 200``
(``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is a package of the repository root

from tests.conftest import make_repo  # noqa: E402
from tests.servers import JupyterServer, in_this_process  # noqa: E402

CODE = "x = 1"
TARGET_OVERHEAD_MS = 20.0


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def summary(values_s: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values_s)
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 3),
        "min_ms": round(ms[0], 3),
    }


class KernelSocket:
    """A client of Jupyter's kernel websocket, as the lab's notebook is."""

    def __init__(self, connection: Any, session: str):
        self.connection = connection
        self.session = session

    async def execute(self, code: str) -> None:
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id,
                "msg_type": "execute_request",
                "session": self.session,
                "username": "bench",
                "version": "5.3",
                "date": "",
            },
            "parent_header": {},
            "metadata": {},
            "content": {"code": code, "silent": False, "store_history": True},
            "channel": "shell",
            "buffers": [],
        }
        await self.connection.write_message(json.dumps(message))
        while True:
            reply = json.loads(await self.connection.read_message())
            if (
                reply.get("parent_header", {}).get("msg_id") == msg_id
                and reply["msg_type"] == "status"
                and reply["content"]["execution_state"] == "idle"
            ):
                return


class KernelClient:
    """The floor: a jupyter_client client of the kernel over ZMQ, in this process (no
    websocket, no MCP), as the tool's own client is."""

    def __init__(self, client: Any):
        self.client = client

    async def execute(self, code: str) -> None:
        msg_id = self.client.execute(code)
        while True:
            msg = await self.client.get_iopub_msg(timeout=30)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        while (await self.client.get_shell_msg(timeout=30))["parent_header"].get(
            "msg_id"
        ) != msg_id:
            pass


class ToolCall:
    """JSON-RPC to the session's ``jupyter`` MCP server through the SDK's bridge."""

    def __init__(self, server: Any):
        from claude_agent_sdk._internal.sdk_mcp_bridge import SdkMcpBridge

        self.bridge = SdkMcpBridge("jupyter", server["instance"])
        self.next_id = 0

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        answer = await self.bridge.handle(message)
        assert answer is not None and "error" not in answer, answer
        return answer["result"]

    async def start(self) -> None:
        await self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        )
        await self.bridge.handle({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def execute(self, code: str) -> None:
        result = await self.request("tools/call", {"name": "execute", "arguments": {"code": code}})
        assert not result.get("isError"), result


async def run(n: int, tmp: Path) -> dict[str, Any]:
    root = tmp / "root"
    make_repo(root / "bench-repo")
    from jupyter_client.session import Session
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    from lawless_jupyter.notebooks import NotebookTools

    times: dict[str, list[float]] = {"tool": [], "websocket": [], "zmq": []}
    async with in_this_process(JupyterServer(root, tmp / "home")) as running:
        session = await running.create_session("bench-repo")
        app, lawless, headers = running.app, running.lawless, running.headers
        base = f"127.0.0.1:{running.server.port}"
        tools = ToolCall(
            NotebookTools(lawless.kernels, session["id"], Path(session["worktree_path"])).server()
        )
        await tools.start()
        await tools.execute(CODE)  # starts the session's kernel
        kernel = await lawless.kernels.describe(lawless.owner, session["id"])
        client_session = uuid.uuid4().hex
        channels = f"ws://{base}/api/kernels/{kernel['id']}/channels?session_id={client_session}"
        connection = await websocket_connect(HTTPRequest(channels, headers=headers))
        socket = KernelSocket(connection, client_session)
        manager = app.kernel_manager.get_kernel(kernel["id"])
        zmq_client = manager.client(
            session=Session(
                key=manager.session.key, signature_scheme=manager.session.signature_scheme
            )
        )
        zmq_client.start_channels()
        await zmq_client.wait_for_ready(timeout=30)
        direct = KernelClient(zmq_client)
        order = [("tool", tools), ("websocket", socket), ("zmq", direct)]
        for _ in range(5):  # warm-up of every path
            for _, path in order:
                await path.execute(CODE)
        for i in range(n):
            for name, path in order[i % 3 :] + order[: i % 3]:  # rotate who goes first
                start = time.perf_counter()
                await path.execute(CODE)
                times[name].append(time.perf_counter() - start)
        connection.close()
        zmq_client.stop_channels()
        await tools.bridge.aclose()
    tool, socket_, zmq = (summary(times[k]) for k in ("tool", "websocket", "zmq"))
    overhead = tool["median_ms"] - socket_["median_ms"]
    return {
        "rounds": n,
        "code": CODE,
        "tool": tool,
        "websocket": socket_,
        "zmq": zmq,
        "overhead_median_ms": round(overhead, 3),
        "ratio_median": round(tool["median_ms"] / socket_["median_ms"], 3),
        "overhead_over_zmq_median_ms": round(tool["median_ms"] - zmq["median_ms"], 3),
        "target_overhead_ms": TARGET_OVERHEAD_MS,
        "met": overhead <= TARGET_OVERHEAD_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="rounds of each path")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-nb-") as tmp:
        result = asyncio.run(run(args.n, Path(tmp)))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    log(f"execute {CODE!r}, {args.n} rounds each, alternating")
    for name in ("tool", "websocket", "zmq"):
        figures = result[name]
        log(
            f"  {name:9} median {figures['median_ms']:.2f} ms, p90 {figures['p90_ms']:.2f} ms, "
            f"min {figures['min_ms']:.2f} ms"
        )
    verdict = "met" if result["met"] else "NOT met"
    log(
        f"  overhead {result['overhead_median_ms']:.2f} ms (ratio {result['ratio_median']:.2f}x);"
        f" target <= {TARGET_OVERHEAD_MS:g} ms: {verdict}"
    )
    log(f"  over a bare ZMQ client: {result['overhead_over_zmq_median_ms']:.2f} ms")


if __name__ == "__main__":
    main()
