"""lawless-jupyter under a real JupyterHub: two users, their own servers, the hub's proxy.

The hub is started from deploy/jupyterhub/jupyterhub_config.py with test pieces on top
(tests/hub_env.py): DummyAuthenticator with a password, SimpleLocalProcessSpawner, the npm
configurable-http-proxy. Claude Code in each server talks to the scripted fake Messages API.
Supabase is the fake PostgREST over real PostgreSQL; the hub's lawless-supabase service
gives each server its own user's JWT.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import re
import secrets
import signal
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import psutil
import pytest
import requests
import yaml

from lawless_jupyter.vault import Vault, VaultDecryptError, parse_keys

from .conftest import make_repo
from .fake_anthropic import FakeAnthropic, error, text
from .hub_env import (
    DEPLOY_CONFIG,
    PASSWORD,
    ROOT,
    Hub,
    environ,
    free_port,
    running_hub,
    sse_events,
)
from .supabase_env import MIRRORED, Supabase

USERS = ("alice", "bob")
HUB_VAULT_KEYS = ",".join(f"k{n}:{base64.b64encode(str(n).encode() * 32).decode()}" for n in (2, 1))
_spec = importlib.util.spec_from_file_location(
    "lawless_vault_keys", DEPLOY_CONFIG.with_name("lawless_vault_keys.py")
)
vault_keys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vault_keys)
CHROMIUM = "/usr/bin/chromium"
SESSIONS = "lawless/api/workspace/sessions"
MODEL_ACCESS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
DAILY_TOKENS = 1_000_000


@pytest.fixture(scope="module")
def fake_model():
    with FakeAnthropic(default_text="Hello from the fake model", nodelay=True) as fake:
        yield fake


@pytest.fixture(scope="module")
def hub_supabase(postgres, _fake_postgrest) -> Supabase:
    """One fake Supabase for the module's hub (empty at the start)."""
    _fake_postgrest.reset()
    postgres.query("TRUNCATE " + ", ".join(f"public.{t}" for t in MIRRORED))
    return Supabase(_fake_postgrest.url, _fake_postgrest.jwt_secret, _fake_postgrest, postgres)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, fake_model, hub_supabase) -> Hub:
    # what a deployer gives the hub (deploy/jupyterhub/jupyterhub_config.py reads it); the
    # JWT secret stays there, the servers get the URL, the anon key and the token service
    hub_env = {
        "SUPABASE_URL": hub_supabase.url,
        "SUPABASE_ANON_KEY": hub_supabase.anon_key,
        "SUPABASE_JWT_SECRET": hub_supabase.jwt_secret,
        "LAWLESS_SUPABASE_TOKEN_PORT": str(free_port()),
        "LAWLESS_SUPABASE_TOKEN_LIFETIME": "20",  # renewed several times during the module
        # the token vault's keys: each server gets its own user's, derived from these
        "LAWLESS_VAULT_KEYS": f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        # the model's key and address stay in the hub: servers reach it through the hub's
        # lawless-anthropic service
        **{name: fake_model.env()[name] for name in MODEL_ACCESS},
        "LAWLESS_ANTHROPIC_PROXY_PORT": str(free_port()),
        "LAWLESS_ANTHROPIC_DAILY_TOKENS": str(DAILY_TOKENS),  # far above what a test uses
    }
    server_env = {k: v for k, v in fake_model.env().items() if k not in MODEL_ACCESS}
    with running_hub(
        tmp_path_factory.mktemp("hub"),
        server_env,
        hub_env=hub_env,
        # a GitHub OAuth app (never called: a web flow's start only seals its PKCE verifier)
        server_args=(
            "--LawlessApp.supabase_pull_interval=1",
            "--LawlessApp.github_client_id=fake-client-id",
        ),
    ) as hub:
        yield hub


class User:
    def __init__(self, hub: Hub, name: str, token: str, browser: requests.Session):
        self.hub, self.name, self.token, self.browser = hub, name, token, browser
        self.home = hub.tmp / "home" / name
        self.session: dict[str, Any] = {}

    def request(self, method: str, url: str, token: str | None = None, **kw: Any):
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(method, url, headers=headers, timeout=120, **kw)

    def lawless(self, method: str, path: str, server: str = "", **kw: Any):
        return self.request(method, self.hub.user_url(self.name, server) + path, **kw)


@pytest.fixture(scope="module")
def users(hub) -> dict[str, User]:
    """Both users log in through the form, get an API token, start their server (at once) and
    create a workspace session on a repository in their own home."""
    logged_in = {}
    for name in USERS:
        browser, answer = hub.login(name, PASSWORD)
        assert answer.status_code == 302, answer.text
        logged_in[name] = User(hub, name, hub.user_token(name), browser)
    for name in USERS:
        hub.spawn(name)
    for name, user in logged_in.items():
        hub.wait_ready(name)
        make_repo(user.home / "project", {"README.md": f"# {name}'s project\n"})
        response = user.lawless("POST", SESSIONS, json={"repo": "project", "name": "hub"})
        assert response.status_code == 201, response.text
        user.session = response.json()["session"]
    return logged_in


def chat(user: User, session_id: str, message: str, server: str = "") -> list[dict[str, Any]]:
    path = f"{SESSIONS}/{session_id}/chat"
    with user.lawless("POST", path, server=server, json={"message": message}, stream=True) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        return list(sse_events(r))


def answer_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "text")


def test_a_wrong_password_does_not_log_in(hub):
    browser, answer = hub.login("alice", "not-the-password")
    assert answer.status_code == 403
    assert browser.get(f"{hub.url}/hub/api/user", timeout=60).status_code == 403


