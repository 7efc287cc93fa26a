"""Benchmark: workspace session create/delete through the REST API vs raw ``git worktree``.

What it does (see benchmarks/README.md for the figures):

1. Makes a temporary Jupyter root holding a git repository of ``--files`` small files in
   nested folders (one commit, packed the way a clone would be).
2. Starts a real ``jupyter server`` subprocess with the extension and waits for
   ``GET /lawless/health``.
3. Timing: ``--n`` rounds (after one warm-up of each) of
   ``POST .../sessions`` + ``DELETE .../sessions/{id}`` against the subprocess, and the
   baseline on the same repository: ``git worktree add -b <branch> <path> <commit>`` then
   ``git worktree remove <path>`` + ``git branch -D <branch>``. The order alternates every
   round so that neither side always runs on a warmer cache.
4. Event-loop blocking, from the outside: while a few create/delete rounds run, a thread hits
   ``GET /lawless/health`` (a trivial handler) every 5 ms; its worst latency minus its idle
   median approximates the longest stall of the server's event loop (an upper bound: it
   also counts the client's and the kernel's delays).
5. Event-loop blocking, in-process (the headline figure): a ``ServerApp`` with the extension is
   started inside this process, an asyncio task sleeps 5 ms in a loop and records how late it
   wakes up (``loop.time()`` drift) while create/delete rounds run through a tornado HTTP
   client; the worst overshoot is the longest time the loop was blocked. On Linux each block
   is split with the loop thread's schedstat into time spent waiting for a CPU (the machine
   was busy, e.g. with git itself) and the rest (Python on the loop, GIL, blocking calls). A
   separate "control" process runs the same sleeper, and CPU pressure (PSI) is reported, so
   a stall of the whole machine can be told from a stall of the server.

Run: ``.venv/bin/python benchmarks/bench_sessions.py --n 20`` (``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is a package of the repository root

from tests.servers import JupyterServer, in_this_process  # noqa: E402

API = "/lawless/api/workspace/sessions"
HEALTH = "/lawless/health"
REPO_NAME = "bench-repo"
TARGET_RATIO = 1.3
TARGET_BLOCK_MS = 20.0
PROBE_INTERVAL = 0.005
LAG_INTERVAL = 0.005


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- set-up --------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def make_repo(path: Path, n_files: int) -> str:
    """A repository of ``n_files`` small files in three levels of folders; returns HEAD."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for i in range(n_files):
        folder = path / f"pkg{i % 10}" / f"mod{(i // 10) % 10}" / f"part{(i // 100) % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.py").write_text(
            f"# file {i}\nVALUE = {i}\n\n\ndef f():\n    return {i}\n"
        )
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    git(path, "repack", "-a", "-d", "-q")  # packed, as a cloned repository would be
    git(path, "prune")
    return git(path, "rev-parse", "HEAD").strip()


def default_tmpdir() -> str | None:
    """tmpfs (/dev/shm) when there is room, else the system temp dir.

    On a disk, creating the 5,000 files of a checkout can cost more (and vary more) than
    everything the extension adds, which hides the overhead this benchmark is about; use
    ``--tmpdir`` to measure on a given disk anyway."""
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 1 << 30:
            return str(shm)
    except OSError:
        pass
    return None


def bench_server(home: Path, root: Path) -> JupyterServer:
    """The extension's server (``tests/servers.py``), its database in ``home``."""
    return JupyterServer(root, home, config={"LabApp": {"log_level": "WARN"}})


# -- statistics -----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Percentile ``q`` (0-100) with linear interpolation."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(pct(ms, 90), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
    }


# -- the raw git baseline --------------------------------------------------------------------


