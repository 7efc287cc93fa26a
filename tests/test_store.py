"""The store's shape: a database core and one repository per aggregate, behind the ``Store``
facade whose old method names other code still calls."""

from __future__ import annotations

import inspect

from lawless_jupyter.store import Store


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
