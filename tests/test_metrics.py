"""The extension's counters and gauges on Jupyter Server's own Prometheus /metrics."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .fake_anthropic import text
from .servers import free_port


@pytest.fixture
def lawless_config(fake, tmp_path):
    return {
        "claude_env": fake.env(CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config")),
        "claude_max_retries": 0,
        "chat_messages_per_hour": 1,
        "metrics_interval": 0.1,
        "workers": [{"id": "gone", "url": f"http://127.0.0.1:{free_port()}/"}],
        "worker_status_cache_seconds": 0.1,
    }


async def scrape(jp_fetch) -> dict[tuple[str, tuple], float]:
    response = await jp_fetch("metrics")
    assert response.code == 200
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


async def until(jp_fetch, name: str, labels: dict, wanted: float) -> dict:
    for _ in range(100):
        samples = await scrape(jp_fetch)
        if samples.get((name, tuple(sorted(labels.items())))) == wanted:
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}{labels} never became {wanted}")


async def test_metrics_follow_sessions_chat_terminals_quotas_and_workers(api, jp_fetch, repo, fake):
    before = await scrape(jp_fetch)
    quota_key = ("lawless_quota_rejections_total", (("quota", "chat messages"),))
    turns_key = ("lawless_chat_turns_total", (("stop_reason", "end_turn"),))
    # the extension opens on its first request; until then the gauges hold what an earlier
    # server in this process left (they are process-wide)
    assert (await api("GET", "version"))[0] == 200
    await until(jp_fetch, "lawless_active_sessions", {}, 0)

    session = await api.create(name="watched")
    await until(jp_fetch, "lawless_active_sessions", {}, 1)

    fake.add(text("Counted."))
    chat = f"api/workspace/sessions/{session['id']}/chat"
    response = await jp_fetch(
        "lawless", *chat.split("/"), method="POST", body=json.dumps({"message": "hi"})
    )
    assert response.code == 200 and b'"done"' in response.body
    after = await scrape(jp_fetch)
    assert after[turns_key] == before.get(turns_key, 0) + 1
    assert after[("lawless_chat_turn_duration_seconds_count", ())] == (
        before.get(("lawless_chat_turn_duration_seconds_count", ()), 0) + 1
    )

    # the second message of the hour is over the chat quota
    code, body, _ = await api("POST", chat, {"message": "again"})
    assert code == 429 and "chat messages" in body["error"]
    after = await scrape(jp_fetch)
    assert after[quota_key] == before.get(quota_key, 0) + 1

    code, _, _ = await api("POST", f"api/workspace/sessions/{session['id']}/terminals")
    assert code == 201
    await until(jp_fetch, "lawless_open_terminals", {}, 1)

    samples = await until(
        jp_fetch, "lawless_worker_status", {"worker": "gone", "status": "down"}, 1
    )
    assert samples[("lawless_worker_status", (("status", "up"), ("worker", "gone")))] == 0
    assert samples[("lawless_worker_status", (("status", "up"), ("worker", "local")))] == 1
    assert ("lawless_outbox_depth", ()) in samples

    code, _, _ = await api(
        "DELETE", f"api/workspace/sessions/{session['id']}", params={"force": "true"}
    )
    assert code == 200
    await until(jp_fetch, "lawless_active_sessions", {}, 0)
