"""Writes done in one trip to the writer's thread (``Database.write``): the writes on a chat
turn's path, beside the ones still made statement by statement (``transaction``)."""

from __future__ import annotations

import asyncio

import pytest

from lawless_jupyter.store import Store


async def _opened(tmp_path, **kw) -> Store:
    store = Store(tmp_path / "lawless.db", **kw)
    await store.open()
    return store


async def test_a_write_that_fails_halfway_leaves_nothing(tmp_path):
    store = await _opened(tmp_path)
    try:
        conversation = await store.conversation_for("alice", None)

        def half(db):
            db.execute(
                "INSERT INTO messages (id, conversation_id, turn_id, role, content, created_at) "
                "VALUES ('m1', ?, 't', 'user', '{}', 'now')",
                (conversation["id"],),
            )
            raise RuntimeError("the second half failed")

        with pytest.raises(RuntimeError, match="second half"):
            await store.db.write(half)
        assert await store.list_messages(conversation["id"]) == []
        # the writer is free again and the next write lands
        seq = await store.append_message(conversation["id"], "t", "user", {"text": "hi"})
        assert [m["seq"] for m in await store.list_messages(conversation["id"])] == [seq]
    finally:
        await store.close()


async def test_one_trip_writes_and_statement_writes_interleave_without_losing_any(tmp_path):
    """A turn's messages (one trip each) while other writers use ``transaction``: every
    message is kept, in order, and each session's compare-and-set moves exactly once."""
    store = await _opened(tmp_path)
    try:
        conversation = await store.conversation_for("alice", None)
        for i in range(10):
            await store.create_session(
                {
                    "id": f"s{i}",
                    "user_id": "alice",
                    "name": f"s{i}",
                    "repo": "repo",
                    "repo_path": "/repo",
                    "base": "main",
                    "branch": f"b{i}",
                    "worktree_path": f"/w/{i}",
                },
                max_live_per_repo=100,
            )

        async def messages():
            return [
                await store.append_message(conversation["id"], "t", "assistant", {"i": i})
                for i in range(50)
            ]

        async def activity():
            for i in range(50):
                await store.record_activity("alice", "tick", {"i": i})

        async def move(i):  # two movers per session race; one wins each step
            return await store.transition_session(f"s{i}", ["creating"], "active")

        seqs, _, *moved = await asyncio.gather(
            messages(), activity(), *(move(i % 10) for i in range(20))
        )
        stored = await store.list_messages(conversation["id"], limit=100)
        assert [m["seq"] for m in stored] == seqs == sorted(seqs)
        assert [m["content"]["i"] for m in stored] == list(range(50))
        assert len(await store.list_activity("alice")) == 50
        assert sum(m is not None for m in moved) == 10
        for i in range(10):
            assert (await store.get_session(f"s{i}"))["state"] == "active"
            assert [e["to_state"] for e in await store.session_events(f"s{i}")] == [
                "creating",
                "active",
            ]
    finally:
        await store.close()


async def test_a_one_trip_write_is_mirrored_and_told_like_any_other(tmp_path):
    """The outbox triggers live on the writing connection: a message written in one trip
    has its outbox row, and the mirror is told of the commit."""
    store = await _opened(tmp_path, mirror=True)
    told = []
    store.on_outbox(lambda: told.append(1))
    try:
        conversation = await store.conversation_for("alice", None)
        told.clear()
        await store.append_message(conversation["id"], "t", "user", {"text": "hi"})
        assert told == [1]
        pending = await store.outbox.pending(100)
        assert [r.table for r in pending].count("messages") == 1
    finally:
        await store.close()
