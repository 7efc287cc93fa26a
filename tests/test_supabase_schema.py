"""supabase/migrations against a real PostgreSQL 15: row level security, last-write-wins,
and applying the migrations twice."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from .supabase_env import MIGRATIONS, MIRRORED, apply_sql

T0 = "2026-01-01T00:00:00.000001Z"
T1 = "2026-01-01T00:00:01.000001Z"


def conversation(id_: str, user: str, updated_at: str = T0, origin: str = "a", **kw):
    return {
        "id": id_,
        "user_id": user,
        "session_id": None,
        "claude_session_id": None,
        "created_at": T0,
        "updated_at": updated_at,
        "origin": origin,
        **kw,
    }


def test_applying_the_migrations_twice_is_harmless(supabase):
    supabase.db.query(
        "INSERT INTO conversations (id, user_id, created_at, updated_at) VALUES "
        "('kept', 'alice', now(), now())"
    )
    apply_sql(supabase.db.admin_dsn, *MIGRATIONS)
    apply_sql(supabase.db.admin_dsn, *MIGRATIONS)
    assert supabase.db.query("SELECT id FROM conversations") == [("kept",)]
    for table in MIRRORED:
        (rls,) = supabase.db.query(
            "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (f"public.{table}",)
        )[0]
        assert rls, f"{table} has row level security off"
        policies = supabase.db.query(
            "SELECT policyname FROM pg_policies WHERE tablename = %s", (table,)
        )
        assert policies == [("own rows",)]


def test_a_user_reads_and_writes_only_their_own_rows(supabase):
    db = supabase.db
    db.query(
        "INSERT INTO conversations (id, user_id, created_at, updated_at) VALUES "
        "('a1', 'alice', now(), now()), ('b1', 'bob', now(), now())"
    )
    db.query(
        "INSERT INTO messages (id, user_id, conversation_id, seq, turn_id, role, content, "
        "created_at) VALUES ('m1', 'alice', 'a1', 1, 't', 'user', '{}', now()), "
        "('m2', 'bob', 'b1', 1, 't', 'user', '{}', now())"
    )
    alice = {"role": "authenticated", "sub": "alice"}
    assert db.as_user("authenticated", alice, "SELECT id FROM conversations") == [("a1",)]
    assert db.as_user("authenticated", alice, "SELECT id FROM messages") == [("m1",)]
    # writes: own rows yes; another's row is invisible to update, and cannot be inserted
    assert (
        db.as_user("authenticated", alice, "UPDATE conversations SET claude_session_id = 'x'") == 1
    )
    assert db.as_user("authenticated", alice, "DELETE FROM messages WHERE id = 'm2'") == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        db.as_user(
            "authenticated",
            alice,
            "INSERT INTO activity (id, user_id, seq, kind, detail, created_at) "
            "VALUES ('x-1', 'bob', 1, 'k', '{}', now())",
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        db.as_user("authenticated", alice, "UPDATE conversations SET user_id = 'bob'")
    assert db.query("SELECT id, claude_session_id FROM conversations ORDER BY id") == [
        ("a1", "x"),
        ("b1", None),
    ]
    # a JWT without a sub sees nothing; anon may not even look
    assert (
        db.as_user("authenticated", {"role": "authenticated"}, "SELECT id FROM conversations") == []
    )
    for table in MIRRORED:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.as_user("anon", {"role": "anon"}, f"SELECT * FROM {table}")
    # the service role (the extension) sees everything
    rows = db.as_user("service_role", {"role": "service_role"}, "SELECT id FROM conversations")
    assert sorted(rows) == [("a1",), ("b1",)]


def test_row_level_security_through_the_rest_api(supabase):
    """The same, over HTTP as a Supabase client sees it (the fake PostgREST applies the
    JWT's role and claims per transaction)."""
    url = f"{supabase.url}/rest/v1/conversations"
    service = {"Authorization": f"Bearer {supabase.service_key}"}
    upsert = {**service, "Prefer": "resolution=merge-duplicates,return=minimal"}
    rows = [conversation("a1", "alice"), conversation("b1", "bob")]
    assert (
        httpx.post(url, params={"on_conflict": "id"}, json=rows, headers=upsert).status_code == 201
    )

    def get(token: str | None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(url, params={"select": "id"}, headers=headers)

    assert get(supabase.token("authenticated", "alice")).json() == [{"id": "a1"}]
    assert get(supabase.token("authenticated", "bob")).json() == [{"id": "b1"}]
    anon = get(supabase.anon_key)
    assert anon.status_code == 401 and "permission denied" in anon.json()["message"]
    assert get(None).status_code == 401
    forged = get(supabase.token("authenticated", "alice")[:-4] + "AAAA")
    assert forged.status_code == 401
    # bob may not write alice's row
    as_bob = {"Authorization": f"Bearer {supabase.token('authenticated', 'bob')}"}
    answer = httpx.post(
        url,
        params={"on_conflict": "id"},
        json=[conversation("a1", "alice", T1)],
        headers={**as_bob, "Prefer": "resolution=merge-duplicates"},
    )
    assert answer.status_code == 403, answer.text
    assert (
        supabase.rows("conversations")[0]["updated_at"]
        .isoformat()
        .startswith("2026-01-01T00:00:00")
    )


def test_last_write_wins_in_the_database(supabase):
    """Whatever order versions arrive in, the row ends as the greatest (updated_at, origin)."""
    db = supabase.db
    insert = (
        "INSERT INTO conversations (id, user_id, claude_session_id, created_at, updated_at, "
        "origin) VALUES ('c', 'alice', %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
        "claude_session_id = EXCLUDED.claude_session_id, updated_at = EXCLUDED.updated_at, "
        "origin = EXCLUDED.origin"
    )
    versions = [("new", T1, "a"), ("old", T0, "z"), ("tie-low", T1, "0"), ("tie-high", T1, "b")]
    for value, at, origin in versions:
        db.query(insert, (value, T0, at, origin))
    assert db.query("SELECT claude_session_id, origin FROM conversations") == [("tie-high", "b")]
    # replaying any of them changes nothing
    for value, at, origin in reversed(versions):
        db.query(insert, (value, T0, at, origin))
    assert db.query("SELECT claude_session_id FROM conversations") == [("tie-high",)]
    # every accepted write moves synced_at (what servers pull by)
    (before,) = db.query("SELECT synced_at FROM conversations")[0]
    db.query(insert, ("later", T0, "2026-01-02T00:00:00Z", "a"))
    (after,) = db.query("SELECT synced_at FROM conversations")[0]
    assert after > before


def test_append_only_rows_are_inserted_once(supabase):
    url = f"{supabase.url}/rest/v1/messages"
    headers = {
        "Authorization": f"Bearer {supabase.service_key}",
        "Prefer": "resolution=ignore-duplicates,return=minimal",
    }
    row = {
        "id": "m1",
        "user_id": "alice",
        "conversation_id": "c",
        "seq": 1,
        "turn_id": "t",
        "role": "user",
        "content": {"text": "hello"},
        "created_at": T0,
    }
    for text in ("hello", "changed"):
        body = [{**row, "content": {"text": text}}]
        answer = httpx.post(url, params={"on_conflict": "id"}, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
    assert [json.loads(json.dumps(r["content"])) for r in supabase.rows("messages")] == [
        {"text": "hello"}
    ]
