"""Dedupe: the same idempotency_key is the same task (across restarts); an identical request in the window too."""

from __future__ import annotations

import anyio
import pytest
from fakes.engine_stubs import fast_settings, request

from providers.base import TaskStatus

pytestmark = pytest.mark.anyio


async def test_same_key_same_task_no_second_submit(make_engine, gateway):
    async with make_engine() as engine:
        p = engine.providers["stub"]
        first = await engine.start(p, request(), idempotency_key="job-1")
        again = await engine.start(p, request(), idempotency_key="job-1")
        other = await engine.start(p, request("something else"), idempotency_key="job-1")
        await engine.wait(first.task.task_id, 5)
    assert again.reused and other.reused
    assert again.task.task_id == other.task.task_id == first.task.task_id
    assert "job-1" in again.reason and "new idempotency_key" in again.reason
    assert "different request" in other.reason and "different request" not in again.reason
    assert gateway.created == 1 and gateway.keys == ["job-1"]


async def test_same_key_across_a_restart(make_engine, gateway):
    async with make_engine() as engine:
        first = await engine.start(engine.providers["stub"], request(), idempotency_key="job-2")
        await engine.wait(first.task.task_id, 5)
    async with make_engine() as engine:
        again = await engine.start(engine.providers["stub"], request(), idempotency_key="job-2")
    assert again.reused and again.task.task_id == first.task.task_id
    assert again.task.status is TaskStatus.SUCCEEDED and gateway.created == 1


async def test_concurrent_starts_with_one_key(make_engine, gateway):
    results = []
    async with make_engine() as engine:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(lambda: _append(results, engine.start(engine.providers["stub"], request(),
                                                                     idempotency_key="burst")))
        assert len({s.task.task_id for s in results}) == 1
        assert sum(not s.reused for s in results) == 1
        await engine.wait(results[0].task.task_id, 5)
    assert gateway.created == 1


async def _append(results, coro):
    results.append(await coro)


async def test_identical_request_in_the_window_is_the_same_job(make_engine, gateway):
    async with make_engine() as engine:
        p = engine.providers["stub"]
        first = await engine.start(p, request())
        again = await engine.start(p, request())
        forced = await engine.start(p, request(), idempotency_key="fresh")
        different = await engine.start(p, request(duration=10))
        for s in (first, forced, different):
            await engine.wait(s.task.task_id, 5)
    assert again.reused and again.task.task_id == first.task.task_id
    assert "identical request" in again.reason and "new idempotency_key" in again.reason
    assert not forced.reused and not different.reused
    assert gateway.created == 3


async def test_outside_the_window_or_after_a_failure_a_new_job(make_engine, gateway, tmp_path):
    settings = fast_settings(tmp_path, VIDEOGEN_DEDUPE_WINDOW=0.2)
    async with make_engine(settings=settings) as engine:
        p = engine.providers["stub"]
        first = await engine.start(p, request())
        await engine.wait(first.task.task_id, 5)
        await anyio.sleep(0.25)
        later = await engine.start(p, request())
        await engine.wait(later.task.task_id, 5)
        gateway.fail_next = "nope"
        failed = await engine.start(p, request("will fail"))
        assert (await engine.wait(failed.task.task_id, 5)).status is TaskStatus.FAILED
        gateway.fail_next = None
        retry = await engine.start(p, request("will fail"))
    assert not later.reused and later.task.task_id != first.task.task_id
    assert not retry.reused and retry.task.task_id != failed.task.task_id


async def test_window_zero_disables_dedupe(make_engine, gateway, tmp_path):
    settings = fast_settings(tmp_path, VIDEOGEN_DEDUPE_WINDOW=0)
    async with make_engine(settings=settings) as engine:
        a = await engine.start(engine.providers["stub"], request())
        b = await engine.start(engine.providers["stub"], request())
        for s in (a, b):
            await engine.wait(s.task.task_id, 5)
    assert not b.reused and gateway.created == 2


async def test_list_is_most_recent_first(make_engine, gateway):
    async with make_engine() as engine:
        ids = [(await engine.start(engine.providers["stub"], request(f"p{i}"))).task.task_id for i in range(3)]
        listed = await engine.list(2)
        for i in ids:
            await engine.wait(i, 5)
    assert [t.task_id for t in listed] == ids[::-1][:2]
