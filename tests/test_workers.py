"""Workers: their health, worker mode (the API key), with a second real Jupyter server."""

from __future__ import annotations

import asyncio
import socket
import threading
from urllib.parse import quote

import httpx
import pytest

from .worker_server import WORKER_KEY, WorkerServer


@pytest.fixture
def lawless_config(worker):
    return {
        "workers": [worker.worker_entry()],
        "worker_check_timeout": 2.0,
        "worker_status_cache_seconds": 0.2,
    }


async def statuses(api) -> dict[str, dict]:
    code, body, _ = await api("GET", "api/workers/status")
    assert code == 200, body
    return {w["id"]: w for w in body["workers"]}


async def until_status(api, worker_id: str, wanted: str, attempts: int = 50) -> dict:
    for _ in range(attempts):
        status = (await statuses(api))[worker_id]
        if status["status"] == wanted:
            return status
        await asyncio.sleep(0.2)
    raise AssertionError(f"{worker_id} never became {wanted}: {status}")


def worker_get(worker: WorkerServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(worker.url + path, headers=headers, timeout=10)


def worker_post(worker: WorkerServer, path: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(worker.url + path, json=body, headers=headers, timeout=60)


def as_user(user: str, key: str = WORKER_KEY) -> dict[str, str]:
    return {"X-API-Key": key, "X-Lawless-User": user}


# -- status --------------------------------------------------------------------------------


async def test_status_lists_this_server_and_the_worker_up(api, worker):
    code, body, _ = await api("GET", "api/workers/status")
    assert code == 200 and body["timestamp"]
    local, w1 = body["workers"]
    assert local["id"] == "local" and local["status"] == "up" and local["error"] is None
    assert w1 == {
        **w1,
        "id": "w1",
        "name": "Worker one",
        "region": "test-1",
        "features": ["gpu"],
        "status": "up",
        "error": None,
    }
    assert w1["version"] == local["version"] and w1["uptime"] > 0 and w1["latency_ms"] > 0


async def test_a_killed_worker_shows_down_and_up_again_once_back(api, worker):
    await until_status(api, "w1", "up")
    worker.stop()
    down = await until_status(api, "w1", "down")
    assert "not reachable" in down["error"] and down["version"] is None
    assert (await statuses(api))["local"]["status"] == "up"
    worker.start()
    up = await until_status(api, "w1", "up")
    assert up["error"] is None


class TestDegraded:
    @pytest.fixture
    def lawless_config(self, worker, monkeypatch):
        monkeypatch.setenv("LAWLESS_TEST_WRONG_KEY", "not-the-key-" + "z" * 20)
        return {
            "workers": [
                worker.worker_entry(),
                worker.worker_entry(id="wrongkey", api_key_env="LAWLESS_TEST_WRONG_KEY"),
                worker.worker_entry(id="nokey", api_key_env="LAWLESS_TEST_UNSET_KEY"),
            ],
            "worker_degraded_latency": 0.000001,  # every real answer is "slow"
        }

    async def test_slow_or_refusing_workers_are_degraded(self, api, worker):
        got = await statuses(api)
        assert got["w1"]["status"] == "degraded" and got["w1"]["error"].startswith("slow: ")
        assert got["w1"]["version"] == got["local"]["version"]
        for refused in ("wrongkey", "nokey"):
            assert got[refused]["status"] == "degraded"
            assert got[refused]["error"] == "refused the API key (403)"
            assert got[refused]["version"] is None

    async def test_sessions_go_to_slow_workers_but_not_to_refusing_ones(self, api, worker, repo):
        session = await api.create(worker="w1")
        assert session["worker"] == "w1"
        # the next usable worker after wrongkey (then nokey, local, w1) is this server
        session = await api.create(worker="wrongkey")
        assert session["worker"] == "local"


class SilentServer:
    """Accepts connections and never answers: a hung worker. Counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)

    def close(self):
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


class TestHungAndRefusedWorkers:
    @pytest.fixture
    def lawless_config(self, silent):
        return {
            "workers": [
                {"id": "hung", "url": silent.url},
                {"id": "far", "url": "http://203.0.113.7:8888/", "name": "Far away"},
            ],
            "worker_check_timeout": 1.0,
            "worker_status_cache_seconds": 30.0,
        }

    async def test_a_worker_that_never_answers_is_down_after_the_timeout(self, api, silent):
        # five panels ask at once: one check, shared
        answers = await asyncio.gather(*(statuses(api) for _ in range(5)))
        assert silent.connections == 1
        hung = answers[0]["hung"]
        assert hung["status"] == "down" and hung["error"] == "no answer within 1 s"
        assert all(a["hung"] == hung for a in answers)
        # cached: asking again does not contact the worker again
        await statuses(api)
        assert silent.connections == 1

    async def test_plain_http_to_a_remote_host_is_never_contacted(self, api):
        far = (await statuses(api))["far"]
        assert far["status"] == "down" and "plain HTTP" in far["error"]
        assert far["name"] == "Far away"


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"id": "local", "url": "http://127.0.0.1:1/"}, "taken"),
        ({"id": "Bad Id", "url": "http://127.0.0.1:1/"}, "lower-case"),
        ({"id": "w", "url": "ftp://x/"}, r"http\(s\) URL"),
        ({"id": "w", "url": "http://127.0.0.1:1/", "secret": "x"}, "unknown fields"),
    ],
)
def test_a_wrong_worker_entry_is_refused_at_start(entry, problem):
    from traitlets import TraitError

    from lawless_jupyter.app import LawlessApp

    with pytest.raises(TraitError, match=problem):
        LawlessApp(workers=[entry])


# -- worker mode ----------------------------------------------------------------------------


class TestWorkerMode:
    @pytest.fixture
    def worker_settings(self):
        return {"api_requests_per_hour": 3}

    @pytest.fixture
    def lawless_config(self):
        return {}

    def test_the_key_acts_for_the_named_user(self, worker):
        r = worker_post(
            worker, "lawless/api/workspace/sessions", {"repo": "project"}, **as_user("alice")
        )
        assert r.status_code == 201, r.text
        session = r.json()["session"]
        r = worker_get(
            worker, f"lawless/api/workspace/sessions/{session['id']}", **as_user("alice")
        )
        assert r.status_code == 200 and r.json()["session"]["id"] == session["id"]
        # bob, through the same frontend key, does not see alice's session
        r = worker_get(worker, f"lawless/api/workspace/sessions/{session['id']}", **as_user("bob"))
        assert r.status_code == 404

    def test_a_user_id_beyond_ascii_travels_percent_encoded(self, worker):
        zoe = {"X-API-Key": WORKER_KEY, "X-Lawless-User": quote("zoë müller", safe="")}
        r = worker_post(worker, "lawless/api/workspace/sessions", {"repo": "project"}, **zoe)
        assert r.status_code == 201, r.text
        r = worker_get(worker, "lawless/api/workspace/sessions", **zoe)
        assert len(r.json()["sessions"]) == 1
        r = worker_get(worker, "lawless/api/workspace/sessions", **as_user("zoë"[:2]))
        assert r.json()["sessions"] == []
        r = worker_get(worker, "lawless/api/user/activity", **zoe)
        assert r.status_code == 200 and r.json()["activity"][0]["kind"] == "session.created"

    def test_quotas_count_per_forwarded_user(self, worker):
        for _ in range(3):
            assert (
                worker_get(worker, "lawless/api/user/quota", **as_user("alice")).status_code == 200
            )
        r = worker_get(worker, "lawless/api/user/quota", **as_user("alice"))
        assert r.status_code == 429 and "API requests" in r.json()["error"]
        assert worker_get(worker, "lawless/api/user/quota", **as_user("bob")).status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [
            {},  # nothing
            {"X-Lawless-User": "alice"},  # a user, no key
            as_user("alice", key="wrong-key-" + "x" * 30),
            as_user("alice", key=WORKER_KEY[:-1]),
            as_user("alice", key=""),
        ],
        ids=["nothing", "user-only", "wrong-key", "almost-the-key", "empty-key"],
    )
    def test_missing_or_wrong_key_is_refused(self, worker, headers):
        r = worker_get(worker, "lawless/api/workspace/sessions", **headers)
        assert r.status_code == 403
        assert "session" not in r.text

    def test_a_wrong_key_is_refused_even_with_a_valid_token(self, worker):
        headers = {**as_user("alice", key="wrong-" + "y" * 30)}
        headers["Authorization"] = f"token {worker.token}"
        assert worker_get(worker, "lawless/api/workspace/sessions", **headers).status_code == 403

    def test_the_key_grants_only_this_extension_and_terminals(self, worker):
        assert worker_get(worker, "api/contents", **as_user("alice")).status_code == 403
        assert worker_get(worker, "api/kernels", **as_user("alice")).status_code == 403
        # without a user: only the version (the frontend's health check)
        assert worker_get(worker, "lawless/version", **{"X-API-Key": WORKER_KEY}).status_code == 200
        r = worker_get(worker, "lawless/api/workspace/sessions", **{"X-API-Key": WORKER_KEY})
        assert r.status_code == 403

    async def test_without_a_worker_key_the_headers_grant_nothing(self, api, jp_fetch, repo):
        """The pytest-jupyter server has no worker key: X-API-Key means nothing, and a
        logged-in request cannot act for someone else with X-Lawless-User."""
        code, _, _ = await api(
            "GET", "api/workspace/sessions", headers={**as_user("alice"), "Authorization": ""}
        )
        assert code == 403
        session = await api.create(name="mine")
        code, body, _ = await api("GET", "api/workspace/sessions", headers=as_user("mallory"))
        assert code == 200 and [s["id"] for s in body["sessions"]] == [session["id"]]


async def test_a_status_check_in_flight_ends_with_the_server(monkeypatch):
    """The status bar asked just before the server stopped, and a worker does not answer:
    stopping ends the check (it is not left for the closing loop to destroy)."""
    import logging

    from lawless_jupyter.workers import WorkerRegistry, WorkerSettings, parse_workers

    silent = socket.socket()  # accepts, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setenv("LAWLESS_TEST_SILENT_KEY", "k" * 32)
    entry = {
        "id": "silent",
        "url": f"http://127.0.0.1:{silent.getsockname()[1]}/",
        "api_key_env": "LAWLESS_TEST_SILENT_KEY",
    }
    registry = WorkerRegistry(
        parse_workers([entry]),
        WorkerSettings(check_timeout=60.0),
        lambda: {"version": "x", "uptime": 1.0},
        logging.getLogger("test"),
    )
    asking = asyncio.ensure_future(registry.statuses())
    try:
        await asyncio.sleep(0.2)  # the check waits on the silent worker
        checking = registry._inflight
        assert checking is not None and not checking.done()
        await asyncio.wait_for(registry.close(), 5)
        assert checking.cancelled(), "the check ended with the server"
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(asking, 5)
    finally:
        silent.close()
