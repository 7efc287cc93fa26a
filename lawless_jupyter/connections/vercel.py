"""Vercel's REST API: who a token belongs to, projects, recent deployments."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import Forbidden, NotFound, Upstream, UpstreamRateLimited, UpstreamUnauthorized


class Vercel:
    def __init__(self, api_url: str, http: httpx.AsyncClient):
        self.api_url = api_url.rstrip("/")
        self.http = http

    async def user(self, token: str) -> dict[str, Any]:
        return (await self._get("/v2/user", token, None))["user"]

    async def projects(self, token: str, team_id: str | None, limit: int) -> list[dict[str, Any]]:
        body = await self._get("/v9/projects", token, team_id, limit=limit)
        return [
            {
                "id": p.get("id"),
                "name": p.get("name"),
                "framework": p.get("framework"),
                "updated_at": p.get("updatedAt"),
            }
            for p in body.get("projects", [])
        ]

    async def deployments(
        self, token: str, team_id: str | None, limit: int, project_id: str | None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if project_id:
            params["projectId"] = project_id
        body = await self._get("/v6/deployments", token, team_id, **params)
        return [
            {
                "id": d.get("uid"),
                "name": d.get("name"),
                "url": f"https://{d['url']}" if d.get("url") else None,
                "state": d.get("readyState") or d.get("state"),
                "target": d.get("target"),
                "created_at": d.get("created") or d.get("createdAt"),
            }
            for d in body.get("deployments", [])
        ]

    async def _get(self, path: str, token: str, team_id: str | None, **params: Any) -> Any:
        if team_id:
            params["teamId"] = team_id
        try:
            response = await self.http.get(
                f"{self.api_url}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TimeoutException as e:
            raise Upstream("Vercel did not answer in time; try again.") from e
        except httpx.HTTPError as e:
            raise Upstream(f"Vercel could not be reached ({type(e).__name__}).") from e
        if response.status_code < 400:
            return response.json()
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        message = error.get("message") or f"HTTP {response.status_code}"
        if response.status_code == 401 or error.get("invalidToken"):
            raise UpstreamUnauthorized(f"Vercel does not accept the token ({message}).")
        if response.status_code == 403:
            raise Forbidden(f"Vercel refused the request: {message}.")
        if response.status_code == 404:
            raise NotFound(f"Vercel says: {message}.")
        if response.status_code == 429:
            reset = float(response.headers.get("X-RateLimit-Reset") or 0) or None
            raise UpstreamRateLimited(
                f"Vercel's rate limit is used up ({message}).",
                limit=int(response.headers.get("X-RateLimit-Limit") or 0),
                remaining=0,
                reset=reset or 0,
                retry_after=60,
            )
        raise Upstream(f"Vercel failed: {message} (HTTP {response.status_code}).")
