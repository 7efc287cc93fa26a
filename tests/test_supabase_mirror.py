"""The Store's outbox and the Supabase mirror, with the real supabase-py client talking to the
fake PostgREST in front of a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from lawless_jupyter.preferences import PreferenceRules, PreferencesService
from lawless_jupyter.store import Store
from lawless_jupyter.store import chat as chat_store
from lawless_jupyter.store.supabase_mirror import (
    MirrorSettings,
    SupabaseMirror,
    _pg_time,
    outbox_status,
)

from .supabase_env import new_id

pytestmark = pytest.mark.timeout(120)

FAST = {"timeout": 0.5, "retry_base": 0.02, "retry_max": 0.2, "pull_interval": 3600}


def session_row(user: str = "alice", **kw: Any) -> dict[str, Any]:
    sid = new_id()
    return {
        "id": sid,
        "user_id": user,
        "name": None,
        "repo": "project",
        "repo_path": "/srv/project",
        "base": "main",
        "base_commit": "0" * 40,
        "branch": f"lawless/{sid}",
        "worktree_path": f"/srv/wt/{sid[:8]}",
        **kw,
    }


async def open_store(path: Path, mirror: bool = True) -> Store:
    store = Store(path, mirror=mirror)
    await store.open()
    return store


async def start_mirror(store: Store, supabase, **kw: Any) -> SupabaseMirror:
    mirror = SupabaseMirror(
        store, MirrorSettings(supabase.url, supabase.service_key, **{**FAST, **kw})
    )
    await mirror.start()
    return mirror


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A row of SQLite or Postgres, in one form (times as the Store writes them, JSON parsed)."""
    out = {}
    for key, value in row.items():
        if key == "synced_at":
            continue
        if hasattr(value, "isoformat"):
            value = _pg_time(value.isoformat())
        elif key in ("content", "detail") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


async def local_rows(store: Store, table: str) -> list[dict[str, Any]]:
    return await store.db.fetchall(f"SELECT * FROM {table} ORDER BY id")


async def test_every_kind_of_write_reaches_supabase(tmp_path, supabase):
    store = await open_store(tmp_path / "a.db")
    mirror = await start_mirror(store, supabase)
    try:
        row = await store.create_session(session_row(), max_live_per_repo=10)
        await store.transition_session(row["id"], ["creating"], "active")
        await store.update_session(row["id"], merged_head="f" * 40)
        gone = await store.create_session(session_row(), max_live_per_repo=10)
        await store.discard_session(gone["id"])
        conversation = await store.conversation_for("alice", row["id"])
        await store.set_claude_session(conversation["id"], "claude-1")
        await store.append_message(conversation["id"], "t1", "user", {"text": "hi ü"})
        await store.append_message(conversation["id"], "t1", "assistant", {"text": "hello"})
        await store.record_activity("alice", "session.created", {"id": row["id"]})
        assert await mirror.wait_drained(10)
        for table in ("workspace_sessions", "conversations"):
            mine = [comparable(r) for r in await local_rows(store, table)]
            assert [comparable(r) for r in supabase.rows(table)] == mine
        assert supabase.rows("workspace_sessions")[0]["merged_head"] == "f" * 40
        messages = supabase.rows("messages", order="seq")
        assert [(m["role"], m["content"], m["user_id"]) for m in messages] == [
            ("user", {"text": "hi ü"}, "alice"),
            ("assistant", {"text": "hello"}, "alice"),
        ]
        (activity,) = supabase.rows("activity")
        assert activity["id"] == f"{store.origin}-1"
        assert activity["detail"] == {"id": row["id"]}
        status = await outbox_status(store, mirror, supabase.url)
        assert status["configured"] and status["reachable"] and status["outbox"]["depth"] == 0
        assert supabase.service_key not in json.dumps(status)
    finally:
        await mirror.stop()
        await store.close()


