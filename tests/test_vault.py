"""The token vault: AES-256-GCM with associated data, a key ring, rotation, the key file."""

from __future__ import annotations

import base64
import logging
import stat

import pytest

from lawless_jupyter.vault import (
    Vault,
    VaultDecryptError,
    VaultKeyError,
    VaultKeyMissing,
    load_or_create_key_file,
    new_key_entry,
    parse_keys,
)

SECRET = "gho_a-token-nobody-may-see"


def ring(*entries: str) -> Vault:
    return Vault(parse_keys(",".join(entries)))


def test_round_trip_with_a_fresh_nonce_each_time():
    vault = ring(new_key_entry("k1"))
    one = vault.seal(SECRET, user_id="ada", provider="github")
    two = vault.seal(SECRET, user_id="ada", provider="github")
    assert one != two  # a fresh nonce per encryption
    assert SECRET not in one
    assert vault.open(one, user_id="ada", provider="github") == SECRET
    assert vault.open(two, user_id="ada", provider="github") == SECRET


@pytest.mark.parametrize("user_id, provider", [("bob", "github"), ("ada", "vercel")])
def test_a_ciphertext_moved_to_another_user_or_provider_does_not_open(user_id, provider):
    vault = ring(new_key_entry("k1"))
    sealed = vault.seal(SECRET, user_id="ada", provider="github")
    with pytest.raises(VaultDecryptError, match="do not decrypt"):
        vault.open(sealed, user_id=user_id, provider=provider)


def test_tampered_ciphertext_is_a_clear_error():
    vault = ring(new_key_entry("k1"))
    sealed = vault.seal(SECRET, user_id="ada", provider="github")
    key_id, _, body = sealed.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    tampered = f"{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    for broken in (tampered, f"{key_id}.!!notbase64", f"{key_id}.", f"{key_id}.AAAA"):
        with pytest.raises(VaultDecryptError):
            vault.open(broken, user_id="ada", provider="github")


def test_rotation_new_key_encrypts_old_keys_still_decrypt_and_reseal():
    old, new = new_key_entry("k1"), new_key_entry("k2")
    sealed_old = ring(old).seal(SECRET, user_id="ada", provider="github")
    rotated = ring(new, old)
    assert rotated.current_key_id == "k2"
    assert rotated.open(sealed_old, user_id="ada", provider="github") == SECRET
    resealed = rotated.reseal(sealed_old, user_id="ada", provider="github")
    assert resealed.startswith("k2.")
    assert rotated.reseal(resealed, user_id="ada", provider="github") is None
    # once re-encrypted, the old key may go
    assert ring(new).open(resealed, user_id="ada", provider="github") == SECRET
    with pytest.raises(VaultKeyMissing):
        ring(new).open(sealed_old, user_id="ada", provider="github")


def test_a_missing_or_wrong_key_is_a_clear_error_never_garbage():
    sealed = ring(new_key_entry("k1")).seal(SECRET, user_id="ada", provider="github")
    with pytest.raises(VaultKeyMissing, match=r"'k1'.*not configured"):
        ring(new_key_entry("k9")).open(sealed, user_id="ada", provider="github")
    with pytest.raises(VaultDecryptError, match="'k1'"):  # another key under the same id
        ring(new_key_entry("k1")).open(sealed, user_id="ada", provider="github")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("nokeyid", "must be written"),
        ("k1:c2hvcnQ=", "32"),
        ("k1:@@@@", "base64"),
        (f"{new_key_entry('k1')},{new_key_entry('k1')}", "twice"),
        ("bad id!:AAAA", "must be written"),
    ],
)
def test_badly_written_keys_are_refused_with_a_reason(text, problem):
    with pytest.raises(VaultKeyError, match=problem) as info:
        parse_keys(text)
    secret_part = text.partition(":")[2].split(",")[0]
    assert not secret_part or secret_part not in info.value.message  # no key material


def test_the_key_file_is_made_once_with_mode_0600(tmp_path, caplog):
    path = tmp_path / "data" / "vault.key"
    keys, created = load_or_create_key_file(path)
    assert created and len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_key_file(path)
    assert not created_again and again == keys
    assert repr(keys[0]) == "VaultKey('k1')"  # no key material in a repr
    logging.getLogger("x").info("%r", keys)
    assert path.read_text().split(":")[1].strip() not in caplog.text
