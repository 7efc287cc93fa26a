"""The store's shape: a database core and one repository per aggregate, behind the ``Store``
facade whose old method names other code still calls."""

from __future__ import annotations

import inspect
import sqlite3

from lawless_jupyter.store import Store
from lawless_jupyter.store.schema import MIGRATIONS


async def test_every_facade_name_is_a_repository_method(tmp_path):
    store = Store(tmp_path / "lawless.db")
    names = [
        n for n, v in vars(Store).items() if isinstance(v, property) and n not in {"path", "origin"}
    ]
    assert len(names) >= 40
    for name in names:
        method = getattr(store, name)
        assert inspect.iscoroutinefunction(method), name
        owner = method.__self__  # a repository on this store's database, or the database
        assert owner is store.db or getattr(owner, "db", None) is store.db, name


async def test_a_facade_call_and_its_repository_call_see_the_same_rows(tmp_path):
    store = Store(tmp_path / "lawless.db")
    await store.open()
    try:
        await store.record_activity("alice", "seed", {"n": 1})
        await store.activity.record("alice", "seed", {"n": 2})
        assert [a["detail"]["n"] for a in await store.list_activity("alice")] == [2, 1]
        assert await store.activity.recent("alice") == await store.list_activity("alice")
    finally:
        await store.close()


async def test_an_older_database_keeps_its_turns_and_takes_turns_without_checkpoint(tmp_path):
    """Schema 13 made a turn's checkpoint optional (a turn that only answers has none): a
    database written by the version before keeps every turn, and its rewinds still work."""
    path = tmp_path / "lawless.db"
    with sqlite3.connect(path) as old:  # as the previous release left it
        for script in MIGRATIONS[:12]:
            old.executescript(script)
        old.execute(
            "INSERT INTO turns (id, session_id, user_id, number, kind, message, checkpoint, "
            "checkpoint_tree, checkpoint_head, started_at) "
            "VALUES ('t1', 's', 'alice', 1, 'turn', 'Write a', 'c1', 'tree1', 'head1', 'then')"
        )
        old.execute("PRAGMA user_version = 12")
    store = Store(path)
    await store.open()
    try:
        await store.turns.add(
            {"id": "t2", "session_id": "s", "user_id": "alice", "number": 2, "kind": "turn"}
        )
        turns = await store.turns.of_session("s")
        assert [(t["id"], t["checkpoint"], t["checkpoint_tree"]) for t in turns] == [
            ("t1", "c1", "tree1"),
            ("t2", None, None),
        ]
    finally:
        await store.close()
