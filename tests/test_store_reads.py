"""The store's reads under concurrency."""

from __future__ import annotations

import asyncio

from lawless_jupyter.store import Store


async def test_reads_see_writes_committed_before_them_under_concurrent_reads(tmp_path):
    """Found by benchmarks/load.py: a read on the shared reader connection could run inside another
    read's still-open snapshot and miss a write committed just before it."""
    store = Store(tmp_path / "lawless.db")
    await store.open()
    try:
        for i in range(50):  # reads that find rows keep their statement open a while
            await store.record_activity("alice", "seed", {"i": i})

        async def first_use(i):
            return await store.conversation_for("alice", f"session-{i}")

        async def reading():
            for _ in range(20):
                await store.list_activity("alice")
                await store.get_session("nope")

        results = await asyncio.gather(
            *(first_use(i) for i in range(300)), *(reading() for _ in range(30))
        )
        conversations = results[:300]
        assert all(
            c is not None and c["session_id"] == f"session-{i}" for i, c in enumerate(conversations)
        )
    finally:
        await store.close()
