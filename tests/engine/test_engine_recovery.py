"""Restarts and several engines on one ledger (separate connections, separate Engine objects, as two processes)."""

from __future__ import annotations

import time

import anyio
import pytest
from fakes.engine_stubs import FindingProvider, StubProvider, dead_owner, make_row, request
from fakes.postgres import ledger_sql

from providers.base import TaskStatus
from server.ledger.backend import open_ledger

pytestmark = pytest.mark.anyio


class Counted(StubProvider):
    def __init__(self, gateway, name: str, shared: dict) -> None:
        super().__init__(gateway)
        self.name, self.shared, self.polls = name, shared, 0

    async def get(self, upstream_id):
        self.polls += 1
        self.shared["now"] = self.shared.get("now", 0) + 1
        self.shared["max"] = max(self.shared.get("max", 0), self.shared["now"])
        try:
            await anyio.sleep(0.002)
            return await super().get(upstream_id)
        finally:
            self.shared["now"] -= 1


async def plant(settings, **kw):
    ledger = open_ledger(settings)
    row, _ = await ledger.create(make_row(**kw), dedupe_window=0)
    ledger.close()
    return row


async def test_orphaned_submit_becomes_unknown_on_recovery(make_engine, gateway, settings):
    row = await plant(settings, lease_owner=dead_owner(), lease_expires=time.time() + 3600)
    async with make_engine(recover_on_start=False) as engine:
        counts = await engine.recover()
        task = await engine.get(row.task_id)
        waited = await engine.wait(row.task_id, 1)
    assert counts["orphans"] == 1
    for t in (task, waited):
        assert t.status is TaskStatus.UNKNOWN and t.error.code == "submit_interrupted"
        assert "NOT resubmitted" in t.error.message
    assert gateway.keys == [] and gateway.created == 0


async def test_orphaned_submit_is_reconciled_when_the_gateway_can_look_it_up(make_engine, gateway, settings):
    row = await plant(settings, idempotency_key="orphan-1", lease_owner=dead_owner(), lease_expires=time.time() + 60)
    gateway.create("orphan-1")  # the dead process's submit did reach the gateway
    provider = FindingProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:  # recovery runs in the background at start
        task = await engine.wait(row.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path and gateway.created == 1 and gateway.keys == []


async def test_a_live_submitters_row_is_left_alone_until_its_lease_expires(make_engine, gateway, settings):
    row = await plant(settings, lease_owner="otherhost:1:2:x", lease_expires=time.time() + 0.6)
    async with make_engine(recover_on_start=False) as engine:
        assert (await engine.recover())["orphans"] == 0
        task = await engine.wait(row.task_id, 0.3)
        assert task.status is TaskStatus.UNKNOWN and task.error.code == "submitting"
        task = await engine.wait(row.task_id, 2)  # the lease expires: the submitter is presumed gone
    assert task.error.code == "submit_interrupted"


async def test_restart_mid_poll_resumes_and_completes(make_engine, gateway, downloader):
    gateway.seconds = 0.6
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 0.25)
        assert task.status is TaskStatus.RUNNING
    polls = gateway.polls
    async with make_engine(recover_on_start=False) as engine:
        assert (await engine.get(started.task.task_id)).status is TaskStatus.RUNNING
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path and gateway.polls > polls
    assert gateway.created == 1


async def test_restart_resumes_unfinished_tasks_in_the_background(make_engine, gateway, settings):
    gateway.seconds = 0.3
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        await engine.wait(started.task.task_id, 0.1)
    async with make_engine() as engine:  # nobody asks; recovery resumes it
        await anyio.sleep(1.0)
        row = await engine.ledger.get(started.task.task_id)
    assert row.state == "succeeded" and row.download_state == "done"


