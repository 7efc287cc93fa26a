"""On JupyterHub: what a person may do on a server, from their hub scopes.

JupyterHub's own authorizer lets whoever may access a server do everything on it. This one
(``c.ServerApp.authorizer_class``, set by ``deploy/jupyterhub``) asks for the scope
``custom:jupyter_server:<action>:<resource or *>`` on this server or its owner, as
JupyterHub's read-only recipe does. Owners hold ``read``, ``write`` and ``execute`` on their
own servers; a server shared with ``custom:jupyter_server:read:*`` lets the guest read
(list sessions, read histories and diffs) but not start Claude, a terminal or a git hook,
which need ``execute`` (``handlers/base.py``, ``auth_actions``).

Used only in a server JupyterHub starts (it imports ``jupyterhub``).
"""

from __future__ import annotations

import os

from jupyterhub.singleuser.extension import JupyterHubAuthorizer

ACTIONS = ("read", "write", "execute")
#: an action is also allowed by the scopes of the actions above it (execute holds write and
#: read), whether or not the hub expanded the custom scopes' subscopes in the user model
_GRANTED_BY = {action: ACTIONS[i:] for i, action in enumerate(ACTIONS)}


class HubScopesAuthorizer(JupyterHubAuthorizer):
    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        hub_user = getattr(user, "hub_user", None)
        if not hub_user:  # not a hub login: nothing
            return False
        owner = os.environ.get("JUPYTERHUB_USER", "")
        server = f"{owner}/{os.environ.get('JUPYTERHUB_SERVER_NAME', '')}"
        wanted = {
            f"custom:jupyter_server:{granted}:{name}{where}"
            for granted in _GRANTED_BY.get(action, (action,))
            for name in (resource, "*")
            for where in (f"!user={owner}", f"!server={server}")
        }
        return bool(self.hub_auth.check_scopes(wanted, hub_user))
