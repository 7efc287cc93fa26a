"""A fake GitHub for tests, on 127.0.0.1, laid out like GitHub Enterprise (one host: the web
and OAuth endpoints at ``/``, the REST API at ``/api/v3``, git at ``/<owner>/<repo>.git``).

It is not GitHub. What it does as GitHub does, on the wire:

- OAuth web flow: ``GET /login/oauth/authorize`` (approves at once as ``approving_login``
  and answers 302 to ``redirect_uri?code=...&state=...``, or ``error=access_denied`` when
  ``deny_next`` is set), ``POST /login/oauth/access_token`` (form body; JSON answer with
  ``Accept: application/json``; errors are 200 with ``{"error", "error_description"}``
  as GitHub sends them): the code is single use, bound to its ``redirect_uri``, checked
  against the PKCE ``code_challenge`` (S256), and the client secret is checked. Refresh
  tokens (``grant_type=refresh_token``) when ``expiring_tokens`` is on.
- Device flow: ``POST /login/device/code``, then polling the token endpoint answers
  ``authorization_pending`` until ``approve_device`` is called, ``slow_down`` (interval
  raised) when polled sooner than the interval, ``expired_token`` after ``expire_device``.
- REST: ``GET /user``, ``GET /user/repos`` (``page``/``per_page`` with a ``Link`` header),
  ``POST /repos/{owner}/{repo}/pulls``; ``X-RateLimit-*`` headers on every answer; errors
  with GitHub's JSON body (``message``, ``documentation_url``, ``errors``). ``fail_next``
  makes the next API call answer with a given status (401, 403 rate limit, 404, 422...).
- Git smart HTTP through git's own ``git http-backend`` (CGI) over bare repositories,
  behind token auth (``Authorization: Basic x-access-token:<token>``, as GitHub takes it),
  so clone and push are real git over HTTP.

``requests`` records (method, path, has_authorization) of every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

DOCS = "https://docs.github.com/rest"


@dataclass
class _Device:
    device_code: str
    user_code: str
    interval: float
    expires_at: float
    last_poll: float = 0.0
    login: str | None = None


@dataclass
class _Token:
    login: str
    expires_at: float | None = None


@dataclass
class FakeGitHub:
    git_root: Path
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    approving_login: str = "octocat"
    expiring_tokens: bool = False
    device_interval: float = 5.0
    slow_down_step: float = 5.0
    users: dict[str, int] = field(default_factory=lambda: {"octocat": 583231})
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    deny_next: bool = False

    def __post_init__(self) -> None:
        self.tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> login
        self.codes: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, _Device] = {}
        self.repos: list[dict[str, Any]] = []
        self._faults: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    def issue_token(self, login: str = "octocat", expires_in: float | None = None) -> str:
        token = "gho_" + secrets.token_urlsafe(24)
        self.tokens[token] = _Token(login, time.time() + expires_in if expires_in else None)
        return token

    def revoke_all(self) -> None:
        self.tokens.clear()

    def add_repo(
        self, owner: str, name: str, source: Path | None = None, private: bool = False
    ) -> Path:
        """A bare repository served at ``/<owner>/<name>.git`` (a copy of ``source``)."""
        bare = self.git_root / owner / f"{name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        if source is not None:
            _git(None, "clone", "--quiet", "--bare", str(source), str(bare))
        else:
            _git(None, "init", "--quiet", "--bare", str(bare))
        self.repos.append(
            {"owner": owner, "name": name, "private": private, "default_branch": "main"}
        )
        return bare

    def fail_next(
        self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """The next REST API call answers ``status`` with GitHub's body for it."""
        defaults = {
            401: {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"},
            403: {
                "message": "API rate limit exceeded for user ID 583231.",
                "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                "status": "403",
            },
            404: {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
        }
        self._faults.append((status, body or defaults.get(status, {}), headers or {}))

    def approve_device(self, user_code: str, login: str = "octocat") -> None:
        next(d for d in self.devices.values() if d.user_code == user_code).login = login

    def expire_device(self, user_code: str) -> None:
        next(d for d in self.devices.values() if d.user_code == user_code).expires_at = 0

    # -- behaviour ---------------------------------------------------------------------------

    def _grant(self, login: str) -> dict[str, Any]:
        if not self.expiring_tokens:
            token = self.issue_token(login)
            return {"access_token": token, "token_type": "bearer", "scope": "repo,read:user"}
        token = self.issue_token(login, 28800)
        refresh = "ghr_" + secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = login
        return {
            "access_token": token,
            "expires_in": 28800,
            "refresh_token": refresh,
            "refresh_token_expires_in": 15811200,
            "token_type": "bearer",
            "scope": "",
        }

    def token_endpoint(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type", "authorization_code")
        if form.get("client_id") != self.client_id:
            return {"error": "incorrect_client_credentials", "error_description": "bad client"}
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_poll(form.get("device_code", ""))
        if form.get("client_secret") != self.client_secret:
            return {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
            }
        if grant == "refresh_token":
            login = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if login is None:
                return {
                    "error": "bad_refresh_token",
                    "error_description": "The refresh token passed is incorrect or expired.",
                }
            return self._grant(login)
        bad = {
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/oauth",
        }
        with self._lock:
            issued = self.codes.pop(form.get("code", ""), None)
        if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
            return bad
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != issued["code_challenge"]:
            return bad
        return self._grant(issued["login"])

    def _device_poll(self, device_code: str) -> dict[str, Any]:
        device = self.devices.get(device_code)
        if device is None:
            return {"error": "incorrect_device_code", "error_description": "unknown"}
        now = time.time()
        if now >= device.expires_at:
            return {"error": "expired_token", "error_description": "The device code expired."}
        too_soon = now - device.last_poll < device.interval
        device.last_poll = now
        if too_soon:
            device.interval += self.slow_down_step
            return {
                "error": "slow_down",
                "error_description": "Too many requests have been made in the same timeframe.",
                "interval": device.interval,
            }
        if device.login is None:
            return {
                "error": "authorization_pending",
                "error_description": "The authorization request is still pending.",
            }
        del self.devices[device_code]
        return self._grant(device.login)


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(
            status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    def _bearer_login(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() in ("bearer", "token"):
            entry = self.github.tokens.get(token)
        elif scheme.lower() == "basic":
            _user, _, password = base64.b64decode(token).decode().partition(":")
            entry = self.github.tokens.get(password)
        else:
            return None
        if entry is None or (entry.expires_at is not None and entry.expires_at < time.time()):
            return None
        return entry.login

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        gh = self.github
        gh.requests.append((method, url.path, "Authorization" in self.headers))
        body = self._body() if method == "POST" else b""
        if ".git/" in url.path:
            return self._git(method, url, body)
        if url.path == "/login/oauth/authorize":
            return self._authorize(parse_qs(url.query))
        if url.path == "/login/oauth/access_token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._json(200, gh.token_endpoint(form))
        if url.path == "/login/device/code" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("client_id") != gh.client_id:
                return self._json(404, {"error": "Not Found"})
            device = _Device(
                device_code=secrets.token_hex(20),
                user_code=f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}",
                interval=gh.device_interval,
                expires_at=time.time() + 900,
            )
            gh.devices[device.device_code] = device
            return self._json(
                200,
                {
                    "device_code": device.device_code,
                    "user_code": device.user_code,
                    "verification_uri": f"{gh.url}/login/device",
                    "expires_in": 900,
                    "interval": device.interval,
                },
            )
        if url.path.startswith("/api/v3/"):
            return self._api(method, url.path.removeprefix("/api/v3"), parse_qs(url.query), body)
        self._json(404, {"message": "Not Found", "documentation_url": DOCS})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- OAuth -----------------------------------------------------------------------------------

    def _authorize(self, query: dict[str, list[str]]) -> None:
        gh = self.github
        q = {k: v[0] for k, v in query.items()}
        if q.get("client_id") != gh.client_id:
            return self._json(404, {"error": "Not Found"})
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return self._json(400, {"error": "PKCE S256 is required by this fake"})
        if gh.deny_next:
            gh.deny_next = False
            params = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "state": q["state"],
            }
        else:
            code = secrets.token_hex(10)
            gh.codes[code] = {
                "login": gh.approving_login,
                "redirect_uri": q.get("redirect_uri"),
                "code_challenge": q["code_challenge"],
            }
            params = {"code": code, "state": q["state"]}
        self._send(302, b"", {"Location": f"{q['redirect_uri']}?{urlencode(params)}"})

    # -- REST --------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        gh = self.github
        reset = int(time.time()) + 3600
        limits = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
        }
        if gh._faults:
            status, fault, extra = gh._faults.pop(0)
            if status == 403 and "rate limit" in fault.get("message", ""):
                extra = {**limits, "X-RateLimit-Remaining": "0", **extra}
            return self._json(status, fault, {**limits, **extra})
        login = self._bearer_login()
        if login is None:
            return self._json(
                401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
            )
        if method == "GET" and path == "/user":
            return self._json(
                200,
                {"login": login, "id": gh.users.get(login, 1), "type": "User", "name": login},
                limits,
            )
        if method == "GET" and path == "/user/repos":
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            mine = [r for r in gh.repos if r["owner"] == login]
            last = max(1, -(-len(mine) // per_page))
            items = [self._repo(r) for r in mine[(page - 1) * per_page : page * per_page]]
            links = []
            for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last)):
                if 1 <= number <= last and not (rel == "last" and page == last):
                    links.append(
                        f'<{gh.api_url}/user/repos?per_page={per_page}&page={number}>; rel="{rel}"'
                    )
            headers = {**limits, **({"Link": ", ".join(links)} if links else {})}
            return self._json(200, items, headers)
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 4 and parts[0] == "repos" and parts[3] == "pulls":
            return self._pull(parts[1], parts[2], json.loads(body or b"{}"), limits)
        self._json(404, {"message": "Not Found", "documentation_url": DOCS}, limits)

    def _repo(self, r: dict[str, Any]) -> dict[str, Any]:
        gh = self.github
        full = f"{r['owner']}/{r['name']}"
        return {
            "id": abs(hash(full)) % 10**8,
            "name": r["name"],
            "full_name": full,
            "owner": {"login": r["owner"]},
            "private": r["private"],
            "description": None,
            "default_branch": r["default_branch"],
            "html_url": f"{gh.url}/{full}",
            "clone_url": f"{gh.url}/{full}.git",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def _pull(self, owner: str, name: str, body: dict[str, Any], limits: dict[str, str]) -> None:
        gh = self.github
        bare = gh.git_root / owner / f"{name}.git"
        if not bare.exists():
            return self._json(404, {"message": "Not Found", "documentation_url": DOCS}, limits)
        missing = [f for f in ("title", "head", "base") if not body.get(f)]
        problems = [
            {"resource": "PullRequest", "field": f, "code": "missing_field"} for f in missing
        ]
        for side in ("head", "base"):
            ref = body.get(side)
            if ref and _git(bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}") is None:
                problems.append({"resource": "PullRequest", "field": side, "code": "invalid"})
        if any(p["head"] == body.get("head") and p["repo"] == f"{owner}/{name}" for p in gh.pulls):
            problems.append(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {owner}:{body.get('head')}.",
                }
            )
        if problems:
            return self._json(
                422,
                {
                    "message": "Validation Failed",
                    "errors": problems,
                    "documentation_url": f"{DOCS}/pulls/pulls#create-a-pull-request",
                    "status": "422",
                },
                limits,
            )
        number = len(gh.pulls) + 1
        pull = {
            "repo": f"{owner}/{name}",
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "head": body["head"],
            "base": body["base"],
        }
        gh.pulls.append(pull)
        self._json(
            201,
            {
                "number": number,
                "state": "open",
                "title": body["title"],
                "body": body.get("body"),
                "html_url": f"{gh.url}/{owner}/{name}/pull/{number}",
                "head": {"ref": body["head"]},
                "base": {"ref": body["base"]},
            },
            limits,
        )

    # -- git smart HTTP through git http-backend --------------------------------------------

    def _git(self, method: str, url: Any, body: bytes) -> None:
        login = self._bearer_login()
        if login is None:
            return self._send(
                401,
                b"Invalid username or token.\n",
                {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"},
            )
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "GIT_PROJECT_ROOT": str(self.github.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": login,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = out.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.stdout.partition(b"\n\n")
        status = 200
        headers = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        self._send(status, payload, headers)


def _git(cwd: Path | None, *args: str) -> str | None:
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    return out.stdout if out.returncode == 0 else None
