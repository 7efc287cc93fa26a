"""Vercel: a token checked before it is stored, projects, deployments, disconnect."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from lawless_jupyter.vault import new_key_entry

from .fake_vercel import FakeVercel
from .test_openapi import SpecChecker, spec  # noqa: F401  (the spec fixture)

TOKEN = "vercel_tok_abcdefghijklmnop"


@pytest.fixture
def vercel():
    fake = FakeVercel(
        tokens={TOKEN: "ada"},
        projects=[
            {"id": "prj_1", "name": "site", "framework": "nextjs", "updatedAt": 1700000000000},
            {"id": "prj_team", "name": "team-site", "teamId": "team_1", "updatedAt": 1},
        ],
        deployments=[
            {
                "uid": "dpl_2",
                "name": "site",
                "url": "site-2.vercel.app",
                "readyState": "BUILDING",
                "projectId": "prj_1",
                "target": "production",
                "created": 1700000002000,
            },
            {
                "uid": "dpl_1",
                "name": "site",
                "url": "site-1.vercel.app",
                "readyState": "READY",
                "projectId": "prj_1",
                "target": None,
                "created": 1700000001000,
            },
        ],
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def lawless_config(vercel) -> dict[str, Any]:
    return {"vercel_api_url": vercel.url, "vault_keys": new_key_entry("k1")}


async def test_connect_list_and_disconnect(api, vercel, lawless_app, spec):  # noqa: F811
    checker = SpecChecker(spec)

    async def call(method, path, expected, body=None, params=None):
        code, data, response = await api(method, path, body, params=params)
        assert code == expected, data
        template = "/api/auth/{provider}" if path.startswith("api/auth/v") else f"/{path}"
        checker.response(template, method, code, data, response.headers)
        return data

    body = await call("GET", "api/integrations/vercel/projects", 409)
    assert body["code"] == "not_connected"
    body = await call("PUT", "api/integrations/vercel", 400, {"token": "wrong"})
    assert "does not accept" in body["error"]
    await call("PUT", "api/integrations/vercel", 400, {})
    with sqlite3.connect(lawless_app.store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM integrations").fetchone() == (0,)

    body = await call("PUT", "api/integrations/vercel", 200, {"token": TOKEN})
    assert body == {"provider": "vercel", "connected": True, "account": "ada"}
    status = await call("GET", "api/auth/status", 200)
    entry = next(p for p in status["providers"] if p["provider"] == "vercel")
    assert entry["connected"] and entry["account"] == "ada" and entry["source"] == "token"
    assert TOKEN not in str(status)

    projects = await call("GET", "api/integrations/vercel/projects", 200)
    assert [p["name"] for p in projects["projects"]] == ["site"]  # the team's is not here
    deployments = await call("GET", "api/integrations/vercel/deployments", 200)
    assert [(d["id"], d["state"]) for d in deployments["deployments"]] == [
        ("dpl_2", "BUILDING"),
        ("dpl_1", "READY"),
    ]
    assert deployments["deployments"][0]["url"] == "https://site-2.vercel.app"
    await call("GET", "api/integrations/vercel/deployments", 400, params={"limit": "0"})

    # a token revoked at Vercel: a clear 401 saying to connect again
    vercel.tokens.clear()
    body = await call("GET", "api/integrations/vercel/projects", 401)
    assert body["code"] == "upstream_unauthorized"

    body = await call("DELETE", "api/auth/vercel", 200)
    assert body["disconnected"] is True
    with sqlite3.connect(lawless_app.store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM integrations").fetchone() == (0,)


async def test_a_team_scopes_projects(api, vercel):
    code, body, _ = await api(
        "PUT", "api/integrations/vercel", {"token": TOKEN, "team_id": "team_1"}
    )
    assert code == 200, body
    code, body, _ = await api("GET", "api/integrations/vercel/projects")
    assert [p["name"] for p in body["projects"]] == ["team-site"]
    assert vercel.requests[-1][1]["teamId"] == ["team_1"]
