"""Benchmark: the Supabase mirror's cost and speed.

1. Local append throughput, mirror off vs on (``Store.append_message``; "on" writes the
   outbox row in the same transaction, with and without the sync task running against the
   fake PostgREST).
2. Outbox drain rate to the fake PostgREST (real PostgreSQL behind it): rows per second,
   batched (``--batch``) vs one row per request.
3. Event-loop lag while draining: a 5 ms ticker measures how late it wakes.

Needs PostgreSQL as the tests do (root with the Debian cluster 15/main, or
``LAWLESS_TEST_PG_DSN``). Run from the repository root:

    .venv/bin/python benchmarks/bench_mirror.py --n 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lawless_jupyter.store import Store
from lawless_jupyter.store.supabase_mirror import MirrorSettings, SupabaseMirror
from tests.supabase_env import (
    MIRRORED,
    Supabase,
    create_database,
    drop_database,
    server_dsn,
)

ROOT = Path(__file__).resolve().parent.parent
CONTENT = {"type": "text", "text": "x" * 200}

FAKE_PROCESS = """
import sys
from tests.fake_postgrest import FakePostgrest
fake = FakePostgrest(sys.argv[1], sys.argv[2]).start()
print(fake.url, flush=True)
sys.stdin.read()
fake.stop()
"""


async def append_many(store: Store, n: int) -> float:
    conversation = await store.conversation_for("bench", None)
    t0 = time.perf_counter()
    for i in range(n):
        await store.append_message(conversation["id"], f"turn-{i // 10}", "assistant", CONTENT)
    return time.perf_counter() - t0


async def bench_append(tmp: Path, n: int, supabase: Supabase, rounds: int) -> dict:
    """Each round runs the three variants back to back on fresh databases (so a machine
    busy with something else slows all three alike); the cost is the median of the rounds'
    ratios."""
    seconds: dict[str, list[float]] = {"off": [], "on": [], "on+sync": []}
    for r in range(rounds):
        for variant in seconds:
            store = Store(tmp / f"append-{variant}-{r}.db", mirror=variant != "off")
            await store.open()
            mirror = None
            if variant == "on+sync":
                mirror = SupabaseMirror(store, MirrorSettings(supabase.url, supabase.service_key))
                await mirror.start()
            seconds[variant].append(await append_many(store, n))
            if mirror is not None:
                await mirror.wait_drained(120)
                await mirror.stop()
            await store.close()
    median = {k: statistics.median(v) for k, v in seconds.items()}
    ratio = {
        k: round(
            statistics.median(a / b for a, b in zip(seconds[k], seconds["off"], strict=True)), 3
        )
        for k in ("on", "on+sync")
    }
    return {
        "rows": n,
        "rounds": rounds,
        "median_seconds": {k: round(v, 3) for k, v in median.items()},
        "rows_per_second": {k: round(n / v) for k, v in median.items()},
        "cost_on": ratio["on"],
        "cost_on_with_sync": ratio["on+sync"],
    }


async def bench_drain(tmp: Path, n: int, batch: int, supabase: Supabase) -> dict:
    store = Store(tmp / f"drain-{batch}.db", mirror=True)
    await store.open()
    await append_many(store, n)  # n messages + 1 conversation in the outbox
    supabase.db.query("TRUNCATE " + ", ".join(MIRRORED))
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t0 - 0.005)

    tick = asyncio.ensure_future(ticker())
    mirror = SupabaseMirror(
        store, MirrorSettings(supabase.url, supabase.service_key, batch_size=batch)
    )
    t0 = time.perf_counter()
    await mirror.start()
    assert await mirror.wait_drained(600), "the outbox did not drain"
    elapsed = time.perf_counter() - t0
    stop.set()
    await tick
    await mirror.stop()
    await store.close()
    (count,) = supabase.db.query("SELECT count(*) FROM messages")[0]
    assert count == n, (count, n)
    lags.sort()
    return {
        "batch_size": batch,
        "rows": n + 1,
        "seconds": round(elapsed, 3),
        "rows_per_second": round((n + 1) / elapsed),
        "requests": mirror.requests,
        "loop_lag_ms": {
            "p50": round(statistics.median(lags) * 1000, 2),
            "p99": round(lags[int(len(lags) * 0.99)] * 1000, 2),
            "max": round(lags[-1] * 1000, 2),
        },
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="rows per measurement")
    parser.add_argument("--batch", type=int, default=200, help="batch size of the mirror")
    parser.add_argument("--single-n", type=int, default=1000, help="rows for one-by-one")
    parser.add_argument("--rounds", type=int, default=5, help="append rounds")
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    args = parser.parse_args()

    server = server_dsn()
    db = create_database(server)
    secret = "bench-secret-" + "0" * 32
    # the fake PostgREST runs in its own process, as Supabase would be: its work does not
    # compete with the measured store for this process's GIL
    fake_proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_PROCESS, db.authenticator_dsn, secret],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    url = fake_proc.stdout.readline().strip()
    supabase = Supabase(url, secret, None, db)  # type: ignore[arg-type]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {
                "append": await bench_append(Path(tmp), args.n, supabase, args.rounds),
                "drain_batched": await bench_drain(Path(tmp), args.n, args.batch, supabase),
                "drain_one_by_one": await bench_drain(Path(tmp), args.single_n, 1, supabase),
            }
    finally:
        fake_proc.stdin.close()
        fake_proc.wait(30)
        drop_database(server, db)
    a = results["append"]
    print(
        f"append {a['rows']} messages: off {a['rows_per_second']['off']}/s, "
        f"on {a['rows_per_second']['on']}/s ({a['cost_on']}x), "
        f"on with the sync task running {a['rows_per_second']['on+sync']}/s "
        f"({a['cost_on_with_sync']}x)",
        file=sys.stderr,
    )
    for key in ("drain_batched", "drain_one_by_one"):
        d = results[key]
        print(
            f"drain batch={d['batch_size']}: {d['rows']} rows in {d['seconds']} s = "
            f"{d['rows_per_second']} rows/s, {d['requests']} requests; event-loop lag "
            f"p50 {d['loop_lag_ms']['p50']} ms, p99 {d['loop_lag_ms']['p99']} ms, "
            f"max {d['loop_lag_ms']['max']} ms",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
