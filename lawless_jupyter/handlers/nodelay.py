"""Nagle off for one response, so a small write leaves at once."""

from __future__ import annotations

from typing import Any


def send_at_once(request: Any) -> None:
    """With Nagle's algorithm on, a small write made right after the headers waits for their
    ACK, which the client (or a proxy in between: JupyterHub's, a frontend server) may delay
    ~40 ms (benchmarks/bench_hub.py, bench_workers.py). Tornado turns Nagle back on when the
    request ends."""
    stream = getattr(request.connection, "stream", None)
    if stream is not None:
        stream.set_nodelay(True)