class RawGit:
    def __init__(self, repo: Path, worktrees: Path, commit: str):
        self.repo, self.worktrees, self.commit = repo, worktrees, commit
        self.count = 0

    def _run(self, *args: str) -> None:
        out = subprocess.run(["git", *args], cwd=self.repo, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")

    def create(self) -> tuple[Path, str]:
        self.count += 1
        path, branch = self.worktrees / f"raw-{self.count}", f"raw/bench-{self.count}"
        self._run("worktree", "add", "-b", branch, str(path), self.commit)
        return path, branch

    def delete(self, handle: tuple[Path, str]) -> None:
        path, branch = handle
        self._run("worktree", "remove", str(path))
        self._run("branch", "-D", branch)


# -- the extension through HTTP (blocking client, for the subprocess server) ----------------


class Api:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()  # the server closed a kept-alive connection: reconnect once
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)

    def create(self) -> str:
        status, body = self.request("POST", API, {"repo": REPO_NAME})
        if status != 201:
            raise RuntimeError(f"create answered {status}: {body}")
        return body["session"]["id"]

    def delete(self, session_id: str) -> None:
        status, body = self.request("DELETE", f"{API}/{session_id}")
        if status != 200 or not body.get("branch_deleted"):
            raise RuntimeError(f"delete answered {status}: {body}")


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def bench_timing(api: Api, raw: RawGit, n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {
        k: [] for k in ("ext_create", "ext_delete", "raw_create", "raw_delete")
    }

    def ext_round(record: bool) -> None:
        dt_c, sid = timed(api.create)
        dt_d, _ = timed(api.delete, sid)
        if record:
            times["ext_create"].append(dt_c)
            times["ext_delete"].append(dt_d)

    def raw_round(record: bool) -> None:
        dt_c, handle = timed(raw.create)
        dt_d, _ = timed(raw.delete, handle)
        if record:
            times["raw_create"].append(dt_c)
            times["raw_delete"].append(dt_d)

    ext_round(False)  # warm-up: imports, first git.Repo, page cache, SQLite
    raw_round(False)
    for i in range(n):
        first, second = (ext_round, raw_round) if i % 2 == 0 else (raw_round, ext_round)
        first(True)
        second(True)
        log(
            f"  round {i + 1}/{n}: ext {times['ext_create'][-1] * 1000:6.0f}/"
            f"{times['ext_delete'][-1] * 1000:4.0f} ms   raw {times['raw_create'][-1] * 1000:6.0f}/"
            f"{times['raw_delete'][-1] * 1000:4.0f} ms (create/delete)"
        )
    return times


# -- event-loop blocking seen from outside: a health probe -----------------------------------


class HealthProbe(threading.Thread):
    """GET /lawless/health every 5 ms on a kept-alive connection; records each latency."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.stop_event = threading.Event()
        self.latencies: list[float] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        next_at = time.perf_counter()
        while not self.stop_event.is_set():
            t0 = time.perf_counter()
            conn.request("GET", HEALTH)
            conn.getresponse().read()
            self.latencies.append(time.perf_counter() - t0)
            next_at = max(next_at + PROBE_INTERVAL, time.perf_counter())
            time.sleep(max(0.0, next_at - time.perf_counter()))
        conn.close()

    def stop(self) -> list[float]:
        self.stop_event.set()
        self.join()
        return self.latencies


def bench_probe(api: Api, port: int, rounds: int) -> dict[str, float]:
    idle = HealthProbe(port)
    idle.start()
    time.sleep(1.0)
    idle_ms = [v * 1000 for v in idle.stop()]
    busy = HealthProbe(port)
    with ControlSleeper() as control:
        busy.start()
        for _ in range(rounds):
            api.delete(api.create())
        busy_ms = [v * 1000 for v in busy.stop()]
    return {
        "rounds": rounds,
        "idle_samples": len(idle_ms),
        "idle_median_ms": round(statistics.median(idle_ms), 2),
        "idle_max_ms": round(max(idle_ms), 2),
        "busy_samples": len(busy_ms),
        "busy_median_ms": round(statistics.median(busy_ms), 2),
        "busy_p99_ms": round(pct(busy_ms, 99), 2),
        "busy_max_ms": round(max(busy_ms), 2),
        "stall_estimate_ms": round(max(busy_ms) - statistics.median(idle_ms), 2),
        "control_max_ms": control.max_ms(),
    }


# -- a control: the same 5 ms sleeper in a separate process ------------------------------------

_CONTROL_SCRIPT = r"""
import json, select, sys, time
blocks = []
while True:
    t0 = time.monotonic()
    ready, _, _ = select.select([sys.stdin], [], [], 0.005)
    t1 = time.monotonic()
    if ready:
        break
    over = (t1 - t0 - 0.005) * 1000
    if over > 2:
        blocks.append((t0, t1, over))
print(json.dumps(blocks))
"""


class ControlSleeper:
    """A separate process that sleeps 5 ms in a loop, like the lag monitor, and reports when it
    woke late. It shares no GIL and no event loop with the server, so a stall that it sees too
    (at the same moment) is the machine (CPU contention, a stalled VM), not the server's loop.
    Timestamps are ``time.monotonic()``, the clock ``loop.time()`` uses, so they compare."""

    def __enter__(self) -> ControlSleeper:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CONTROL_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.blocks: list[tuple[float, float, float]] = []
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self.proc.communicate("stop\n", timeout=30)
        self.blocks = [tuple(b) for b in json.loads(out or "[]")]

    def max_ms(self) -> float:
        return round(max((b[2] for b in self.blocks), default=0.0), 2)


# -- event-loop blocking measured in-process ---------------------------------------------------


def _runqueue_wait_ms() -> float | None:
    """Time this thread has spent runnable but waiting for a CPU (Linux schedstat), in ms."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


def _cpu_pressure_us() -> int | None:
    """Linux PSI: total microseconds in which some task waited for a CPU."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None


class LagMonitor:
    """Sleeps 5 ms in a loop and records how late it wakes: the longest block of the loop.

    On Linux each block is split further with the thread's schedstat: the part spent runnable
    but waiting for a CPU (the machine was busy) vs the rest (Python code running on the loop,
    waiting for the GIL, a blocking system call): ``self_ms``."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.worst: dict[str, float] = {}
        self.samples: dict[str, list[float]] = {}
        self.self_worst: dict[str, float] = {}
        self.blocks: list[tuple[float, float, float, str]] = []  # (t0, t1, ms, phase) > 2 ms
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()  # loop.time() is time.monotonic()
        while True:
            start_phase, t0, wait0 = self.phase, loop.time(), _runqueue_wait_ms()
            await asyncio.sleep(LAG_INTERVAL)
            t1, wait1 = loop.time(), _runqueue_wait_ms()
            over = (t1 - t0 - LAG_INTERVAL) * 1000
            cpu_wait = wait1 - wait0 if wait0 is not None and wait1 is not None else 0.0
            # a block that straddles a phase change counts for the busy phase
            phase = self.phase if start_phase == "idle" else start_phase
            self.samples.setdefault(phase, []).append(over)
            self.worst[phase] = max(self.worst.get(phase, 0.0), over)
            self.self_worst[phase] = max(self.self_worst.get(phase, 0.0), over - cpu_wait)
            if over > 2:
                self.blocks.append((t0, t1, over, phase))

    def top(self, phase: str, k: int = 5) -> list[float]:
        return [round(v, 2) for v in sorted(self.samples.get(phase, []), reverse=True)[:k]]

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class GcPauses:
    """Python's garbage collector stops the loop too; record its pauses to tell them apart."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, ms)
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t0) * 1000))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def report(self) -> dict[str, Any]:
        worst = max(self.pauses, key=lambda p: p[1], default=(0, 0.0))
        return {
            "collections": len(self.pauses),
            "max_pause_ms": round(worst[1], 2),
            "max_pause_generation": worst[0],
            "full_collections": sum(1 for g, _ in self.pauses if g == 2),
        }


async def _inprocess(tmp: Path, root: Path, rounds: int) -> dict[str, Any]:
    server = bench_server(tmp / "inprocess", root)  # the same settings, in this process
    monitor = LagMonitor()
    times: dict[str, list[float]] = {"create": [], "delete": []}
    async with in_this_process(server) as running:
        client, headers = running.client, running.headers
        base = f"http://127.0.0.1:{server.port}"

        async def one_round(record: bool) -> None:
            monitor.phase = "create"
            t0 = time.perf_counter()
            resp = await client.fetch(
                base + API,
                method="POST",
                headers=headers,
                body=json.dumps({"repo": REPO_NAME}),
                request_timeout=300,
            )
            t1 = time.perf_counter()
            sid = json.loads(resp.body)["session"]["id"]
            monitor.phase = "delete"
            t2 = time.perf_counter()
            await client.fetch(
                f"{base}{API}/{sid}", method="DELETE", headers=headers, request_timeout=300
            )
            t3 = time.perf_counter()
            monitor.phase = "idle"
            if record:
                times["create"].append(t1 - t0)
                times["delete"].append(t3 - t2)

        await one_round(False)  # warm-up, before the monitor runs
        with ControlSleeper() as control, GcPauses() as gc_pauses:
            monitor.start()
            await asyncio.sleep(1.0)  # idle baseline: timer and scheduler noise
            busy_start, pressure0 = time.perf_counter(), _cpu_pressure_us()
            for _ in range(rounds):
                await one_round(True)
                await asyncio.sleep(0.05)
            await monitor.stop()
        pressure1 = _cpu_pressure_us()
        elapsed = time.perf_counter() - busy_start

    def worst(phase: str) -> float:
        return round(monitor.worst.get(phase, 0.0), 2)

    def self_worst(phase: str) -> float:
        return round(max(0.0, monitor.self_worst.get(phase, 0.0)), 2)

    pressure = None
    if pressure0 is not None and pressure1 is not None:
        pressure = round((pressure1 - pressure0) / 1e6 / elapsed * 100, 1)
    return {
        "rounds": rounds,
        "idle_max_overshoot_ms": worst("idle"),
        "create_max_block_ms": worst("create"),
        "delete_max_block_ms": worst("delete"),
        "max_block_ms": max(worst("create"), worst("delete")),
        "top_blocks_ms": {p: monitor.top(p) for p in ("idle", "create", "delete")},
        "max_block_excluding_cpu_wait_ms": max(self_worst("create"), self_worst("delete")),
        "control_max_ms": control.max_ms(),
        "cpu_pressure_pct": pressure,
        "gc": gc_pauses.report(),
        "busy_samples_over_5ms": sum(
            1 for p in ("create", "delete") for v in monitor.samples.get(p, []) if v > 5
        ),
        "create": summary(times["create"]),
        "delete": summary(times["delete"]),
    }


def bench_inprocess(tmp: Path, root: Path, rounds: int) -> dict[str, Any]:
    return asyncio.run(_inprocess(tmp, root, rounds))


# -- report ---------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    t = result["timing"]
    lines = [
        f"sessions benchmark: {result['files']} files, n={result['n']}, "
        f"tmp on {result['tmp_fs']}, git {result['git_version']}, {result['cpus']} CPUs",
        "",
        f"{'':24}{'median ms':>11}{'p90 ms':>10}{'min ms':>10}{'max ms':>10}",
    ]
    for op in ("create", "delete"):
        for side, label in (("ext", "extension (API)"), ("raw", "raw git")):
            s = t[f"{side}_{op}"]
            cells = f"{s['median_ms']:>11.1f}{s['p90_ms']:>10.1f}"
            lines.append(f"{op:7}{label:17}{cells}{s['min_ms']:>10.1f}{s['max_ms']:>10.1f}")
        r = t[f"{op}_ratio"]
        lines.append(
            f"{op:7}ratio ext/raw: median {r['median']:.2f}x, p90 {r['p90']:.2f}x, "
            f"overhead {t[f'{op}_overhead_ms']:.1f} ms"
        )
    p = result["probe"]
    lines += [
        "",
        f"health probe (subprocess, every 5 ms, {p['rounds']} rounds): idle median "
        f"{p['idle_median_ms']:.1f} / max {p['idle_max_ms']:.1f} ms; busy median "
        f"{p['busy_median_ms']:.1f} / p99 {p['busy_p99_ms']:.1f} / max {p['busy_max_ms']:.1f} ms"
        f" -> stall ~{p['stall_estimate_ms']:.1f} ms (control process: max "
        f"{p['control_max_ms']:.1f} ms late)",
    ]
    i = result["inprocess"]
    lines.append(
        f"event loop (in-process, 5 ms sleeper, {i['rounds']} rounds): max block during create "
        f"{i['create_max_block_ms']:.1f} ms, during delete {i['delete_max_block_ms']:.1f} ms "
        f"(idle overshoot {i['idle_max_overshoot_ms']:.1f} ms); in-process create median "
        f"{i['create']['median_ms']:.0f} ms, delete {i['delete']['median_ms']:.0f} ms"
    )
    pressure = i["cpu_pressure_pct"]
    lines.append(
        f"  largest block without the time spent waiting for a CPU: "
        f"{i['max_block_excluding_cpu_wait_ms']:.1f} ms; control process (same sleeper, no "
        f"GIL or loop shared): max {i['control_max_ms']:.1f} ms late"
        + ("" if pressure is None else f"; CPU pressure {pressure:.0f}% of the time")
    )
    v = result["verdict"]
    lines += [
        "",
        f"RESULT create {t['ext_create']['median_ms']:.0f} ms vs raw "
        f"{t['raw_create']['median_ms']:.0f} ms = {t['create_ratio']['median']:.2f}x "
        f"(target <= {TARGET_RATIO}x: {'PASS' if v['create_ratio_ok'] else 'FAIL'}); "
        f"delete {t['ext_delete']['median_ms']:.0f} ms vs raw {t['raw_delete']['median_ms']:.0f} ms"
        f" = {t['delete_ratio']['median']:.2f}x; "
        f"max loop block {i['max_block_ms']:.1f} ms "
        f"(target <= {TARGET_BLOCK_MS:.0f} ms: {'PASS' if v['loop_block_ok'] else 'FAIL'}; "
        f"{i['max_block_excluding_cpu_wait_ms']:.1f} ms without CPU waits)",
    ]
    return "\n".join(lines)


def filesystem_of(path: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True
        )
        return out.stdout.split()[-1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="measured rounds (default 20)")
    parser.add_argument("--files", type=int, default=5000, help="files in the repository")
    parser.add_argument(
        "--probe-rounds", type=int, default=None, help="rounds under the health probe"
    )
    parser.add_argument(
        "--lag-rounds", type=int, default=None, help="rounds under the in-process lag monitor"
    )
    parser.add_argument(
        "--tmpdir",
        default=None,
        help="where to make the temporary root (default: /dev/shm if it has 1 GB free, "
        "else the system temp dir)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.n < 1 or args.files < 1:
        parser.error("--n and --files must be at least 1")
    probe_rounds = args.probe_rounds or max(3, min(args.n // 2, 10))
    lag_rounds = args.lag_rounds or max(3, min(args.n, 20))

    tmpdir = args.tmpdir if args.tmpdir is not None else default_tmpdir()
    tmp = Path(tempfile.mkdtemp(prefix="lawless-bench-", dir=tmpdir)).resolve()
    started = time.perf_counter()
    try:
        root = tmp / "root"
        log(f"temp dir {tmp} ({filesystem_of(tmp)}): making a repository of {args.files} files")
        commit = make_repo(root / REPO_NAME, args.files)
        raw = RawGit(root / REPO_NAME, tmp / "raw-worktrees", commit)
        with bench_server(tmp, root) as server:
            port = server.port
            api = Api(port, server.token)
            log(f"jupyter server up on port {port}; timing {args.n} rounds")
            times = bench_timing(api, raw, args.n)
            log(f"health probe during {probe_rounds} rounds")
            probe = bench_probe(api, port, probe_rounds)
        log(f"in-process server: lag monitor during {lag_rounds} rounds")
        inprocess = bench_inprocess(tmp, root, lag_rounds)

        timing: dict[str, Any] = {k: summary(v) for k, v in times.items()}
        for op in ("create", "delete"):
            ext, base = times[f"ext_{op}"], times[f"raw_{op}"]
            paired = [e / r for e, r in zip(ext, base, strict=True)]
            timing[f"{op}_ratio"] = {
                "median": round(statistics.median(ext) / statistics.median(base), 3),
                "p90": round(pct(ext, 90) / pct(base, 90), 3),
                "paired_median": round(statistics.median(paired), 3),
            }
            timing[f"{op}_overhead_ms"] = round(
                (statistics.median(ext) - statistics.median(base)) * 1000, 1
            )
        result: dict[str, Any] = {
            "n": args.n,
            "files": args.files,
            "tmp_fs": filesystem_of(tmp),
            "git_version": git(tmp, "--version").split()[-1],
            "cpus": os.cpu_count(),
            "timing": timing,
            "raw_samples_ms": {k: [round(v * 1000, 1) for v in vs] for k, vs in times.items()},
            "probe": probe,
            "inprocess": inprocess,
            "verdict": {
                "create_ratio_ok": timing["create_ratio"]["median"] <= TARGET_RATIO,
                "loop_block_ok": inprocess["max_block_ms"] <= TARGET_BLOCK_MS,
            },
        }
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    result["runtime_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        log(report(result))
        print(json.dumps(result, indent=2))
    else:
        print(report(result))
        print(f"(runtime {result['runtime_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
