"""The hub's ``lawless-supabase`` service: each user's server gets a Supabase JWT for that
user only, so no server holds a key that reaches other people's rows.

JupyterHub runs this file as a managed service (``jupyterhub_config.py`` and ``values.yaml``
set it up); it alone holds the project's JWT secret. A server asks
``GET <service url>/services/lawless-supabase/token`` with its own
``$JUPYTERHUB_API_TOKEN``; the answer is a JWT with ``sub`` = the token owner's hub user name,
``role`` = ``authenticated``, valid ``LAWLESS_SUPABASE_TOKEN_LIFETIME`` seconds (default
900). lawless-jupyter sends it with the project's anon key and asks again before it expires;
Supabase's row level security (``user_id = auth.jwt() ->> 'sub'``) does the rest.

Environment (from the hub): ``SUPABASE_JWT_SECRET`` (the project's JWT secret, Settings ->
API), ``LAWLESS_SUPABASE_TOKEN_LIFETIME``, ``LAWLESS_SUPABASE_TOKEN_IP`` (the address to
listen on, default 127.0.0.1; 0.0.0.0 in a hub pod) and JupyterHub's own
``JUPYTERHUB_SERVICE_URL``/``JUPYTERHUB_SERVICE_PREFIX``/``JUPYTERHUB_API_*``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from urllib.parse import urlparse

import jwt
from jupyterhub.services.auth import HubAuthenticated
from tornado import ioloop, web

SERVICE_NAME = "lawless-supabase"
#: the scope a token needs to be answered (the deploy config gives it to users and servers)
ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
DEFAULT_LIFETIME = 900  # seconds: short, the server asks again before it ends
ISSUER = "lawless-jupyterhub"


def mint(user: str, secret: str, lifetime: int = DEFAULT_LIFETIME, now: float | None = None):
    """A Supabase JWT for ``user`` (PostgREST's ``authenticated`` role) and its expiry."""
    issued = int(now if now is not None else time.time())
    expires = issued + lifetime
    claims = {
        "sub": user,
        "role": "authenticated",
        "aud": "authenticated",
        "iss": ISSUER,
        "iat": issued,
        "exp": expires,
    }
    return jwt.encode(claims, secret, algorithm="HS256"), expires


class TokenHandler(HubAuthenticated, web.RequestHandler):
    """The JWT of the user who owns the request's hub token, nobody else's."""

    def initialize(self, secret: str, lifetime: int) -> None:
        self.secret, self.lifetime = secret, lifetime

    def get(self) -> None:
        owner = self.current_user  # from the Authorization header; holds ACCESS_SCOPE
        if not owner:  # an API answer, not tornado's redirect to a login page
            raise web.HTTPError(403, f"A hub token with {ACCESS_SCOPE} is needed.")
        if owner.get("kind") != "user":  # a service's token has no rows of its own
            raise web.HTTPError(403, "Only a user's token gets a Supabase token.")
        token, expires = mint(owner["name"], self.secret, self.lifetime)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        body = {"access_token": token, "token_type": "bearer", "expires_at": expires}
        self.finish(json.dumps({**body, "user": owner["name"]}))


def make_app(secret: str, lifetime: int) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    route = (prefix.rstrip("/") + "/token", TokenHandler, {"secret": secret, "lifetime": lifetime})
    return web.Application([route])


def main() -> None:
    secret = os.environ.get("SUPABASE_JWT_SECRET", "")
    if len(secret) < 32:  # Supabase's are 40+ characters; a short one is a set-up mistake
        raise SystemExit("lawless-supabase: SUPABASE_JWT_SECRET is missing or too short")
    lifetime = int(os.environ.get("LAWLESS_SUPABASE_TOKEN_LIFETIME", DEFAULT_LIFETIME))
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    address = os.environ.get("LAWLESS_SUPABASE_TOKEN_IP", "127.0.0.1")
    make_app(secret, lifetime).listen(url.port or 80, address)
    # the hub stops its services with SIGINT: an end, not an error
    with contextlib.suppress(KeyboardInterrupt):
        ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
