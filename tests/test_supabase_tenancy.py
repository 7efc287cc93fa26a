"""Tenancy in Supabase: a server with its user's own JWT reaches that user's rows only, and
what comes back from Supabase is data (never a path, the repository or the worker).

The real supabase-py client, the fake PostgREST (it verifies each JWT's signature and expiry
and runs every request as its role and claims, so row level security is PostgreSQL's) and
the token minting of the hub's service (``deploy/jupyterhub/lawless_supabase_token.py``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from tornado import web

from lawless_jupyter.chat.permissions import MODES as PERMISSION_MODES
from lawless_jupyter.preferences import PreferenceRules, PreferencesService
from lawless_jupyter.store.supabase_credential import HubSupabaseToken
from lawless_jupyter.store.supabase_mirror import MirrorSettings, SupabaseMirror

from .hub_env import free_port
from .test_supabase_mirror import FAST, local_rows, open_store, session_row, start_mirror

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def token_service_module():
    """The hub's token service, loaded from the deploy folder as JupyterHub runs it."""
    path = ROOT / "deploy" / "jupyterhub" / "lawless_supabase_token.py"
    spec = importlib.util.spec_from_file_location("lawless_supabase_token", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_alice(supabase, text: str, params: Any = None):
    """A statement alice runs with her own credential (PostgREST's role and claims)."""
    claims = {"sub": "alice", "role": "authenticated"}
    return supabase.db.as_user("authenticated", claims, text, params)


async def test_a_pull_takes_data_never_paths(tmp_path, supabase):
    """alice changes her own session in Supabase (her credential is in her server's
    environment): its worktree path to /, the repository, branch, worker, state. The pull
    takes the name and the error, and nothing that says where things are or deletes them."""
    store = await open_store(tmp_path / "a.db")
    mirror = await start_mirror(store, supabase)
    try:
        row = await store.create_session(session_row(), max_live_per_repo=10)
        await store.transition_session(row["id"], ["creating"], "active")
        conversation = await store.conversation_for("alice", row["id"])
        await store.put_preferences("alice", {"permission_mode": "ask"})
        assert await mirror.wait_drained(10)
        before = (await local_rows(store, "workspace_sessions"))[0]

        as_alice(
            supabase,
            "UPDATE workspace_sessions SET worktree_path = '/', repo_path = '/', repo = '..', "
            "branch = 'main', base = 'main', base_commit = NULL, merged_head = %s, "
            "worker = 'elsewhere', state = 'creating', name = 'renamed', error = 'note', "
            "updated_at = now() + interval '1 day', origin = 'another' WHERE id = %s",
            ("f" * 40, row["id"]),
        )
        as_alice(
            supabase,
            "UPDATE conversations SET session_id = NULL, claude_session_id = '--help', "
            "updated_at = now() + interval '1 day', origin = 'another' WHERE id = %s",
            (conversation["id"],),
        )
        as_alice(
            supabase,
            "UPDATE preferences SET data = %s, updated_at = now() + interval '1 day', "
            "origin = 'another' WHERE id = 'alice'",
            (json.dumps({"permission_mode": "bypassPermissions", "model": ["x"]}),),
        )
        assert await mirror.pull() == 3

        after = (await local_rows(store, "workspace_sessions"))[0]
        assert (after["name"], after["error"]) == ("renamed", "note")
        kept = ("worktree_path", "repo_path", "repo", "branch", "base", "base_commit")
        kept += ("merged_head", "worker", "state", "user_id")
        assert {c: after[c] for c in kept} == {c: before[c] for c in kept}
        local = await store.get_conversation(conversation["id"])
        assert (local["session_id"], local["claude_session_id"]) == (row["id"], None)
        # preferences are taken, but a value this server would refuse is not used
        preferences = PreferencesService(store, PreferenceRules(permission_modes=PERMISSION_MODES))
        assert await preferences.chat_defaults("alice") == {}

        # ending a session is data too: a pulled 'deleted' hides it, and deletes nothing
        as_alice(
            supabase,
            "UPDATE workspace_sessions SET state = 'deleted', "
            "updated_at = now() + interval '2 days' WHERE id = %s",
            (row["id"],),
        )
        assert await mirror.pull() == 1
        assert (await store.get_session(row["id"]))["state"] == "deleted"
        assert (await store.get_session(row["id"]))["worktree_path"] == before["worktree_path"]
    finally:
        await mirror.stop()
        await store.close()


class _TokenHandler(web.RequestHandler):
    """The hub service's answer (its hub login check aside: tests/test_jupyterhub.py runs
    the real service under a real hub): a JWT for ``user`` from the service's own ``mint``."""

    def initialize(self, state: dict[str, Any]) -> None:
        self.state = state

    def get(self) -> None:
        if self.request.headers.get("Authorization") != f"token {self.state['hub_token']}":
            raise web.HTTPError(403)
        token, expires = self.state["mint"](
            self.state["user"], self.state["secret"], self.state["lifetime"]
        )
        self.state["issued"].append(token)
        self.finish({"access_token": token, "token_type": "bearer", "expires_at": expires})


def start_token_service(supabase) -> tuple[dict[str, Any], Any]:
    state = {
        "mint": token_service_module().mint,
        "secret": supabase.jwt_secret,
        "user": "alice",
        "lifetime": 3,
        "hub_token": secrets.token_hex(8),
        "issued": [],
    }
    port = free_port()
    app = web.Application([(r"/token", _TokenHandler, {"state": state})])
    server = app.listen(port, "127.0.0.1")
    state["url"] = f"http://127.0.0.1:{port}/token"
    return state, server


async def start_user_mirror(store, supabase, token_service) -> SupabaseMirror:
    credential = HubSupabaseToken(token_service["url"], token_service["hub_token"], margin=1)
    settings = MirrorSettings(supabase.url, supabase.anon_key, user_token=credential, **FAST)
    mirror = SupabaseMirror(store, settings)
    await mirror.start()
    return mirror


async def test_with_the_users_jwt_a_server_reaches_only_that_users_rows(tmp_path, supabase):
    """alice's server mirrors with the anon key and her own short-lived JWT: her rows go up
    and come back; bob's rows stay invisible and cannot be written, even when her database
    holds a copy of one; the JWT is fetched again before it expires."""
    bob_row = session_row("bob", name="bobs")
    supabase.db.query(
        "INSERT INTO workspace_sessions (id, user_id, name, repo, repo_path, base, branch, "
        "worktree_path, state, created_at, updated_at, origin) VALUES (%(id)s, %(user_id)s, "
        "%(name)s, %(repo)s, %(repo_path)s, %(base)s, %(branch)s, %(worktree_path)s, "
        "'active', now(), now(), 'bobs-server')",
        bob_row,
    )
    token_service, server = start_token_service(supabase)
    store = await open_store(tmp_path / "alice.db")
    mirror = await start_user_mirror(store, supabase, token_service)
    try:
        mine = await store.create_session(session_row(), max_live_per_repo=10)
        await store.transition_session(mine["id"], ["creating"], "active")
        # a copy of bob's row in alice's database (a guest on a shared server, a hand edit)
        await store.create_session({**bob_row, "name": "hijacked"}, max_live_per_repo=10)
        for _ in range(100):
            stats = await store.outbox.stats()
            if stats["depth"] == 0 and stats["parked"]:
                break
            await asyncio.sleep(0.05)
        rows = {r["id"]: r for r in supabase.rows("workspace_sessions")}
        assert rows[mine["id"]]["user_id"] == "alice" and rows[mine["id"]]["state"] == "active"
        assert rows[bob_row["id"]]["name"] == "bobs", "bob's row is not alice's to write"
        (parked,) = await store.outbox.parked()
        assert parked["row_id"] == bob_row["id"] and "row-level security" in parked["error"]

        # what she can read: her rows only, whatever she asks for
        query = mirror.client.table("workspace_sessions").select("*")
        assert [r["id"] for r in (await query.execute()).data] == [mine["id"]]
        assert await mirror.fetch_row("workspace_sessions", "bob", bob_row["id"]) is None
        # a newer version of bob's row never reaches her copy
        supabase.db.query(
            "UPDATE workspace_sessions SET name = 'bobs, newer', "
            "updated_at = now() + interval '1 day' WHERE id = %s",
            (bob_row["id"],),
        )
        await mirror.pull()
        assert (await store.get_session(bob_row["id"]))["name"] == "hijacked"

        # the JWT lives 3 s and is fetched again before it ends: writes keep going up
        await asyncio.sleep(3.5)
        await store.update_session(mine["id"], name="later")
        assert await mirror.wait_drained(10)
        assert {r["id"]: r for r in supabase.rows("workspace_sessions")}[mine["id"]]["name"] == (
            "later"
        )
        issued = token_service["issued"]
        assert len(issued) >= 2 and mirror.failures == 0
        claims = jwt.decode(issued[-1], options={"verify_signature": False})
        assert (claims["sub"], claims["role"]) == ("alice", "authenticated")
        assert claims["exp"] - claims["iat"] == 3
        assert mirror.last_error is None or "401" not in mirror.last_error
    finally:
        await mirror.stop()
        await store.close()
        server.stop()


async def test_the_fake_postgrest_checks_signatures_and_expiry(supabase):
    """As PostgREST does: a JWT signed with another secret, or expired, is 401."""
    mint = token_service_module().mint
    url = f"{supabase.url}/rest/v1/workspace_sessions"
    forged, _ = mint("alice", "not-the-project-secret-" + "x" * 20)
    expired, _ = mint("alice", supabase.jwt_secret, lifetime=-10)
    good, _ = mint("alice", supabase.jwt_secret)
    async with httpx.AsyncClient() as client:
        for token, status in ((forged, 401), (expired, 401), (good, 200)):
            answer = await client.get(
                url, headers={"apikey": supabase.anon_key, "Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == status, (answer.status_code, answer.text)
