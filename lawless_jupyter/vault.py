"""The token vault: secrets encrypted at rest with AES-256-GCM (``cryptography``'s AESGCM).

A sealed secret is ``<key id>.<base64url(nonce || ciphertext+tag)>``: every encryption takes
a fresh random 96-bit nonce, and the user id and provider are bound as associated data, so a
ciphertext copied to another user's or provider's row does not decrypt.

Keys form a ring: the first key encrypts, every key decrypts (a key id is stored with each
ciphertext). Rotating is adding a new key in front; the extension re-encrypts the rows sealed
with older keys at start-up, after which the old key may be dropped.

Keys are given as ``<id>:<base64 of 32 bytes>`` (comma or newline separated, newest first)
in ``LawlessApp.vault_keys`` or ``$LAWLESS_VAULT_KEYS``; with neither, a key file is made
once (mode 0600) and used from then on.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import LawlessError

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12
_CONTEXT = b"lawless-vault-v1"


class VaultError(LawlessError):
    """A secret cannot be sealed or opened: a missing or wrong key, or a damaged ciphertext.
    The message says which and what to do; it never holds key material or the secret."""

    status = 500
    code = "vault_error"


class VaultKeyError(VaultError):
    """The configured keys themselves are unusable (bad format, wrong length)."""

    code = "vault_key_invalid"


class VaultKeyMissing(VaultError):
    """A secret was sealed with a key that is not in the ring any more."""

    status = 409
    code = "vault_key_missing"


class VaultDecryptError(VaultError):
    """The key is there but the secret does not open: another key under the same id,
    a ciphertext moved to another user or provider, or tampering."""

    status = 409
    code = "vault_decrypt_failed"


@dataclass(frozen=True)
class VaultKey:
    id: str
    key: bytes = b""

    def __repr__(self) -> str:  # never print key material
        return f"VaultKey({self.id!r})"


def parse_keys(text: str | Iterable[str]) -> list[VaultKey]:
    """``"id:base64, id2:base64"`` (or a list of such entries) -> keys, newest first."""
    entries = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
    keys: list[VaultKey] = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise VaultKeyError(
                "A vault key must be written <id>:<base64 of 32 random bytes>, with an id of "
                "letters, digits, '-' or '_' (for example 'k2:' + the output of "
                '`python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"`).'
            )
        try:
            key = base64.b64decode(
                encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True
            )
        except (binascii.Error, ValueError) as e:
            raise VaultKeyError(f"The vault key {key_id!r} is not valid base64.") from e
        if len(key) != 32:
            raise VaultKeyError(
                f"The vault key {key_id!r} is {len(key)} bytes; AES-256 needs exactly 32."
            )
        if any(k.id == key_id for k in keys):
            raise VaultKeyError(f"The vault key id {key_id!r} is given twice.")
        keys.append(VaultKey(key_id, key))
    return keys


def new_key_entry(key_id: str = "k1") -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def load_or_create_key_file(path: Path) -> tuple[list[VaultKey], bool]:
    """The keys in ``path``, made first (one random key, mode 0600) when it does not exist.
    Returns (keys, created)."""
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two servers starting at once cannot both write a key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(new_key_entry() + "\n")
            created = True
    keys = parse_keys(path.read_text())
    if not keys:
        raise VaultKeyError(f"The vault key file {path} holds no key.")
    return keys, created


class Vault:
    """Seals and opens secrets bound to (user id, provider)."""

    def __init__(self, keys: list[VaultKey]):
        if not keys:
            raise VaultKeyError("The vault has no key.")
        self._keys = {k.id: AESGCM(k.key) for k in keys}
        self.current_key_id = keys[0].id

    @staticmethod
    def _aad(user_id: str, provider: str) -> bytes:
        return b"\0".join((_CONTEXT, user_id.encode(), provider.encode()))

    def seal(self, plaintext: str, *, user_id: str, provider: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(
            nonce, plaintext.encode(), self._aad(user_id, provider)
        )
        return f"{self.current_key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def key_id_of(self, sealed: str) -> str:
        return sealed.partition(".")[0]

    def open(self, sealed: str, *, user_id: str, provider: str) -> str:
        key_id, _, body = sealed.partition(".")
        aead = self._keys.get(key_id)
        if aead is None:
            raise VaultKeyMissing(
                f"The stored {provider} credentials were encrypted with the vault key "
                f"{key_id!r}, which is not configured any more. Restore that key, or "
                f"disconnect and connect {provider} again."
            )
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            if len(raw) <= _NONCE_BYTES:
                raise ValueError("too short")
            plaintext = aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._aad(user_id, provider)
            )
            return plaintext.decode()
        except (InvalidTag, ValueError, binascii.Error) as e:
            raise VaultDecryptError(
                f"The stored {provider} credentials do not decrypt with the vault key "
                f"{key_id!r} (the key changed, or the data was altered). Disconnect and "
                f"connect {provider} again."
            ) from e

    def reseal(self, sealed: str, *, user_id: str, provider: str) -> str | None:
        """The secret sealed with the current key, or None when it already is."""
        if self.key_id_of(sealed) == self.current_key_id:
            return None
        return self.seal(
            self.open(sealed, user_id=user_id, provider=provider),
            user_id=user_id,
            provider=provider,
        )
