"""Every route needs a logged-in, authorized user; only health answers without one."""

from __future__ import annotations

import re
import uuid

import pytest
from jupyter_server.auth.authorizer import Authorizer

from lawless_jupyter.handlers import ROUTES


def concrete_paths():
    sid = str(uuid.uuid4())
    for path, handler in ROUTES:
        url = re.sub(r"\(\?P<session_id>[^)]*\)", sid, path)
        url = re.sub(r"\(\?P<\w+>[^)]*\)", "1", url)  # any other part of the path
        methods = [m for m in ("get", "post", "put", "delete", "patch") if m in vars(handler)]
        for method in methods:
            yield method.upper(), url


@pytest.mark.parametrize("method, path", list(concrete_paths()))
async def test_no_credentials_no_answer(api, method, path):
    code, body, _ = await api(
        method, path, {} if method in ("POST", "PUT") else None, headers={"Authorization": ""}
    )
    if path == "health":
        assert code == 200 and body == {"status": "ok"}
    else:
        assert code in (401, 403), (method, path, code)
        assert body is None or "session" not in body


async def test_health_reveals_nothing(api):
    code, body, _response = await api("GET", "health", headers={"Authorization": ""})
    assert code == 200 and body == {"status": "ok"}


async def test_version(api):
    code, body, _ = await api("GET", "version")
    assert code == 200
    assert set(body) >= {"version", "commit", "python", "uptime", "memory", "timestamp"}
    assert body["memory"]["rss"] > 0


async def test_cookie_without_xsrf_is_refused(api, repo):
    # a browser holds only a login cookie: a POST must also carry the XSRF token
    _, _, response = await api("GET", "version")
    cookies = [c.split(";")[0] for c in response.headers.get_list("Set-Cookie")]
    login = [c for c in cookies if c.startswith("username-")]
    assert login, cookies
    headers = {"Authorization": "", "Cookie": "; ".join(login)}
    code, body, _ = await api("GET", "version", headers=headers)
    assert code == 200, "the cookie alone logs in for reads"
    code, body, _ = await api(
        "POST", "api/workspace/sessions", {"repo": "project"}, headers=headers
    )
    assert code == 403, body
    code, body, _ = await api("GET", "api/workspace/sessions")
    assert body["sessions"] == []


class DenyLawless(Authorizer):
    """An authorizer that lets the user use Jupyter but not this extension's resource."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "lawless"


@pytest.mark.parametrize("authorizer", [DenyLawless])
async def test_authorizer_is_consulted(api, jp_serverapp, authorizer, repo):
    jp_serverapp.web_app.settings["authorizer"] = authorizer(parent=jp_serverapp)
    for method, path in concrete_paths():
        if path == "health":
            continue
        code, body, _ = await api(method, path, {} if method in ("POST", "PUT") else None)
        assert code == 403, (method, path, code, body)
    code, _, _ = await api("GET", "health")
    assert code == 200
