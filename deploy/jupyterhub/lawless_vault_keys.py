"""Each hub user's own token-vault keys, derived in the hub from the hub's keys.

A person reads their server's environment from any notebook, so the key their server gets
must open their own vault only. The hub keeps ``LAWLESS_VAULT_KEYS`` (``<id>:<base64 of 32
bytes>``, newest first, as lawless-jupyter reads it) and gives each server, for each of
those keys, ``<id>-u:<HKDF-SHA256(key, info = context + user name)>``: the same person
always gets the same keys (their tokens open after every restart), no two people get the
same, and one person's keys tell nothing of the hub's or anyone else's.

With ``LAWLESS_VAULT_KEYS_SHARED_TOO=1`` the hub's own keys go along, after the person's: a
hub whose servers were given the shared keys before sets it until each person's server has
started once (lawless-jupyter re-encrypts what an older key sealed at start-up), then unsets
it.

``jupyterhub_config.py`` loads this file from beside it; on Kubernetes ``values.yaml`` mounts
it in the hub pod (``hub.extraFiles``). It needs ``cryptography``, which JupyterHub's
encrypted auth state needs too.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_CONTEXT = b"lawless-vault-user-v1\0"
_SUFFIX = "-u"
# lawless_jupyter.vault's key id, less room for the suffix
_HUB_KEY_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{32 - len(_SUFFIX)}}}$")


def _hub_keys(text: str) -> list[tuple[str, bytes]]:
    keys = []
    for entry in filter(None, re.split(r"[,\s]+", text)):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _HUB_KEY_ID.match(key_id) or key_id.endswith(_SUFFIX):
            raise ValueError(
                f"LAWLESS_VAULT_KEYS: a key id is 1-{32 - len(_SUFFIX)} letters, digits, "
                f"'-' or '_', not ending in {_SUFFIX!r} (the users' keys do; each entry "
                f"<id>:<base64 of 32 bytes>), not {key_id[:40]!r}."
            )
        try:
            key = base64.b64decode(
                encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True
            )
        except (binascii.Error, ValueError):
            raise ValueError(f"LAWLESS_VAULT_KEYS: the key {key_id!r} is not base64.") from None
        if len(key) != 32:
            raise ValueError(f"LAWLESS_VAULT_KEYS: the key {key_id!r} is not 32 bytes.")
        keys.append((key_id, key))
    if not keys:
        raise ValueError("LAWLESS_VAULT_KEYS holds no key.")
    return keys


def user_keys(hub_keys: str, user: str, shared_too: bool = False) -> str:
    """The ``LAWLESS_VAULT_KEYS`` value for ``user``'s servers."""
    keys = _hub_keys(hub_keys)
    ring = []
    for key_id, key in keys:
        derive = HKDF(hashes.SHA256(), length=32, salt=None, info=_CONTEXT + user.encode())
        ring.append(f"{key_id}{_SUFFIX}:{base64.b64encode(derive.derive(key)).decode()}")
    if shared_too:
        ring += [f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in keys]
    return ",".join(ring)


def for_each_user(environ: Mapping[str, str] = os.environ) -> Callable[[Any], str] | None:
    """A ``Spawner.environment`` value (JupyterHub calls it with the spawner) giving each
    server its user's keys; None when the hub has no ``LAWLESS_VAULT_KEYS``. The hub's keys
    are checked now, so a mistake stops the hub at start-up, not a person's spawn."""
    hub_keys = environ.get("LAWLESS_VAULT_KEYS", "")
    if not hub_keys.strip():
        return None
    _hub_keys(hub_keys)
    shared_too = environ.get("LAWLESS_VAULT_KEYS_SHARED_TOO", "") == "1"
    return lambda spawner: user_keys(hub_keys, spawner.user.name, shared_too)