async def test_no_supabase_no_outbox(tmp_path):
    store = await open_store(tmp_path / "a.db", mirror=False)
    try:
        row = await store.create_session(session_row(), max_live_per_repo=10)
        await store.transition_session(row["id"], ["creating"], "active")
        conversation = await store.conversation_for("alice", None)
        await store.append_message(conversation["id"], "t", "user", {})
        await store.record_activity("alice", "k", {})
        assert await store.db.fetchall("SELECT * FROM outbox") == []
        status = await outbox_status(store, None, "")
        assert status["configured"] is False and status["reachable"] is None
    finally:
        await store.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "503", "times": 3},
        {"kind": "502-html", "times": 2},
        {"kind": "429", "times": 1},
        {"kind": "timeout", "times": 2, "seconds": 1.0},
        {"kind": "reset", "times": 2},
        {"kind": "timeout", "times": 1, "seconds": 1.0, "after_commit": True},
    ],
    ids=lambda f: f["kind"] + ("-after-commit" if f.get("after_commit") else ""),
)
async def test_transient_faults_are_retried(tmp_path, supabase, fault):
    store = await open_store(tmp_path / "a.db")
    supabase.fake.inject(**fault)
    mirror = await start_mirror(store, supabase)
    try:
        conversation = await store.conversation_for("alice", None)
        for i in range(5):
            await store.append_message(conversation["id"], "t", "user", {"i": i})
        assert await mirror.wait_drained(15)
        assert [m["content"]["i"] for m in supabase.rows("messages", order="seq")] == list(range(5))
        assert len(supabase.rows("conversations")) == 1
        assert mirror.last_error  # kept for the status route
        assert (await store.outbox.stats())["parked"] == 0
    finally:
        await mirror.stop()
        await store.close()


async def test_connection_refused_then_back(tmp_path, supabase):
    store = await open_store(tmp_path / "a.db")
    supabase.fake.down()
    mirror = await start_mirror(store, supabase)
    try:
        conversation = await store.conversation_for("alice", None)
        await store.append_message(conversation["id"], "t", "user", {})
        await asyncio.sleep(0.5)
        status = await outbox_status(store, mirror, supabase.url)
        assert status["reachable"] is False and "ConnectError" in status["last_error"]
        assert status["outbox"]["depth"] == 2 and status["outbox"]["oldest_pending_age_seconds"] > 0
        supabase.fake.up()
        assert await mirror.wait_drained(10)
        assert len(supabase.rows("messages")) == 1
        assert (await outbox_status(store, mirror, supabase.url))["reachable"] is True
    finally:
        await mirror.stop()
        await store.close()


async def test_a_refused_row_is_parked_and_the_rest_go_on(tmp_path, supabase):
    store = await open_store(tmp_path / "a.db")
    mirror = await start_mirror(store, supabase, batch_size=50)
    try:
        await mirror.stop()  # queue first, so the refused request is a batch
        conversation = await store.conversation_for("alice", None)
        for i in range(3):
            await store.append_message(conversation["id"], "t", "user", {"i": i})
        # a row Postgres refuses for real (NUL is not allowed in jsonb text)
        await store.append_message(conversation["id"], "t", "user", {"bad": "\u0000"})
        await store.append_message(conversation["id"], "t", "user", {"i": 4})
        supabase.fake.inject("409", times=1, table="conversations")
        mirror = await start_mirror(store, supabase, batch_size=50)
        for _ in range(100):
            stats = await store.outbox.stats()
            if stats["depth"] == 0:
                break
            await asyncio.sleep(0.05)
        assert stats == {**stats, "depth": 0, "parked": 2}
        assert [m["content"] for m in supabase.rows("messages", order="seq")] == [
            {"i": 0},
            {"i": 1},
            {"i": 2},
            {"i": 4},
        ]
        status = await outbox_status(store, mirror, supabase.url)
        parked = {r["table_name"]: r for r in status["parked_rows"]}
        assert "HTTP 409" in parked["conversations"]["error"]
        assert "HTTP 400" in parked["messages"]["error"] and "22P05" in parked["messages"]["error"]
        # once the cause is fixed, unparking sends them
        assert await store.outbox.unpark() == 2
        mirror.wake()
        for _ in range(100):
            if (await store.outbox.stats())["depth"] == 0 and len(supabase.rows("conversations")):
                break
            await asyncio.sleep(0.05)
        assert len(supabase.rows("conversations")) == 1
    finally:
        await mirror.stop()
        await store.close()