async def test_two_engines_one_key_one_job_one_poller(make_engine, gateway):
    shared: dict = {}
    gateway.seconds = 0.5
    pa, pb = Counted(gateway, "a", shared), Counted(gateway, "b", shared)
    results = {}
    async with make_engine(providers={"stub": pa}) as a, make_engine(providers={"stub": pb}) as b:
        assert a.ledger is not b.ledger and a.owner != b.owner

        async def go(engine, provider, name):
            started = await engine.start(provider, request(), idempotency_key="shared-key")
            results[name] = (started, await engine.wait(started.task.task_id, 5))

        async with anyio.create_task_group() as tg:
            tg.start_soon(go, a, pa, "a")
            tg.start_soon(go, b, pb, "b")
    (sa, ta), (sb, tb) = results["a"], results["b"]
    assert sa.task.task_id == sb.task.task_id and sa.reused != sb.reused
    assert ta.status is tb.status is TaskStatus.SUCCEEDED
    assert gateway.created == 1 and len(gateway.keys) == 1
    assert shared["max"] == 1  # never two status checks of the task at once
    assert (pa.polls == 0) != (pb.polls == 0)  # one lease holder did all the polling


async def test_a_follower_sees_the_pollers_progress_without_polling(make_engine, gateway):
    shared: dict = {}
    gateway.seconds = 0.5
    pa, pb = Counted(gateway, "a", shared), Counted(gateway, "b", shared)
    seen = []

    async def on_change(task):
        seen.append((task.status, task.progress))

    async with make_engine(providers={"stub": pa}) as a, make_engine(providers={"stub": pb}) as b:
        started = await a.start(pa, request())
        task = await b.wait(started.task.task_id, 5, on_change)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path
    assert pb.polls == 0 and pa.polls > 0
    assert (TaskStatus.RUNNING in [s for s, _ in seen]) and seen[-1][0] is TaskStatus.SUCCEEDED


async def test_a_follower_takes_over_when_the_lease_expires(make_engine, gateway, settings):
    gateway.seconds = 0.2
    async with make_engine() as a:
        started = await a.start(a.providers["stub"], request())
        await a.wait(started.task.task_id, 0.05)
        task_id = started.task.task_id
    # Pretend another machine's process holds it and then falls silent.
    ledger_sql(settings, "UPDATE tasks SET state='running', lease_owner='otherhost:1:2:x', lease_expires=? "
               "WHERE task_id=?", (time.time() + 0.5, task_id))
    polls = gateway.polls
    async with make_engine(recover_on_start=False) as b:
        before = time.time()
        task = await b.wait(task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and time.time() - before >= 0.4
    assert gateway.polls > polls


async def test_a_download_owed_after_a_crash_is_done_on_restart(make_engine, gateway, settings, downloader):
    job = gateway.create("k")
    row = await plant(settings, state="succeeded", progress=100, upstream_task_id=job.id,
                      video_url=f"https://cdn.stub.test/{job.id}.mp4", download_state="pending",
                      lease_owner=dead_owner(), lease_expires=time.time() + 60)
    async with make_engine() as engine:
        task = await engine.wait(row.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path and len(downloader.calls) == 1


async def test_a_task_of_an_unconfigured_gateway_is_reported_not_waited_on(make_engine, settings):
    row = await plant(settings, state="running", upstream_task_id="up-x", provider="gone")
    async with make_engine() as engine:
        before = anyio.current_time()
        task = await engine.wait(row.task_id, 5)
    assert anyio.current_time() - before < 1
    assert task.status is TaskStatus.RUNNING and "not configured" in task.warning


@pytest.mark.parametrize("progress", [True, False], ids=["progress-ticks", "no-progress"])
async def test_a_poller_that_lost_its_lease_stops_writing(make_engine, gateway, settings, progress):
    gateway.seconds, gateway.progress = 1.0, progress
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        await engine.wait(started.task.task_id, 0.2)
        ledger_sql(settings, "UPDATE tasks SET lease_owner='otherhost:1:2:x', lease_expires=? WHERE task_id=?",
                   (time.time() + 60, started.task.task_id))
        frozen = (await engine.ledger.get(started.task.task_id)).updated_at
        # It notices at its next lease renewal (every lease_ttl/3) or progress write (tick_flush), whichever first.
        await anyio.sleep(0.5)
        polls = gateway.polls
        await anyio.sleep(0.3)
        row = await engine.ledger.get(started.task.task_id)
        assert gateway.polls - polls <= 1 and row.updated_at == frozen  # it noticed, and wrote nothing
        ledger_sql(settings, "UPDATE tasks SET lease_expires=? WHERE task_id=?",
                   (time.time() - 1, started.task.task_id))
        task = await engine.wait(started.task.task_id, 5)  # the lease expired: it takes the task back
    assert task.status is TaskStatus.SUCCEEDED
