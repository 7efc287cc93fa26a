"""The server's periodic jobs (``background.every``): a job that fails is tried again."""

from __future__ import annotations

import asyncio
import logging

from lawless_jupyter.background import every


async def test_a_failing_job_is_logged_and_runs_again(caplog):
    runs = []

    async def job():
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the first run fails")

    task = every(0.01, job, logging.getLogger("test"), "the job")
    try:
        async with asyncio.timeout(5):
            while len(runs) < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert "the job failed" in caplog.text and "the first run fails" in caplog.text


async def test_wait_first_waits_one_interval_before_the_first_run():
    runs = []

    async def job():
        runs.append(1)

    task = every(0.2, job, logging.getLogger("test"), "the job", wait_first=True)
    await asyncio.sleep(0.05)
    assert runs == []
    await asyncio.sleep(0.3)
    task.cancel()
    assert runs
