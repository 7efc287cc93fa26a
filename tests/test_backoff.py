"""How long the server waits between tries (``backoff.py``): the mirror's sync task and
requests forwarded to a worker."""

from __future__ import annotations

import time

from lawless_jupyter import backoff


def test_the_wait_doubles_per_failure_up_to_the_cap_with_half_of_it_random():
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 60.0)]:
        waits = [backoff.exponential(failures, base=1.0, cap=60.0) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (failures, min(waits), max(waits))
        assert len(set(waits)) > 100, "jitter: clients do not all come back at once"


def test_a_retry_after_is_waited_at_least():
    assert backoff.exponential(1, base=1.0, cap=60.0, retry_after=30.0) == 30.0
    assert backoff.exponential(10, base=1.0, cap=60.0, retry_after=0.5) >= 30.0


def test_retry_after_headers():
    assert backoff.retry_after("7") == 7.0
    assert backoff.retry_after("1.5") == 1.5
    assert backoff.retry_after("86400") == backoff.MAX_RETRY_AFTER
    for unusable in (None, "", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "-3", "nan"):
        assert backoff.retry_after(unusable) is None, unusable


async def test_tries_are_spaced_by_the_delays_and_the_last_says_so():
    steps = []
    start = time.monotonic()
    async for more in backoff.tries((0.05, 0.1)):
        steps.append((more, time.monotonic() - start))
    assert [more for more, _ in steps] == [True, True, False]
    assert steps[0][1] < 0.05 and steps[1][1] >= 0.05 and steps[2][1] >= 0.15
    assert [more async for more in backoff.tries(())] == [False]