async def test_the_outbox_resumes_after_a_restart(tmp_path, supabase):
    """Rows written while no mirror ran (a crash before the sync) go when it starts."""
    store = await open_store(tmp_path / "a.db")
    conversation = await store.conversation_for("alice", None)
    await store.append_message(conversation["id"], "t", "user", {})
    await store.close()
    store = await open_store(tmp_path / "a.db")
    mirror = await start_mirror(store, supabase)
    try:
        assert await mirror.wait_drained(10)
        assert len(supabase.rows("messages")) == 1
    finally:
        await mirror.stop()
        await store.close()


async def test_rows_from_before_the_mirror_are_backfilled_once(tmp_path, supabase):
    store = await open_store(tmp_path / "a.db", mirror=False)
    conversation = await store.conversation_for("alice", None)
    await store.append_message(conversation["id"], "t", "user", {"x": 1})
    await store.record_activity("alice", "k", {})
    await store.close()
    store = await open_store(tmp_path / "a.db")
    try:
        assert await store.backfill_outbox() == 3
        assert await store.backfill_outbox() == 0
        mirror = await start_mirror(store, supabase)
        assert await mirror.wait_drained(10)
        await mirror.stop()
        assert len(supabase.rows("messages")) == 1 and len(supabase.rows("activity")) == 1
        await store.close()
        # off for a while, then on again: what was written meanwhile goes too
        store = await open_store(tmp_path / "a.db", mirror=False)
        await store.append_message(conversation["id"], "t", "user", {"x": 2})
        await store.close()
        store = await open_store(tmp_path / "a.db")
        assert await store.backfill_outbox() == 4
        mirror = await start_mirror(store, supabase)
        assert await mirror.wait_drained(10)
        await mirror.stop()
        assert len(supabase.rows("messages")) == 2 and len(supabase.rows("activity")) == 1
    finally:
        await store.close()


async def test_a_schema_out_of_date_parks_nothing(tmp_path, supabase):
    """A column Supabase does not know (migrations not applied yet) refuses every row: the
    rows wait, in order, instead of being parked one by one."""
    store = await open_store(tmp_path / "a.db")
    supabase.db.query("ALTER TABLE messages RENAME COLUMN turn_id TO turn")
    mirror = await start_mirror(store, supabase)
    try:
        try:
            conversation = await store.conversation_for("alice", None)
            await store.append_message(conversation["id"], "t", "user", {})
            await asyncio.sleep(0.5)
            stats = await store.outbox.stats()
            assert stats["depth"] == 1 and stats["parked"] == 0, (stats, mirror.last_error)
            assert "42703" in mirror.last_error
        finally:
            supabase.db.query("ALTER TABLE messages RENAME COLUMN turn TO turn_id")
        assert await mirror.wait_drained(10)
        assert len(supabase.rows("messages")) == 1
    finally:
        await mirror.stop()
        await store.close()


async def test_a_write_made_during_a_pull_is_sent_at_once(tmp_path, supabase):
    """(The sync task once cleared its wake-up after a pull, and such a write waited for the
    next pull, 30 s later.)"""
    store = await open_store(tmp_path / "a.db")
    mirror = SupabaseMirror(store, MirrorSettings(supabase.url, supabase.service_key, **FAST))
    real_pull, written = mirror.pull, []

    async def pull_then_write() -> int:
        changed = await real_pull()
        if not written:
            written.append(await store.conversation_for("alice", None))
        return changed

    mirror.pull = pull_then_write
    await mirror.start()
    try:
        for _ in range(40):
            if supabase.rows("conversations"):
                break
            await asyncio.sleep(0.05)
        assert [r["id"] for r in supabase.rows("conversations")] == [written[0]["id"]]
    finally:
        await mirror.stop()
        await store.close()