def test_each_user_chats_with_the_model_through_the_proxy(users, fake_model):
    for name, user in users.items():
        fake_model.add(text(f"Hello {name}, from the fake model.", chunks=3))
        events = chat(user, user.session["id"], f"Hi, I am {name}")
        types = [e["type"] for e in events]
        assert types[0] == "start" and types[-1] == "done", types
        assert answer_text(events) == f"Hello {name}, from the fake model."
        messages = user.lawless("GET", f"{SESSIONS}/{user.session['id']}/messages").json()
        assert [m["role"] for m in messages["messages"]][:2] == ["user", "assistant"]


def test_rows_are_kept_under_the_hub_user_name(users):
    for name, user in users.items():
        # the session's worktree is in the user's own Jupyter root (their home)
        assert Path(user.session["worktree_path"]).is_relative_to(user.home)
        database = user.home / ".local/share/jupyter/lawless_jupyter/lawless.db"
        with sqlite3.connect(database) as db:
            owners = {row[0] for row in db.execute("SELECT user_id FROM workspace_sessions")}
            owners |= {row[0] for row in db.execute("SELECT user_id FROM activity")}
        assert owners == {name}
        listed = user.lawless("GET", SESSIONS).json()["sessions"]
        assert [s["id"] for s in listed] == [user.session["id"]]


def test_a_user_cannot_reach_another_users_server_or_sessions(users, hub):
    alice, bob = users["alice"], users["bob"]
    bob_session = f"{SESSIONS}/{bob.session['id']}"
    as_alice = {"token": alice.token}
    for method, path, body in [
        ("GET", SESSIONS, None),
        ("GET", bob_session, None),
        ("GET", f"{bob_session}/messages", None),
        ("POST", f"{bob_session}/chat", {"message": "let me in"}),
        ("DELETE", bob_session, None),
        ("GET", "lawless/version", None),
    ]:
        url = hub.user_url("bob") + path
        response = bob.request(method, url, json=body, allow_redirects=False, **as_alice)
        assert response.status_code == 403, (method, path, response.status_code)
    # alice's own login cookie does not open bob's server either
    page = alice.browser.get(hub.user_url("bob") + SESSIONS, allow_redirects=False, timeout=60)
    assert page.status_code in (302, 403) and "sessions" not in page.text
    # nor may she start or stop it through the hub (which does not even show her that bob exists)
    assert hub.api("POST", "users/bob/server", token=alice.token).status_code == 404
    assert hub.api("DELETE", "users/bob/server", token=alice.token).status_code == 404
    assert hub.server_model("bob")["ready"]
    # bob's session is untouched
    response = bob.lawless("GET", bob_session)
    assert response.status_code == 200 and response.json()["session"]["state"] == "active"


