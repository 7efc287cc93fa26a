"""A fake Vercel REST API for tests, on 127.0.0.1: ``GET /v2/user``, ``GET /v9/projects``,
``GET /v6/deployments`` with Vercel's JSON shapes, Bearer tokens, ``teamId`` scoping, and
Vercel's error body (``{"error": {"code", "message", "invalidToken"}}``) for a bad token.
It is not Vercel."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeVercel:
    tokens: dict[str, str] = field(default_factory=dict)  # token -> username
    projects: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def start(self) -> FakeVercel:
        fake = self

        class Handler(_Handler):
            vercel = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    vercel: FakeVercel
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.vercel.requests.append((url.path, query))
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        username = self.vercel.tokens.get(token) if scheme == "Bearer" else None
        if username is None:
            return self._json(
                403,
                {"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}},
            )
        team = query.get("teamId", [None])[0]
        limit = int(query.get("limit", ["20"])[0])
        if url.path == "/v2/user":
            return self._json(
                200,
                {"user": {"id": f"usr_{username}", "username": username, "email": "a@b.c"}},
            )
        if url.path == "/v9/projects":
            items = [p for p in self.vercel.projects if p.get("teamId") == team][:limit]
            return self._json(200, {"projects": items, "pagination": {"count": len(items)}})
        if url.path == "/v6/deployments":
            project = query.get("projectId", [None])[0]
            items = [
                d
                for d in self.vercel.deployments
                if d.get("teamId") == team and (project is None or d["projectId"] == project)
            ][:limit]
            return self._json(200, {"deployments": items, "pagination": {"count": len(items)}})
        self._json(404, {"error": {"code": "not_found", "message": "The page could not be found"}})