async def test_two_servers_converge_on_the_last_write(tmp_path, supabase, monkeypatch):
    """The same row updated through two Stores (two SQLite files, one Supabase), the versions
    arriving in every order, a tie on updated_at among them: all three end equal, holding the
    greatest (updated_at, origin)."""
    a = await open_store(tmp_path / "a.db")
    b = await open_store(tmp_path / "b.db")
    mirror_a = await start_mirror(a, supabase)
    mirror_b = await start_mirror(b, supabase)
    try:
        conversation = await a.conversation_for("alice", None)
        cid = conversation["id"]
        # the same row on b (as a conversation resumed elsewhere would have it)
        async with b.db.transaction() as db:
            await db.execute(
                "INSERT INTO conversations (id, user_id, session_id, claude_session_id, "
                "created_at, updated_at, origin) VALUES (:id, :user_id, :session_id, "
                ":claude_session_id, :created_at, :updated_at, :origin)",
                conversation,
            )
        assert await mirror_a.wait_drained(10)
        # b writes first but a writes later; b's older version reaches Supabase last
        await mirror_b.stop()
        await b.set_claude_session(cid, "from-b (older)")
        await a.set_claude_session(cid, "from-a (newer)")
        assert await mirror_a.wait_drained(10)
        mirror_b = await start_mirror(b, supabase)
        assert await mirror_b.wait_drained(10)
        assert supabase.rows("conversations")[0]["claude_session_id"] == "from-a (newer)"
        # both pull (the sync task also pulls when it has nothing to send): b takes a's
        # version, a keeps its own
        await mirror_b.pull()
        assert await mirror_a.pull() == 0
        assert (await b.get_conversation(cid))["claude_session_id"] == "from-a (newer)"
        # a tie on updated_at: the greater origin wins, on both sides
        monkeypatch.setattr(chat_store, "utcnow", lambda: "2030-01-01T00:00:00.000000Z")
        await a.set_claude_session(cid, "tie from a")
        await b.set_claude_session(cid, "tie from b")
        assert await mirror_a.wait_drained(10) and await mirror_b.wait_drained(10)
        await mirror_a.pull()
        await mirror_b.pull()
        winner = "tie from a" if a.origin > b.origin else "tie from b"
        values = [
            (await a.get_conversation(cid))["claude_session_id"],
            (await b.get_conversation(cid))["claude_session_id"],
            supabase.rows("conversations")[0]["claude_session_id"],
        ]
        assert values == [winner] * 3
        ra, rb = await a.get_conversation(cid), await b.get_conversation(cid)
        assert comparable(ra) == comparable(rb) == comparable(supabase.rows("conversations")[0])
    finally:
        await mirror_a.stop()
        await mirror_b.stop()
        await a.close()
        await b.close()


async def test_a_pull_never_overwrites_a_change_still_in_the_outbox(tmp_path, supabase):
    a = await open_store(tmp_path / "a.db")
    b = await open_store(tmp_path / "b.db")
    mirror_a = await start_mirror(a, supabase)
    mirror_b = await start_mirror(b, supabase)
    try:
        conversation = await a.conversation_for("alice", None)
        async with b.db.transaction() as db:
            await db.execute(
                "INSERT INTO conversations (id, user_id, created_at, updated_at, origin) "
                "VALUES (:id, :user_id, :created_at, :updated_at, :origin)",
                conversation,
            )
        await a.set_claude_session(conversation["id"], "a")
        assert await mirror_a.wait_drained(10)
        await mirror_b.stop()
        await b.set_claude_session(conversation["id"], "b, newer, not sent yet")
        mirror_b = await start_mirror(b, supabase)
        supabase.fake.down()  # b's change cannot go up, the pull cannot happen either
        with pytest.raises(Exception):  # noqa: B017 (whatever the transport raises)
            await mirror_b.pull()
        supabase.fake.up()
        assert await mirror_b.wait_drained(10)
        await mirror_a.pull()
        assert (await a.get_conversation(conversation["id"]))["claude_session_id"] == (
            "b, newer, not sent yet"
        )
    finally:
        await mirror_a.stop()
        await mirror_b.stop()
        await a.close()
        await b.close()


async def test_the_status_route_when_supabase_is_off(api, lawless_app):
    """The default: no Supabase, SQLite only, and the route says so."""
    assert not lawless_app.supabase_url and not lawless_app.store.mirroring
    code, body, _ = await api("GET", "api/integrations/supabase/status")
    assert code == 200
    assert body["configured"] is False and body["reachable"] is None
    assert body["outbox"] == {
        "depth": 0,
        "oldest_pending_at": None,
        "oldest_pending_age_seconds": None,
        "parked": 0,
    }


