"""The vault in the server: where its key comes from, rotation at start-up, and what a
person sees when a key is missing or malformed."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from lawless_jupyter.connections import ConnectionSettings, ConnectionsService
from lawless_jupyter.connections.github import TokenGrant
from lawless_jupyter.store import Store
from lawless_jupyter.vault import Vault, new_key_entry, parse_keys

from .conftest import write_db


def server_log(capfd) -> str:
    """What the server wrote to its log (stderr), its start-up included (``capfd`` must be
    the test's first fixture so that it captures from before the server starts)."""
    return capfd.readouterr().err


@pytest.fixture
def no_vault_env(monkeypatch):
    monkeypatch.delenv("LAWLESS_VAULT_KEYS", raising=False)


@pytest.mark.parametrize("lawless_config", [{}])
async def test_without_a_key_a_key_file_is_made_once_and_the_log_says_so(
    capfd, no_vault_env, api, jp_data_dir
):
    code, body, _ = await api("GET", "api/auth/status")
    assert code == 200, body
    key_file = Path(jp_data_dir) / "lawless_jupyter" / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(parse_keys(key_file.read_text())) == 1
    log = server_log(capfd)
    assert f"a new key was generated in {key_file}" in log
    assert key_file.read_text().split(":")[1].strip() not in log


@pytest.mark.parametrize("lawless_config", [{"vault_keys": "k1:not-a-key"}])
async def test_malformed_keys_turn_connections_off_with_a_clear_error(capfd, api):
    code, body, _ = await api("GET", "api/auth/status")
    assert code == 503 and "vault" in body["error"] and "base64" in body["error"]
    assert (await api("GET", "api/workspace/sessions"))[0] == 200  # the rest works
    assert "Token vault unusable" in server_log(capfd)


KEY = new_key_entry("k1")


@pytest.mark.parametrize("lawless_config", [{"vault_keys": KEY}])
async def test_a_token_sealed_with_a_key_that_is_gone_is_a_clear_error(api, lawless_app):
    assert (await api("GET", "api/auth/status"))[0] == 200  # the store is open
    other = Vault(parse_keys(new_key_entry("k0")))
    await write_db(
        lawless_app.store.path,
        "INSERT INTO integrations (user_id, provider, account, secret, key_id, created_at,"
        " updated_at) VALUES (?, 'vercel', 'ada', ?, 'k0', 'now', 'now')",
        (
            lawless_app.owner,
            other.seal(
                json.dumps({"access_token": "x"}), user_id=lawless_app.owner, provider="vercel"
            ),
        ),
    )
    code, body, _ = await api("GET", "api/integrations/vercel/projects")
    assert code == 409 and body["code"] == "vault_key_missing"
    assert "'k0'" in body["error"] and "connect vercel again" in body["error"]


async def test_rotation_reencrypts_every_token_with_the_newest_key(tmp_path):
    store = Store(tmp_path / "lawless.db")
    await store.open()
    old, new = new_key_entry("k1"), new_key_entry("k2")
    try:
        first = ConnectionsService(store, Vault(parse_keys(old)), None, ConnectionSettings())
        grant = TokenGrant("gho_rotate_me", "ghr_refresh", None, None, "repo")
        for user in ("ada", "bob"):
            await first._put(user, "github", grant, account=user, account_id=1)
        await first.close()

        rotated = ConnectionsService(
            store,
            Vault(parse_keys(f"{new},{old}")),
            None,
            ConnectionSettings(),
            logging.getLogger("test"),
        )
        assert await rotated.reseal_all() == 2
        assert await rotated.reseal_all() == 0
        await rotated.close()
        rows = await store.list_integrations("ada") + await store.list_integrations("bob")
        assert {r["key_id"] for r in rows} == {"k2"}

        only_new = ConnectionsService(store, Vault(parse_keys(new)), None, ConnectionSettings())
        assert await only_new.github_token("bob") == "gho_rotate_me"
        await only_new.close()
    finally:
        await store.close()
