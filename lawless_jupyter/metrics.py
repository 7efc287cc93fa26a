"""The extension's Prometheus metrics, served by Jupyter Server's own ``/metrics``.

Jupyter Server exposes ``prometheus_client``'s default registry; these join it once per
process (a module is imported once). Counters are counted where things happen; gauges of
stored state (sessions, terminals, outbox) are refreshed by ``refresh``, which ``LawlessApp``
runs every ``metrics_interval`` seconds, worker status after every health check.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram

ACTIVE_SESSIONS = Gauge(
    "lawless_active_sessions", "Workspace sessions not deleted or failed (every user)"
)
OPEN_TERMINALS = Gauge("lawless_open_terminals", "Session terminals open")
OUTBOX_DEPTH = Gauge("lawless_outbox_depth", "Rows waiting to be mirrored to Supabase")
CHAT_TURNS = Counter("lawless_chat_turns", "Chat turns finished, by stop reason", ["stop_reason"])
CHAT_TURN_SECONDS = Histogram(
    "lawless_chat_turn_duration_seconds",
    "How long chat turns took, start to done",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
QUOTA_REJECTIONS = Counter(
    "lawless_quota_rejections", "Requests refused by a quota or rate limit", ["quota"]
)
LIVE_CLAUDE = Gauge("lawless_claude_processes", "Claude Code processes running")
CLAUDE_RSS = Gauge(
    "lawless_claude_rss_bytes", "Resident memory of the Claude Code processes and their children"
)
CLAUDE_QUEUED = Gauge(
    "lawless_claude_queued", "Chat turns waiting for a Claude Code process (max_live_claude)"
)
WORKER_STATUS = Gauge(
    "lawless_worker_status",
    "1 for a worker's current status (up, degraded, down)",
    ["worker", "status"],
)
_STATUSES = ("up", "degraded", "down")

if TYPE_CHECKING:
    from .chat import ChatService
    from .store import Store
    from .workers import WorkerRegistry


def record_turn(stop_reason: str, seconds: float) -> None:
    CHAT_TURNS.labels(stop_reason=stop_reason).inc()
    CHAT_TURN_SECONDS.observe(seconds)


def record_quota_rejection(quota: str) -> None:
    QUOTA_REJECTIONS.labels(quota=quota or "other").inc()


def record_worker_statuses(statuses: list[Any]) -> None:
    for s in statuses:
        for status in _STATUSES:
            WORKER_STATUS.labels(worker=s.worker.id, status=status).set(
                1 if s.status == status else 0
            )


def record_counts(counts: dict[str, int]) -> None:
    ACTIVE_SESSIONS.set(counts["active_sessions"])
    OPEN_TERMINALS.set(counts["open_terminals"])
    OUTBOX_DEPTH.set(counts["outbox_depth"])


def record_claude(usage: dict[str, int]) -> None:
    LIVE_CLAUDE.set(usage["live"])
    CLAUDE_RSS.set(usage["rss"])
    CLAUDE_QUEUED.set(usage["queued"])


async def refresh(store: Store, workers: WorkerRegistry, chat: ChatService) -> None:
    """The gauges of stored state and of Claude's processes, and the workers' status
    (recorded when checked)."""
    record_counts(await store.activity.counts())
    # psutil reads /proc for every live process tree: in a thread, not on the loop
    record_claude(await asyncio.to_thread(chat.claude_usage))
    await workers.statuses()