async def test_a_pulled_version_is_not_sent_back(tmp_path):
    """The outbox triggers skip rows whose version came from another database."""
    store = await open_store(tmp_path / "a.db")
    try:
        conversation = await store.conversation_for("alice", None)
        await store.outbox.settle([r.seq for r in await store.outbox.pending(10)])
        theirs = {
            **conversation,
            "claude_session_id": "from elsewhere",
            "updated_at": "2099-01-01T00:00:00.000000Z",
            "origin": "another-database",
        }
        assert await store.apply_remote("conversations", [theirs]) == 1
        assert (await store.outbox.stats())["depth"] == 0
        assert (await store.get_conversation(conversation["id"]))["origin"] == "another-database"
        # a local write after it is this database's version again, and goes up
        await store.set_claude_session(conversation["id"], "mine")
        (pending,) = await store.outbox.pending(10)
        assert pending.payload["origin"] == store.origin
        assert pending.payload["claude_session_id"] == "mine"
    finally:
        await store.close()


async def test_big_rows_make_smaller_batches(tmp_path, supabase):
    store = await open_store(tmp_path / "a.db")
    conversation = await store.conversation_for("alice", None)
    for i in range(6):
        await store.append_message(
            conversation["id"], "t", "tool_result", {"i": i, "x": "y" * 5000}
        )
    mirror = await start_mirror(store, supabase, batch_bytes=12_000)
    try:
        assert await mirror.wait_drained(10)
        sizes = [len(rows) for method, table, rows in supabase.fake.writes if table == "messages"]
        assert sum(sizes) == 6 and max(sizes) <= 2, sizes
    finally:
        await mirror.stop()
        await store.close()


async def test_preferences_follow_the_person_to_another_server(tmp_path, supabase):
    """Saved on one server; a second server (its own SQLite, the same Supabase) that never saw
    them reads them; a later change on either wins everywhere; with Supabase down the second
    server still answers (with what it has)."""
    a = await open_store(tmp_path / "a.db")
    b = await open_store(tmp_path / "b.db")
    mirror_a = await start_mirror(a, supabase)
    mirror_b = await start_mirror(b, supabase)
    rules = PreferenceRules(permission_modes=("default", "ask"))
    prefs_a = PreferencesService(a, rules, lambda: mirror_a.fetch_row)
    prefs_b = PreferencesService(b, rules, lambda: mirror_b.fetch_row)
    try:
        await prefs_a.put("alice", {"permission_mode": "ask", "panel": {"width": 400}})
        assert await mirror_a.wait_drained(10)
        [row] = supabase.rows("preferences")
        assert row["user_id"] == "alice" and row["data"]["panel"] == {"width": 400}
        assert (await prefs_b.get("bob"))["preferences"] == {}
        got = await prefs_b.get("alice")
        assert got["preferences"] == {"permission_mode": "ask", "panel": {"width": 400}}
        # b changes them; a pulls the newer version
        await prefs_b.put("alice", {"permission_mode": "default"})
        assert await mirror_b.wait_drained(10)
        await mirror_a.pull()
        assert (await prefs_a.get("alice"))["preferences"] == {"permission_mode": "default"}
        assert supabase.rows("preferences")[0]["data"] == {"permission_mode": "default"}
        # a third database, Supabase down: an empty answer, at once, not an error
        c = await open_store(tmp_path / "c.db")
        mirror_c = await start_mirror(c, supabase)
        supabase.fake.down()
        try:
            prefs_c = PreferencesService(c, rules, lambda: mirror_c.fetch_row)
            assert (await prefs_c.get("alice"))["preferences"] == {}
        finally:
            supabase.fake.up()
            await mirror_c.stop()
            await c.close()
    finally:
        await mirror_a.stop()
        await mirror_b.stop()
        await a.close()
        await b.close()


async def test_retrying_parked_rows_without_supabase_says_so(api, lawless_app):
    code, body, _ = await api("POST", "api/integrations/supabase/retry", {})
    assert code == 409 and "not configured" in body["error"]
