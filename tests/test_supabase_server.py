"""The Supabase mirror inside a running Jupyter server: an outage while the extension is in
use, a server killed with rows still in its outbox, and the status route."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

import lawless_jupyter

from .conftest import make_repo
from .servers import JupyterServer
from .test_openapi import SpecChecker
from .test_supabase_mirror import comparable

pytestmark = pytest.mark.timeout(180)

SPEC = yaml.safe_load((Path(lawless_jupyter.__file__).parent / "openapi.yaml").read_text())


@pytest.fixture
def lawless_config(supabase) -> dict[str, Any]:
    return {
        "supabase_url": supabase.url,
        "supabase_key": supabase.service_key,
        "supabase_timeout": 2.0,
        "supabase_retry_max_delay": 0.4,
        "supabase_pull_interval": 3600.0,
        # the outage test clicks every 10 ms for as long as the outage lasts (longer on a
        # loaded machine); the request quota is not what it is about
        "api_requests_per_hour": 1_000_000,
    }


async def status(api) -> dict[str, Any]:
    code, body, response = await api("GET", "api/integrations/supabase/status")
    assert code == 200, body
    SpecChecker(SPEC).response(
        "/api/integrations/supabase/status", "GET", code, body, response.headers
    )
    return body


async def test_status_never_shows_the_key(api, lawless_app, supabase):
    body = await status(api)
    assert body["configured"] is True and body["url"] == supabase.url
    assert supabase.service_key not in json.dumps(body)
    assert body["outbox"]["depth"] >= 0 and body["running"] is True


async def test_an_outage_loses_nothing_and_blocks_nothing(api, lawless_app, repo, supabase):
    """1,000 writes while Supabase refuses connections, then answers 503s, HTML error pages,
    timeouts and 429s, then is fine: every row arrives once, each row's versions in order,
    the outbox drains to zero, and no request to the extension failed or waited."""
    await lawless_app.ready()
    store, fake = lawless_app.store, supabase.fake
    latencies: list[tuple[str, int, float]] = []
    stop = asyncio.Event()

    async def use_the_extension() -> None:  # a person clicking around meanwhile
        paths = ["api/workspace/sessions", "api/user/activity", "api/integrations/supabase/status"]
        i = 0
        while not stop.is_set():
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            code, _, _ = await api("GET", path)
            latencies.append((path, code, time.perf_counter() - t0))
            i += 1
            await asyncio.sleep(0.01)

    async def create_session() -> None:
        t0 = time.perf_counter()
        code, _, _ = await api("POST", "api/workspace/sessions", {"repo": "project"})
        latencies.append(("POST sessions", code, time.perf_counter() - t0))

    writes: list[float] = []

    async def write(i: int, conversations: list[str]) -> None:
        t0 = time.perf_counter()
        cid = conversations[i % len(conversations)]
        if i % 2:
            await store.set_claude_session(cid, f"claude-{i}")
        else:
            await store.append_message(cid, f"turn-{i}", "user", {"i": i})
        writes.append(time.perf_counter() - t0)
        if i % 25 == 0:
            await asyncio.sleep(0)

    user = lawless_app.owner
    clicking = asyncio.ensure_future(use_the_extension())
    try:
        fake.down()
        conversations = [(await store.conversation_for(user, None))["id"] for _ in range(20)]
        for i in range(400):
            await write(i, conversations)
        await create_session()
        body = await status(api)
        assert body["reachable"] is False and body["outbox"]["depth"] > 400
        # back, but unwell
        for kind, times in (("503", 4), ("502-html", 2), ("timeout", 2), ("429", 1)):
            fake.inject(kind, times=times, seconds=2.5)
        fake.up()
        for i in range(400, 700):
            await write(i, conversations)
        await create_session()
        for i in range(700, 1000):
            await write(i, conversations)
        assert await lawless_app.supabase.wait_drained(60)
    finally:
        stop.set()
        await clicking

    # no request failed, none waited on Supabase (its timeout is 2 s, its faults 2.5 s)
    assert latencies and all(code in (200, 201) for _, code, _ in latencies), latencies
    slowest = max(latencies, key=lambda x: x[2])
    print(
        f"\n{len(latencies)} requests during the outage, slowest {slowest[2] * 1000:.0f} ms "
        f"({slowest[0]}); 1,000 writes, slowest {max(writes) * 1000:.1f} ms"
    )
    assert slowest[2] < 1.5, slowest
    assert max(writes) < 0.5

    stats = await store.outbox.stats()
    assert stats["depth"] == 0 and stats["parked"] == 0
    for table in ("workspace_sessions", "conversations"):
        mine = [
            comparable(r) for r in await store.db.fetchall(f"SELECT * FROM {table} ORDER BY id")
        ]
        assert [comparable(r) for r in supabase.rows(table)] == mine, table
    local_messages = await store.db.fetchall("SELECT id FROM messages ORDER BY id")
    assert [m["id"] for m in supabase.rows("messages")] == [m["id"] for m in local_messages]
    assert len(local_messages) == 500

    # what crossed the wire: each message once; each mutable row's versions in order, once
    sent: dict[tuple[str, str], list[str]] = defaultdict(list)
    for method, table, rows in fake.writes:
        assert method == "POST"
        for row in rows:
            sent[(table, row["id"])].append(row.get("updated_at", ""))
    assert all(len(v) == 1 for (t, _), v in sent.items() if t in ("messages", "activity"))
    for (table, _), versions in sent.items():
        if table in ("workspace_sessions", "conversations"):
            assert versions == sorted(set(versions)), versions
    body = await status(api)
    assert body["reachable"] is True and body["outbox"]["depth"] == 0
    assert body["last_error"]  # the outage is remembered


def test_a_killed_server_sends_its_outbox_after_a_restart(tmp_path, supabase, monkeypatch):
    root = tmp_path / "root"
    make_repo(root / "project")
    monkeypatch.delenv("SUPABASE_KEY", raising=False)
    server = JupyterServer(
        root,
        tmp_path / "server",
        args=["--LawlessApp.supabase_retry_max_delay=0.3", "--LawlessApp.supabase_timeout=1.0"],
        # configured as a deployment would: by environment
        env={"SUPABASE_URL": supabase.url, "SUPABASE_SERVICE_ROLE_KEY": supabase.service_key},
    )
    supabase.fake.down()
    server.start()
    try:
        made = [server.call("POST", "api/workspace/sessions", {"repo": "project"})]
        made.append(server.call("POST", "api/workspace/sessions", {"repo": "project"}))
        body = server.call("GET", "api/integrations/supabase/status")
        assert body["configured"] and body["outbox"]["depth"] >= 6, body
        assert supabase.service_key not in json.dumps(body)
    finally:
        server.kill()
    assert supabase.rows("workspace_sessions") == []
    supabase.fake.up()
    server.start()
    try:
        deadline = time.monotonic() + 30
        while server.call("GET", "api/integrations/supabase/status")["outbox"]["depth"]:
            assert time.monotonic() < deadline, "the outbox did not drain after the restart"
            time.sleep(0.1)
        rows = {r["id"]: r for r in supabase.rows("workspace_sessions")}
        assert set(rows) == {m["session"]["id"] for m in made}
        assert all(r["state"] == "active" for r in rows.values())
        assert len(supabase.rows("activity")) == 2  # session.created, twice
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):
        server.call("GET", "health")


async def test_the_app_hands_out_transcript_stores(api, lawless_app, supabase):
    await lawless_app.ready()
    transcripts = lawless_app.transcripts_for("alice")
    key = {"project_key": "p", "session_id": "s"}
    await transcripts.append(key, [{"type": "user", "uuid": "u1"}])
    assert await lawless_app.supabase.wait_drained(10)
    assert [r["uuid"] for r in supabase.rows("transcript_entries")] == ["u1"]
    assert transcripts.remote is not None


async def test_parked_rows_go_again_when_asked(api, lawless_app, supabase):
    """Supabase refuses a row (a 4xx: parked, shown in the status); once the cause is fixed,
    ``POST api/integrations/supabase/retry`` sends it."""
    await lawless_app.ready()
    supabase.fake.inject("409", times=1, method="POST", table="preferences")
    code, _, _ = await api("PUT", "api/user/preferences", {"preferences": {"model": "m"}})
    assert code == 200
    for _ in range(100):
        body = await status(api)
        if body["outbox"]["parked"]:
            break
        await asyncio.sleep(0.05)
    assert [r["table_name"] for r in body["parked_rows"]] == ["preferences"], body
    assert supabase.rows("preferences") == []
    code, body, response = await api("POST", "api/integrations/supabase/retry", {})
    assert code == 200 and body == {"requeued": 1}
    SpecChecker(SPEC).response(
        "/api/integrations/supabase/retry", "POST", code, body, response.headers
    )
    assert await lawless_app.supabase.wait_drained(10)
    assert [r["data"] for r in supabase.rows("preferences")] == [{"model": "m"}]
    assert (await status(api))["outbox"]["parked"] == 0
