"""Who is asking: the id their rows are stored under and how their commits are signed.

Jupyter's own identity provider gives every token-holder a fresh random "Anonymous" user;
on a single-user server all of them are the server's owner, so data is kept under the
owner's name (``LawlessApp.owner``). Any other provider (JupyterHub's, a custom one) names
real users, and their username is used. So is the person a frontend server acts for on a
worker (``worker_auth.ForwardedUser``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

from ..worker_auth import ForwardedUser
from ..workspace import Author

_ANONYMOUS_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


@dataclass(frozen=True)
class Identity:
    user_id: str
    author: Author
    frontend: bool = False  # a frontend server's own health check, no person


def identify(user: Any, app: Any) -> Identity:
    provider = app.serverapp.identity_provider
    if isinstance(user, ForwardedUser):
        return Identity(
            user.username,
            Author(user.name, f"{user.username}@{app.commit_email_domain}"),
            frontend=user.frontend,
        )
    if type(provider) in _ANONYMOUS_PROVIDERS:
        owner = app.owner
        return Identity(
            owner, Author(owner, f"{owner}@{app.commit_email_domain}", prefer_git_config=True)
        )
    username = user.username
    name = getattr(user, "display_name", None) or getattr(user, "name", None) or username
    return Identity(username, Author(name, f"{username}@{app.commit_email_domain}"))
