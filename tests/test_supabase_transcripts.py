"""Claude Code transcripts in the Store (the SDK's SessionStore): the SDK's own conformance
suite, with SQLite alone and with the Supabase mirror; a transcript resumed by a database
that never saw it."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
from claude_agent_sdk.testing import run_session_store_conformance

from lawless_jupyter.store import Store
from lawless_jupyter.store.supabase_mirror import MirrorSettings, SupabaseMirror
from lawless_jupyter.store.transcripts import TranscriptStore

from .fake_anthropic import text
from .test_fake_anthropic import in_order, request_texts, result_of, run_turn
from .test_supabase_mirror import FAST

pytestmark = pytest.mark.timeout(120)

KEY = {"project_key": "-srv-project", "session_id": "5f0c6a8e-0000-4000-8000-000000000001"}


def entry(n: int, **kw):
    return {
        "type": "user",
        "uuid": f"u-{n}",
        "message": {"role": "user", "content": f"turn {n}"},
        **kw,
    }


async def test_conformance_sqlite_only(tmp_path):
    stores: list[Store] = []
    counter = itertools.count()

    async def make() -> TranscriptStore:
        store = Store(tmp_path / f"{next(counter)}.db")
        await store.open()
        stores.append(store)
        return TranscriptStore(store, "alice")

    try:
        await run_session_store_conformance(make)
    finally:
        for store in stores:
            await store.close()
    assert len(stores) > 10


async def test_conformance_with_the_supabase_mirror(tmp_path, supabase):
    """Every fresh store is a new database and a new user (row level scope), mirrored to
    one Supabase; loads go through Supabase too. Afterwards Supabase holds exactly what the
    databases hold (deletes included)."""
    opened: list[tuple[Store, SupabaseMirror, str]] = []
    counter = itertools.count()

    async def make() -> TranscriptStore:
        n = next(counter)
        store = Store(tmp_path / f"{n}.db", mirror=True)
        await store.open()
        mirror = SupabaseMirror(store, MirrorSettings(supabase.url, supabase.service_key, **FAST))
        await mirror.start()
        opened.append((store, mirror, f"user-{n}"))
        return TranscriptStore(store, f"user-{n}", remote=mirror.fetch_transcript)

    try:
        await run_session_store_conformance(make)
        local: set[str] = set()
        for store, mirror, _ in opened:
            assert await mirror.wait_drained(10)
            rows = await store.db.fetchall("SELECT id FROM transcript_entries")
            local |= {r["id"] for r in rows}
        assert {r["id"] for r in supabase.rows("transcript_entries")} == local
    finally:
        for store, mirror, _ in opened:
            await mirror.stop()
            await store.close()


async def test_a_transcript_resumes_on_a_database_that_never_saw_it(tmp_path, supabase):
    a = Store(tmp_path / "a.db", mirror=True)
    b = Store(tmp_path / "b.db", mirror=True)
    await a.open()
    await b.open()
    mirror_a = SupabaseMirror(a, MirrorSettings(supabase.url, supabase.service_key, **FAST))
    mirror_b = SupabaseMirror(b, MirrorSettings(supabase.url, supabase.service_key, **FAST))
    await mirror_a.start()
    await mirror_b.start()
    on_a = TranscriptStore(a, "alice", remote=mirror_a.fetch_transcript)
    on_b = TranscriptStore(b, "alice", remote=mirror_b.fetch_transcript)
    try:
        await on_a.append(KEY, [entry(1), entry(2), {"type": "summary", "summary": "no uuid"}])
        await on_a.append(KEY, [entry(2)])  # a retried batch: stored once
        assert await mirror_a.wait_drained(10)
        first = await on_a.load(KEY)
        assert [e.get("uuid") for e in first] == ["u-1", "u-2", None]

        assert await on_b.load(KEY) == first  # b never saw it: it comes from Supabase
        assert (await b.outbox.stats())["depth"] == 0  # and is not sent back
        # b goes on with the conversation; a, asked again, has the whole of it
        await on_b.append(KEY, [entry(3)])
        assert await mirror_b.wait_drained(10)
        assert [e.get("uuid") for e in await on_a.load(KEY)] == ["u-1", "u-2", None, "u-3"]
        assert [e.get("uuid") for e in await on_b.load(KEY)] == ["u-1", "u-2", None, "u-3"]
        assert await on_b.list_sessions(KEY["project_key"]) == [
            {
                "session_id": KEY["session_id"],
                "mtime": pytest.approx(time.time() * 1000, abs=60_000),
            }
        ]
        # Supabase down: a load answers from SQLite, at once
        supabase.fake.down()
        await on_b.append(KEY, [entry(4)])
        t0 = time.perf_counter()
        loaded = await on_b.load(KEY)
        assert [e.get("uuid") for e in loaded][-1] == "u-4"
        assert time.perf_counter() - t0 < 2 * FAST["timeout"] + 0.5
        supabase.fake.up()
        assert await mirror_b.wait_drained(10)
        # deleting on one server deletes in Supabase too
        await on_b.delete(KEY)
        assert await mirror_b.wait_drained(10)
        assert supabase.rows("transcript_entries") == []
        assert await on_b.load(KEY) is None
    finally:
        for mirror in (mirror_a, mirror_b):
            await mirror.stop()
        for store in (a, b):
            await store.close()


async def test_another_users_transcript_is_not_loaded(tmp_path, supabase):
    store = Store(tmp_path / "a.db", mirror=True)
    await store.open()
    mirror = SupabaseMirror(store, MirrorSettings(supabase.url, supabase.service_key, **FAST))
    await mirror.start()
    try:
        await TranscriptStore(store, "alice", remote=mirror.fetch_transcript).append(
            KEY, [entry(1)]
        )
        assert await mirror.wait_drained(10)
        other = Store(tmp_path / "b.db", mirror=True)
        await other.open()
        try:
            bob = TranscriptStore(other, "bob", remote=mirror.fetch_transcript)
            assert await bob.load(KEY) is None
        finally:
            await other.close()
        await asyncio.sleep(0)
    finally:
        await mirror.stop()
        await store.close()


async def test_claude_resumes_on_a_server_that_shares_only_supabase(fake, tmp_path, supabase):
    """The real Claude Code CLI through the SDK: a conversation held on server A (its own
    SQLite, its own Claude config dir) resumes on server B, whose config dir is empty and
    whose database never saw it; the model gets the earlier turns."""
    fake.add(text("first answer"), text("second answer"))
    work = tmp_path / "work"
    work.mkdir()

    async def server(name: str):
        store = Store(tmp_path / f"{name}.db", mirror=True)
        await store.open()
        mirror = SupabaseMirror(store, MirrorSettings(supabase.url, supabase.service_key, **FAST))
        await mirror.start()
        return store, mirror, TranscriptStore(store, "alice", remote=mirror.fetch_transcript)

    def options(name: str, transcripts: TranscriptStore, **kw) -> ClaudeAgentOptions:
        env = fake.env(
            CLAUDE_CONFIG_DIR=str(tmp_path / f"claude-config-{name}"),
            CLAUDE_CODE_TMPDIR=str(tmp_path / f"claude-tmp-{name}"),
            CLAUDE_CODE_MAX_RETRIES="0",
        )
        return ClaudeAgentOptions(cwd=str(work), env=env, session_store=transcripts, **kw)

    a, mirror_a, on_a = await server("a")
    b, mirror_b, on_b = await server("b")
    try:
        async with ClaudeSDKClient(options("a", on_a)) as client:
            one = await run_turn(client, "question one")
        session_id = result_of(one).session_id
        for _ in range(100):  # the SDK hands the transcript over when the turn ends
            if await a.db.fetchall("SELECT 1 FROM transcript_entries LIMIT 1"):
                break
            await asyncio.sleep(0.05)
        assert await mirror_a.wait_drained(10)
        stored = supabase.rows("transcript_entries")
        assert stored and {r["session_id"] for r in stored} == {session_id}

        assert not (tmp_path / "claude-config-b").exists()
        async with ClaudeSDKClient(options("b", on_b, resume=session_id)) as client:
            two = await run_turn(client, "question two")
        assert result_of(two).result == "second answer"
        history = request_texts(fake.main_requests[1])
        assert in_order(history, "question one", "first answer"), history
        assert history[-1] == "question two"
    finally:
        for mirror in (mirror_a, mirror_b):
            await mirror.stop()
        for store in (a, b):
            await store.close()