def test_the_login_github_token_reaches_each_server_environment(users, hub):
    """The deploy config's auth_state_hook: GITHUB_ACCESS_TOKEN from the user's own login."""
    for name in users:
        pid = hub.server_model(name)["state"]["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        tokens = [v for v in environ if v.startswith(b"GITHUB_ACCESS_TOKEN=")]
        assert tokens == [f"GITHUB_ACCESS_TOKEN=gho_fake_{name}".encode()]


def test_each_server_seals_tokens_with_its_own_users_vault_keys(users, hub):
    """The hub's vault keys reach no server: each gets keys derived for its user, and what it
    seals (here a GitHub sign-in's PKCE verifier) opens with those keys and no one else's."""
    hub_keys = hub.hub_env["LAWLESS_VAULT_KEYS"]
    rings, sealed = {}, {}
    for name, user in users.items():
        env = environ(hub.server_model(name)["state"]["pid"])
        rings[name] = env["LAWLESS_VAULT_KEYS"]
        assert rings[name] == vault_keys.user_keys(hub_keys, name)
        hub_secret = hub_keys.partition(":")[2]
        assert not [k for k, v in env.items() if hub_secret in v], "the hub's key reached it"
        answer = user.lawless("GET", "lawless/api/auth/github", allow_redirects=False)
        assert answer.status_code == 302, answer.text
        assert answer.headers["Location"].startswith("https://github.com/login/oauth/authorize")
        database = user.home / ".local/share/jupyter/lawless_jupyter/lawless.db"
        with sqlite3.connect(database) as db:
            (sealed[name],) = db.execute("SELECT secret FROM oauth_flows").fetchone()
    assert rings["alice"] != rings["bob"]
    for name, other in (("alice", "bob"), ("bob", "alice")):
        own, theirs = Vault(parse_keys(rings[name])), Vault(parse_keys(rings[other]))
        assert own.key_id_of(sealed[name]) == "k1-u"
        assert own.open(sealed[name], user_id=name, provider="github-flow")
        with pytest.raises(VaultDecryptError):  # the same key id, another user's key
            theirs.open(sealed[name], user_id=name, provider="github-flow")


# -- Supabase: each server reaches its own user's rows only ----------------------------------


def rows_as(supabase: Supabase, table: str, credential: str, **filters: str):
    """A PostgREST read with ``credential`` as both apikey and bearer (what a notebook would
    try with a key it found)."""
    return requests.get(
        f"{supabase.url}/rest/v1/{table}",
        params={"select": "*", **filters},
        headers={"apikey": credential, "Authorization": f"Bearer {credential}"},
        timeout=30,
    )


def users_jwt(environment: dict[str, str], token: str) -> str:
    """What a server (or a notebook on it) gets from the hub's token service."""
    answer = requests.get(
        environment["LAWLESS_SUPABASE_TOKEN_URL"],
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def wait_for_rows(hub: Hub, supabase: Supabase, user: str, table: str = "workspace_sessions"):
    def mirrored():
        return [r for r in supabase.rows(table) if r["user_id"] == user]

    hub.wait_until(lambda: bool(mirrored()), f"{user}'s {table} rows to reach Supabase", 60)
    return mirrored()


def test_each_server_mirrors_its_own_rows_with_its_own_jwt(users, hub, hub_supabase):
    for name, user in users.items():
        (row,) = wait_for_rows(hub, hub_supabase, name)
        assert row["id"] == user.session["id"]
        assert row["worktree_path"] == user.session["worktree_path"]
        # the chat turns of the earlier test too: messages and Claude Code's transcripts
        wait_for_rows(hub, hub_supabase, name, "messages")
        wait_for_rows(hub, hub_supabase, name, "transcript_entries")
        status = user.lawless("GET", "lawless/api/integrations/supabase/status").json()
        assert status["configured"] and status["reachable"], status
        assert status["outbox"]["parked"] == 0, status["parked_rows"]
    # a server's environment has the URL, the anon key and where to ask for its JWT
    env = environ(hub.server_model("alice")["state"]["pid"])
    anon = jwt.decode(env["SUPABASE_ANON_KEY"], hub_supabase.jwt_secret, algorithms=["HS256"])
    assert anon["role"] == "anon"
    assert env["LAWLESS_SUPABASE_TOKEN_URL"].endswith("/services/lawless-supabase/token")


def test_no_server_or_kernel_holds_a_key_to_other_users_rows(users, hub, hub_supabase):
    """Everything in alice's server environment and in her kernel's, tried as a Supabase
    credential, reads none of bob's rows; and the JWT her environment lets her fetch is hers."""
    alice = users["alice"]
    wait_for_rows(hub, hub_supabase, "bob")
    server = psutil.Process(hub.server_model("alice")["state"]["pid"])
    answer = alice.lawless("POST", "api/kernels", json={"name": "python3"})
    assert answer.status_code == 201, answer.text
    kernel_id = answer.json()["id"]
    try:
        hub.wait_until(
            lambda: any(kernel_id in " ".join(c.cmdline()) for c in server.children(True)),
            "alice's kernel to start",
            60,
        )
        (kernel,) = [c for c in server.children(True) if kernel_id in " ".join(c.cmdline())]
        environments = {"server": environ(server.pid), "kernel": environ(kernel.pid)}
        never = {hub_supabase.jwt_secret, hub_supabase.service_key}
        for where, env in environments.items():
            assert not never & set(env.values()), where
            assert "SUPABASE_SERVICE_ROLE_KEY" not in env and "SUPABASE_JWT_SECRET" not in env
            for name, value in env.items():
                answer = rows_as(hub_supabase, "workspace_sessions", value, user_id="eq.bob")
                assert answer.status_code in (401, 403) or answer.json() == [], (where, name)
            mine = users_jwt(env, env["JUPYTERHUB_API_TOKEN"])
            assert jwt.decode(mine, options={"verify_signature": False})["sub"] == "alice"
            assert rows_as(hub_supabase, "workspace_sessions", mine, user_id="eq.bob").json() == []
            assert len(rows_as(hub_supabase, "workspace_sessions", mine).json()) >= 1
    finally:
        alice.lawless("DELETE", f"api/kernels/{kernel_id}")


def claude_token_of(hub: Hub, name: str, server: str = "") -> tuple[str, str]:
    """What the server's Claude Code is given for the model: (ANTHROPIC_BASE_URL, its key)."""
    env = environ(hub.server_model(name, server)["state"]["pid"])
    return env["ANTHROPIC_BASE_URL"], env["ANTHROPIC_API_KEY"]


def claude_tokens(hub: Hub, name: str, server: str = "") -> list[dict[str, Any]]:
    """The hub's tokens of ``name`` made for a server's Claude Code."""
    listed = hub.api("GET", f"users/{name}/tokens").json()["api_tokens"]
    note = f"lawless-anthropic: Claude in server '{server}'"
    return [t for t in listed if t["note"] == note]


def model_request(base: str, path: str, credential: str, body: Any, **kw: Any):
    """A Messages API request to the hub's lawless-anthropic service, as Claude Code sends it."""
    headers = {"x-api-key": credential, "anthropic-version": "2023-06-01"}
    return requests.post(f"{base}/{path}", headers=headers, json=body, timeout=60, **kw)


def hang_up_after_the_start(hub: Hub, fake: FakeAnthropic, base: str, token: str) -> None:
    """Ask for the (slow) answer scripted next, read its start and hang up: the service
    must hang up on the API too (the fake counts it)."""
    hung_up = fake.client_disconnects
    body = {"model": "m", "max_tokens": 9, "stream": True, "tools": [], "messages": []}
    with model_request(base, "v1/messages", token, body, stream=True) as started:
        assert b"message_start" in next(started.iter_content(chunk_size=None))
    hub.wait_until(lambda: fake.client_disconnects > hung_up, "the proxy to hang up", 8)


def test_the_models_key_stays_in_the_hub(users, hub, fake_model):
    """No server holds the deployment's Anthropic key (a user would read it from a notebook
    and reach the organisation's files and batches with it): Claude Code reaches the model
    through the hub's lawless-anthropic service with a token of its own user's, which opens
    nothing else, and the service forwards the Messages API only."""
    key, upstream = fake_model.env()["ANTHROPIC_API_KEY"], fake_model.url
    given = {}
    for name in users:
        server = psutil.Process(hub.server_model(name)["state"]["pid"])
        processes = [server, *server.children(recursive=True)]  # Claude Code, kernels...
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                values = environ(process.pid).values()
                assert key not in values and upstream not in values, process.cmdline()
        given[name] = claude_token_of(hub, name)
        assert given[name][0].endswith("/services/lawless-anthropic")
        (listed,) = claude_tokens(hub, name)  # one token, listed under the user's own
        # the service, and what every hub token has: its own user's name and groups
        own = {f"read:users:name!user={name}", f"read:users:groups!user={name}"}
        assert set(listed["scopes"]) == {"access:services!service=lawless-anthropic", *own}
    assert given["alice"][1] != given["bob"][1]
    # the chats of the first test went through it, the real key added on the way
    main = [{k.lower(): v for k, v in r.headers.items()} for r in fake_model.log if r.main]
    assert main and all(headers.get("x-api-key") == key for headers in main)
    assert {headers.get("authorization") for headers in main} == {None}

    base, token = given["alice"]

    def post(path: str, credential: str, body: Any) -> requests.Response:
        return model_request(base, path, credential, body)

    # the Messages API, streamed as it comes, under alice's name in the hub's log
    ask = {"model": "claude-fake", "max_tokens": 50, "stream": True, "tools": []}
    ask["messages"] = [{"role": "user", "content": "Hi"}]
    fake_model.add(text("Through the hub.", chunks=2))
    answer = post("v1/messages?beta=true", token, ask)  # as Claude Code asks
    assert answer.status_code == 200, answer.text
    assert fake_model.log[-1].path == "/v1/messages?beta=true"
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert "Through the hub." in "".join(re.findall(r'"text": ?"([^"]*)"', answer.text))
    # a request given up (Claude interrupted) is given up upstream too: nobody pays for
    # an answer nobody reads
    fake_model.add(text("slow " * 100, chunks=100, delay=0.1))
    hang_up_after_the_start(hub, fake_model, base, token)
    # Claude Code's connectivity check, without a key, is answered (and forwarded nowhere)
    seen = len(fake_model.log)
    assert requests.head(f"{base}/api/hello", timeout=60).status_code == 200
    assert len(fake_model.log) == seen
    # an API error comes back as the API gave it
    # (a short answer's body can reach the service before its headers: ten of each kind)
    for _ in range(10):
        fake_model.add(error(529))
        overloaded = post("v1/messages", token, ask)
        assert overloaded.status_code == 529
        assert overloaded.headers["Content-Type"].startswith("application/json")
        assert overloaded.json()["error"]["type"] == "overloaded_error"
        fake_model.add(text("Short."))
        short = post("v1/messages", token, ask)
        assert short.status_code == 200
        assert short.headers["Content-Type"].startswith("text/event-stream"), short.headers
    # nothing else of the API: the organisation's files and batches stay out of reach
    for path in ("v1/files", "v1/messages/batches", "v1/organizations/api_keys"):
        refused = post(path, token, {})
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["type"] == "permission_error"
    assert requests.get(
        f"{base}/v1/files", headers={"x-api-key": token}, timeout=60
    ).status_code in (403, 405)
    # without a hub token of the service's scope: no model
    for credential in (key, "not-a-token", users["alice"].token[:-2] + "xx"):
        assert post("v1/messages", credential, ask).status_code == 401
    # and the token opens nothing but the service: not alice's server, not the hub's API
    server_api = requests.get(
        hub.user_url("alice") + "api/contents",
        headers={"Authorization": f"token {token}"},
        timeout=60,
        allow_redirects=False,
    )
    assert server_api.status_code == 403
    assert hub.api("POST", "users/alice/servers/extra", token=token).status_code == 403
    log = (hub.tmp / "hub.log").read_text(errors="replace")
    assert re.search(r"lawless-anthropic .*alice /v1/messages: 200", log)
    assert not any(t in log for _, t in given.values())  # who asked, never with what


def test_with_alices_credentials_bobs_rows_are_out_of_reach(users, hub, hub_supabase):
    alice, bob = users["alice"], users["bob"]
    env = environ(hub.server_model("alice")["state"]["pid"])
    credential = users_jwt(env, alice.token)
    (bobs,) = wait_for_rows(hub, hub_supabase, "bob")
    found = rows_as(hub_supabase, "workspace_sessions", credential, id=f"eq.{bobs['id']}")
    assert found.status_code == 200 and found.json() == []
    headers = {
        "apikey": hub_supabase.anon_key,
        "Authorization": f"Bearer {credential}",
        "Prefer": "resolution=merge-duplicates,return=minimal",
    }
    url = f"{hub_supabase.url}/rest/v1/workspace_sessions"
    for owner in ("bob", "alice"):  # his row as his, or claimed as hers
        taken = {**bobs, "user_id": owner, "worktree_path": "/", "name": "taken"}
        taken = json.loads(json.dumps(taken, default=str))
        answer = requests.post(
            url, params={"on_conflict": "id"}, json=[taken], headers=headers, timeout=30
        )
        assert answer.status_code in (401, 403), (owner, answer.status_code, answer.text)
    answer = requests.delete(url, params={"id": f"eq.{bobs['id']}"}, headers=headers, timeout=30)
    assert answer.status_code < 300  # PostgREST deletes what the policy shows her: nothing
    (still,) = [r for r in hub_supabase.rows("workspace_sessions") if r["id"] == bobs["id"]]
    assert still == bobs
    # the token service answers for the token's owner only, and never without a hub token
    assert (
        jwt.decode(users_jwt(env, bob.token), options={"verify_signature": False})["sub"] == "bob"
    )
    for token in ("", "not-a-token", hub.admin_token):
        answer = requests.get(
            env["LAWLESS_SUPABASE_TOKEN_URL"],
            headers={"Authorization": f"token {token}"},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 403, (token[:4], answer.status_code)


def test_a_path_changed_in_supabase_changes_nothing_on_disk(users, hub, hub_supabase):
    """alice points her session's worktree_path at / in Supabase (and its state at
    creating, its worker elsewhere). Her server takes the new name only; deleting the session
    deletes its own worktree and nothing else."""
    alice = users["alice"]
    make_repo(alice.home / "pointed", {"README.md": "# pointed\n"})
    response = alice.lawless("POST", SESSIONS, json={"repo": "pointed", "name": "pointed"})
    assert response.status_code == 201, response.text
    session = response.json()["session"]
    worktree = Path(session["worktree_path"])
    hub.wait_until(
        lambda: any(r["id"] == session["id"] for r in hub_supabase.rows("workspace_sessions")),
        "the session to reach Supabase",
        60,
    )
    claims = jwt.decode(
        users_jwt(environ(hub.server_model("alice")["state"]["pid"]), alice.token),
        options={"verify_signature": False},
    )
    changed = hub_supabase.db.as_user(
        "authenticated",
        claims,
        "UPDATE workspace_sessions SET worktree_path = '/', repo_path = '/', "
        "branch = 'main', worker = 'elsewhere', state = 'creating', name = 'renamed-there', "
        "updated_at = now() + interval '1 day', origin = 'elsewhere' WHERE id = %s",
        (session["id"],),
    )
    assert changed == 1

    def renamed():
        answer = alice.lawless("GET", f"{SESSIONS}/{session['id']}").json()["session"]
        return answer["name"] == "renamed-there" and answer

    hub.wait_until(renamed, "the pull to bring the new name", 60)
    here = renamed()
    assert (here["worktree_path"], here["state"], here.get("worker")) == (
        str(worktree),
        "active",
        "local",
    )
    assert (worktree / "README.md").is_file()
    response = alice.lawless("DELETE", f"{SESSIONS}/{session['id']}")
    assert response.status_code == 200, response.text
    assert not worktree.exists() and (alice.home / "pointed" / "README.md").is_file()
    assert Path("/usr/bin").is_dir() and Path(str(alice.home)).is_dir()


@pytest.mark.parametrize("level", ["read", "write"])
def test_a_shared_server_runs_nothing_for_its_guest(users, hub, level):
    """JupyterHub 5's sharing with custom:jupyter_server:read:* (or write:*, which holds
    read): the deploy config's authorizer maps Jupyter's actions to those scopes. bob reads
    alice's server (with write, changes his preferences there) and cannot start Claude, a
    terminal or a git hook on it."""
    alice = users["alice"]
    scopes = ["access:servers!server=alice/", f"custom:jupyter_server:{level}:*!server=alice/"]
    shared = hub.api(
        "POST", "shares/alice/", token=alice.token, json={"user": "bob", "scopes": scopes}
    )
    assert shared.status_code == 200, shared.text
    try:
        guest = {"Authorization": f"token {hub.user_token('bob')}"}  # fresh: servers cache
        url = hub.user_url("alice")

        def as_guest(method: str, path: str, body: Any = None) -> requests.Response:
            return requests.request(method, url + path, json=body, headers=guest, timeout=60)

        listed = as_guest("GET", SESSIONS)
        assert listed.status_code == 200 and listed.json()["sessions"] == [], listed.text
        session = f"{SESSIONS}/{alice.session['id']}"
        refused = [
            ("POST", f"{session}/chat", {"message": "let me in"}),
            ("POST", f"{session}/chat/approvals/1", {"decision": "allow"}),
            ("POST", f"{session}/terminals", {}),
            ("POST", f"{session}/git/commit", {"message": "sneaked in"}),
            ("POST", f"{session}/git/merge", {}),
            ("POST", f"{session}/git/push", {}),
            ("POST", SESSIONS, {"repo": "project"}),
            ("DELETE", session, None),
        ]
        if level == "read":  # Jupyter's own routes too: a kernel is started with write
            refused += [("POST", "api/kernels", {"name": "python3"})]
            refused += [
                ("PUT", "lawless/api/user/preferences", {"preferences": {"permission_mode": "ask"}})
            ]
        for method, path, body in refused:
            answer = as_guest(method, path, body)
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
        if level == "write":  # what changes data without running code is allowed
            answer = as_guest(
                "PUT", "lawless/api/user/preferences", {"preferences": {"permission_mode": "ask"}}
            )
            assert answer.status_code == 200, answer.text

            # bob's row on alice's server cannot reach Supabase with her JWT: refused, parked
            def parked():
                status = alice.lawless("GET", "lawless/api/integrations/supabase/status").json()
                return [r["row_id"] for r in status["parked_rows"]] == ["bob"]

            hub.wait_until(parked, "the guest's row to be refused by Supabase", 60)
        # alice herself still does everything on her server
        status = alice.lawless("GET", f"{session}/git/status")
        assert status.status_code == 200, status.text
        assert alice.lawless("GET", session).json()["session"]["state"] == "active"
    finally:
        hub.api("DELETE", "shares/alice/", token=alice.token)


@pytest.fixture(scope="module")
def second(users, hub) -> str:
    """alice's named server "second", started with her own token (a user may)."""
    hub.spawn("alice", "second", token=users["alice"].token)
    hub.wait_ready("alice", "second")
    return "second"


def test_a_named_server_works_under_its_own_prefix(users, hub, fake_model, second):
    alice = users["alice"]
    assert hub.routes()["/user/alice/second/"]["target"] != hub.routes()["/user/alice/"]["target"]

    make_repo(alice.home / "other", {"README.md": "# other\n"})
    response = alice.lawless("POST", SESSIONS, server="second", json={"repo": "other"})
    assert response.status_code == 201, response.text
    session = response.json()["session"]
    fake_model.add(text("Named server answer.", chunks=2))
    assert answer_text(chat(alice, session["id"], "Hello", server="second")) == (
        "Named server answer."
    )

    # JupyterLab under the prefix: its page config gives the panel that base URL, and the
    # panel's prebuilt bundle is served from there.
    page = alice.lawless("GET", "lab", server="second")
    assert page.status_code == 200, page.text
    config = json.loads(
        re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
            page.text,
            re.S,
        ).group(1)
    )
    assert config["baseUrl"] == "/user/alice/second/"
    panel = [e for e in config["federated_extensions"] if e["name"] == "lawless-jupyter"]
    assert panel, "the panel is not among JupyterLab's extensions"
    bundle = alice.lawless(
        "GET", f"lab/extensions/lawless-jupyter/{panel[0]['load']}", server="second"
    )
    assert bundle.status_code == 200 and b"lawless" in bundle.content

    # bob's token does not open alice's named server
    other = alice.request(
        "GET", hub.user_url("alice", "second") + SESSIONS, token=users["bob"].token
    )
    assert other.status_code == 403


def test_the_panel_works_in_a_browser_under_the_named_server(users, hub, fake_model, second):
    """Log in through the hub's form in Chromium, open JupyterLab on /user/alice/second/,
    create a session and chat in the panel: every URL it builds carries the prefix."""
    from playwright.sync_api import sync_playwright

    alice = users["alice"]
    make_repo(alice.home / "browsed", {"README.md": "# browsed\n"})
    fake_model.add(text("Hello in the browser, through the hub.", chunks=3))
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(90_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", "alice")
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            page.wait_for_url("**/user/alice/**")
            page.goto(hub.user_url("alice", second) + "lab")
            page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
            panel = page.locator("#jp-lawless-panel")
            panel.get_by_label("Repository").fill("browsed")
            panel.get_by_label("Name").fill("in-browser")
            panel.get_by_role("button", name="Create session").click()
            composer = panel.get_by_label("Message to Claude")
            composer.fill("Say hello")
            composer.press("Enter")
            panel.get_by_text("Hello in the browser, through the hub.").wait_for()
            assert not errors, errors
        except Exception:
            page.screenshot(path=hub.tmp / "browser-failure.png")
            raise
        finally:
            chromium.close()
    listed = alice.lawless("GET", SESSIONS, server=second).json()["sessions"]
    assert "in-browser" in [s["name"] for s in listed]


def test_a_server_ends_on_the_hubs_sigint(users, hub, second):
    """JupyterHub's spawner stops a server with SIGINT first. With no terminal that is a
    KeyboardInterrupt out of the event loop, extensions never stopped: the process must still
    end (no worker thread of the extension keeps it alive), and the hub sees it gone."""
    server = psutil.Process(hub.server_model("alice", second)["state"]["pid"])
    assert len(claude_tokens(hub, "alice", second)) == 1
    server.send_signal(signal.SIGINT)
    hub.wait_until(lambda: ended(server), "the server process to end after SIGINT")
    hub.wait_stopped("alice", second)
    # its Claude Code's token to the model went with it; the default server's stays
    assert claude_tokens(hub, "alice", second) == []
    assert len(claude_tokens(hub, "alice")) == 1


def test_a_user_past_the_hubs_daily_token_budget_is_told_so_and_others_go_on(
    users, hub, fake_model
):
    """The hub's budget (LAWLESS_ANTHROPIC_DAILY_TOKENS) counts each user's model tokens
    from the answers' own usage; past it that user's turn ends with the reason, nothing
    reaches the API, and another user chats on. (Last of the hub tests: bob is done.)"""
    alice, bob = users["alice"], users["bob"]
    # half of it in an answer its caller leaves halfway (the prompt's tokens were spent)
    base, token = claude_token_of(hub, "bob")
    half = DAILY_TOKENS // 2
    fake_model.add(replace(text("slow " * 50, chunks=50, delay=0.1), input_tokens=half))
    hang_up_after_the_start(hub, fake_model, base, token)
    # the other half in a whole answer
    big = replace(text("That was a long one.", chunks=2), output_tokens=half)
    fake_model.add(big)
    assert answer_text(chat(bob, bob.session["id"], "Write a lot")) == "That was a long one."
    asked = len(fake_model.main_requests)
    events = chat(bob, bob.session["id"], "And more")
    errors = [e["message"] for e in events if e["type"] == "error"]
    assert errors and "used today's 1,000,000 model tokens on this hub" in errors[0], events
    assert events[-1]["type"] == "done" and len(fake_model.main_requests) == asked
    fake_model.add(text("Still here for alice."))
    assert answer_text(chat(alice, alice.session["id"], "Hi")) == "Still here for alice."
    log = (hub.tmp / "hub.log").read_text(errors="replace")
    today = re.findall(rf"bob /v1/messages: 200 in [\d.]+ s, {half + 10} tokens \((\d+) today", log)
    assert today and int(today[-1]) >= DAILY_TOKENS, today


def spawner_of(name: str) -> Any:
    """What a Spawner.environment callable is given, as far as it looks: the user's name."""
    return type("Spawner", (), {"user": type("User", (), {"name": name})})()


def ended(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # ended; its parent (the hub) reaps it
    except psutil.NoSuchProcess:
        return True


def test_the_deploy_config_sets_up_github_login_with_the_token_kept(monkeypatch):
    """The one-machine config, loaded as JupyterHub loads it, configures the real GitHub
    OAuthenticator: encrypted auth state, the repo scope, and the hook that passes the token."""
    from jupyterhub.spawner import Spawner
    from oauthenticator.github import LocalGitHubOAuthenticator
    from traitlets.config import PyFileConfigLoader

    monkeypatch.setenv("LAWLESS_HUB_USERS", "alice, bob")
    monkeypatch.setenv("SUPABASE_URL", "https://example.supabase.co")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key-that-stays-here")
    monkeypatch.delenv("SUPABASE_ANON_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    config = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    assert config.JupyterHub.authenticator_class == "local-github"
    authenticator = LocalGitHubOAuthenticator(config=config)
    assert authenticator.enable_auth_state and "repo" in authenticator.scope
    assert authenticator.allowed_users == {"alice", "bob"}
    assert authenticator.create_system_users

    spawner = Spawner(config=config)
    # Supabase goes to servers per user only (anon key + the hub's token service), never
    # the service role key
    assert spawner.environment == {}
    spawner.auth_state_hook(spawner, {"access_token": "gho_x"})
    assert spawner.environment["GITHUB_ACCESS_TOKEN"] == "gho_x"
    spawner.auth_state_hook(spawner, None)
    assert "GITHUB_ACCESS_TOKEN" not in spawner.environment

    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon-key")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "jwt-secret-" + "x" * 40)
    config = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    environment = Spawner(config=config).environment
    assert environment == {
        "SUPABASE_URL": "https://example.supabase.co",
        "SUPABASE_ANON_KEY": "anon-key",
        "LAWLESS_SUPABASE_TOKEN_URL": "http://127.0.0.1:8091/services/lawless-supabase/token",
    }
    (service,) = config.JupyterHub.services
    assert service["name"] == "lawless-supabase"
    assert service["environment"] == {"SUPABASE_JWT_SECRET": "jwt-secret-" + "x" * 40}
    assert Path(service["command"][1]).is_file()

    # the vault's keys: each server its own user's, derived in the hub
    monkeypatch.setenv("LAWLESS_VAULT_KEYS", HUB_VAULT_KEYS)
    config = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    per_user = Spawner(config=config).environment["LAWLESS_VAULT_KEYS"]
    assert per_user(spawner_of("alice")) == vault_keys.user_keys(HUB_VAULT_KEYS, "alice")
    monkeypatch.setenv("LAWLESS_VAULT_KEYS", "k1:not-a-key")
    with pytest.raises(ValueError, match="'k1' is not base64"):  # at the hub's start
        PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    monkeypatch.delenv("LAWLESS_VAULT_KEYS")

    # the model's key: to the hub's lawless-anthropic service, never to a server
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-hubs")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://gateway.example.org")
    config = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    anthropic = {s["name"]: s for s in config.JupyterHub.services}["lawless-anthropic"]
    assert anthropic["environment"] == {
        "ANTHROPIC_API_KEY": "sk-ant-the-hubs",
        "ANTHROPIC_BASE_URL": "https://gateway.example.org",
    }
    assert Path(anthropic["command"][1]).name == "lawless_anthropic_proxy.py"
    spawner = Spawner(config=config)
    assert spawner.environment["ANTHROPIC_BASE_URL"] == (
        "http://127.0.0.1:8092/services/lawless-anthropic"
    )
    assert spawner.environment["ANTHROPIC_API_KEY"].__name__ == "token_for_server"
    assert spawner.post_stop_hook.__name__ == "revoke_on_stop"
    roles = {r["name"]: r["scopes"] for r in config.JupyterHub.load_roles}
    assert "access:services!service=lawless-anthropic" in roles["user"]
    # no key on the hub (Bedrock, Vertex, a gateway of one's own): a gateway's URL passes on
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    config = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    assert "lawless-anthropic" not in {s["name"] for s in config.JupyterHub.services}
    assert Spawner(config=config).environment["ANTHROPIC_BASE_URL"] == (
        "https://gateway.example.org"
    )


def test_the_kubernetes_values_file_wires_the_secrets(monkeypatch):
    from jupyterhub.spawner import Spawner
    from traitlets.config import Config

    values = yaml.safe_load((ROOT / "deploy/jupyterhub/values.yaml").read_text())
    hub_config = values["hub"]["config"]
    assert hub_config["JupyterHub"]["authenticator_class"] == "github"
    assert hub_config["Authenticator"]["enable_auth_state"] is True
    assert "repo" in hub_config["GitHubOAuthenticator"]["scope"]
    hub_env = values["hub"]["extraEnv"]
    assert hub_env["JUPYTERHUB_CRYPT_KEY"]["valueFrom"]["secretKeyRef"]["name"]
    server_env = values["singleuser"]["extraEnv"]
    for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY"):
        assert server_env[name]["valueFrom"]["secretKeyRef"]["key"], name
    # no key that reaches every user's rows goes to a user's pod; the JWT secret, the
    # vault's keys and the Anthropic key stay in the hub
    shared = {"SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_KEY", "SUPABASE_JWT_SECRET"}
    assert not {*shared, "LAWLESS_VAULT_KEYS", "ANTHROPIC_API_KEY"} & set(server_env)
    assert hub_env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"]["key"]
    assert hub_env["SUPABASE_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"]
    assert hub_env["LAWLESS_VAULT_KEYS"]["valueFrom"]["secretKeyRef"]["key"]
    # the hub's extra config, with its code where the chart mounts it: each pod its user's keys
    mounted = values["hub"]["extraFiles"]["lawless-vault-keys"]["mountPath"]
    snippet = values["hub"]["extraConfig"]["lawless-vault-keys"]
    assert mounted in snippet
    namespace = {"c": Config()}
    monkeypatch.setenv("LAWLESS_VAULT_KEYS", HUB_VAULT_KEYS)
    exec(snippet.replace(mounted, str(DEPLOY_CONFIG.with_name("lawless_vault_keys.py"))), namespace)
    per_user = namespace["c"].KubeSpawner.environment.get_value({})["LAWLESS_VAULT_KEYS"]
    assert per_user(spawner_of("bob")) == vault_keys.user_keys(HUB_VAULT_KEYS, "bob")
    token_url = server_env["LAWLESS_SUPABASE_TOKEN_URL"]
    # the hub's extra config, run as the chart runs it: the login's token reaches the pod env
    namespace = {"c": Config()}
    exec(values["hub"]["extraConfig"]["lawless-github-token"], namespace)
    spawner = Spawner()
    namespace["c"].KubeSpawner.auth_state_hook(spawner, {"access_token": "gho_k8s"})
    assert spawner.environment == {"GITHUB_ACCESS_TOKEN": "gho_k8s"}
    assert values["singleuser"]["defaultUrl"] == "/lab"
    # the token service: registered by the hub's extra config, its code from hub.extraFiles,
    # reachable at the URL the pods are given, and by them only
    namespace = {"c": Config()}
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "jwt-secret-" + "x" * 40)
    exec(values["hub"]["extraConfig"]["lawless-supabase-token"], namespace)
    (service,) = namespace["c"].JupyterHub.services.get_value([])
    assert service["name"] == "lawless-supabase"
    assert service["environment"]["SUPABASE_JWT_SECRET"] == "jwt-secret-" + "x" * 40
    mounted = values["hub"]["extraFiles"]["lawless-supabase-token"]["mountPath"]
    assert service["command"][-1] == mounted
    assert token_url == f"{service['url']}/services/lawless-supabase/token"
    port = int(service["url"].rsplit(":", 1)[1])
    assert {"name": "lawless-supabase", "port": port, "targetPort": port} in values["hub"][
        "service"
    ]["extraPorts"]
    access = "access:services!service=lawless-supabase"
    assert access in values["hub"]["loadRoles"]["server"]["scopes"]
    assert access in values["hub"]["loadRoles"]["user"]["scopes"]
    # the model's access: the proxy service from hub.extraFiles, the pods given its URL and a
    # token callable, the port open to the pods
    mounted = values["hub"]["extraFiles"]["lawless-anthropic-proxy"]["mountPath"]
    snippet = values["hub"]["extraConfig"]["lawless-anthropic"]
    namespace = {"c": Config()}
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-hubs")
    local = str(DEPLOY_CONFIG.with_name("lawless_anthropic_proxy.py"))
    exec(snippet.replace(mounted, local), namespace)
    (service,) = namespace["c"].JupyterHub.services.get_value([])
    assert service["name"] == "lawless-anthropic" and service["command"][-1] == local
    assert service["environment"]["ANTHROPIC_API_KEY"] == "sk-ant-the-hubs"
    pods = namespace["c"].KubeSpawner.environment.get_value({})
    assert pods["ANTHROPIC_BASE_URL"] == f"{service['url']}/services/lawless-anthropic"
    assert pods["ANTHROPIC_API_KEY"].__name__ == "token_for_server"
    assert namespace["c"].KubeSpawner.post_stop_hook.__name__ == "revoke_on_stop"
    port = int(service["url"].rsplit(":", 1)[1])
    assert {"name": "lawless-anthropic", "port": port, "targetPort": port} in values["hub"][
        "service"
    ]["extraPorts"]
    opened = [
        p["port"] for rule in values["singleuser"]["networkPolicy"]["egress"] for p in rule["ports"]
    ]
    assert port in opened

    # the same scopes, roles and server authorizer as the one-machine config
    from traitlets.config import PyFileConfigLoader

    monkeypatch.setenv("SUPABASE_URL", "https://example.supabase.co")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-hubs")
    one = PyFileConfigLoader(DEPLOY_CONFIG.name, str(DEPLOY_CONFIG.parent)).load_config()
    k8s = values["hub"]["config"]
    assert k8s["JupyterHub"]["custom_scopes"] == one.JupyterHub.custom_scopes
    assert k8s["KubeSpawner"]["args"] == one.Spawner.args
    assert k8s["KubeSpawner"]["oauth_client_allowed_scopes"] == (
        one.Spawner.oauth_client_allowed_scopes
    )
    roles = {r["name"]: r["scopes"] for r in one.JupyterHub.load_roles}
    assert values["hub"]["loadRoles"]["user"]["scopes"] == roles["user"]
    assert values["hub"]["loadRoles"]["server"]["scopes"] == roles["server"]


def test_each_user_gets_vault_keys_of_their_own_derived_from_the_hubs():
    alice = vault_keys.user_keys(HUB_VAULT_KEYS, "alice")
    assert alice == vault_keys.user_keys(HUB_VAULT_KEYS, "alice")  # the same after a restart
    bob = vault_keys.user_keys(HUB_VAULT_KEYS, "bob")
    rings = {name: parse_keys(ring) for name, ring in (("alice", alice), ("bob", bob))}
    hub = parse_keys(HUB_VAULT_KEYS)
    for ring in rings.values():
        assert [k.id for k in ring] == ["k2-u", "k1-u"]  # newest first, as the hub's
        assert not {k.key for k in ring} & {k.key for k in hub}
    assert not {k.key for k in rings["alice"]} & {k.key for k in rings["bob"]}
    sealed = Vault(rings["alice"]).seal("gho_alice", user_id="alice", provider="github")
    with pytest.raises(VaultDecryptError):
        Vault(rings["bob"]).open(sealed, user_id="alice", provider="github")

    # moving a hub whose servers had the shared keys: they go along (after the user's own)
    # until each server has re-sealed what they sealed with its own newest key
    moving = parse_keys(vault_keys.user_keys(HUB_VAULT_KEYS, "alice", shared_too=True))
    assert [k.id for k in moving] == ["k2-u", "k1-u", "k2", "k1"]
    before = Vault(hub).seal("gho_alice", user_id="alice", provider="github")
    resealed = Vault(moving).reseal(before, user_id="alice", provider="github")
    assert Vault(rings["alice"]).open(resealed, user_id="alice", provider="github") == "gho_alice"

    assert vault_keys.for_each_user({}) is None
    given = vault_keys.for_each_user({"LAWLESS_VAULT_KEYS": HUB_VAULT_KEYS})
    assert given(spawner_of("bob")) == bob
    for wrong, says in (
        ("k1:" + base64.b64encode(b"short").decode(), "not 32 bytes"),
        ("k" * 31 + ":" + base64.b64encode(b"1" * 32).decode(), "key id is 1-30"),
        ("k1", "each entry"),
        ("k1-u:" + base64.b64encode(b"1" * 32).decode(), "not ending in '-u'"),
        ("k1:!!", "not base64"),
        (" , ", "holds no key"),
    ):
        with pytest.raises(ValueError, match=says):
            vault_keys.user_keys(wrong, "alice")
