"""Waits, pollers and downloads against a stub gateway: bounded, shared, never failing a task on a failed poll."""

from __future__ import annotations

import anyio
import pytest
from fakes.engine_stubs import RecordingDownloader, StubProvider, request

from providers.base import Capabilities, TaskSnapshot, TaskStatus
from providers.errors import RateLimited, TransportFailure, UpstreamError

pytestmark = pytest.mark.anyio


class CountingProvider(StubProvider):
    """Tracks how many status checks run at once (one poll stream per task means never more than one)."""

    def __init__(self, gateway, *, hang: bool = False) -> None:
        super().__init__(gateway)
        self.in_flight = 0
        self.max_in_flight = 0
        self.hang = hang

    async def get(self, upstream_id: str) -> TaskSnapshot:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hang:
                await anyio.sleep_forever()
            await anyio.sleep(0.005)
            return await super().get(upstream_id)
        finally:
            self.in_flight -= 1


async def test_fifty_waiters_share_one_poll_stream(make_engine, gateway):
    provider = CountingProvider(gateway)
    gateway.seconds = 0.5
    results = []

    async def waiter(task_id):
        changes = []

        async def on_change(task):
            changes.append(task.progress)

        results.append((await engine.wait(task_id, 5, on_change), changes))

    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request())
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(waiter, started.task.task_id)
    assert len(results) == 50 and all(t.status is TaskStatus.SUCCEEDED for t, _ in results)
    assert provider.max_in_flight == 1
    assert gateway.polls <= 30  # one adaptive stream for a 0.5 s job at 10-50 ms intervals, not 50 of them
    for _, changes in results:
        seen = [p for p in changes if p is not None]
        assert seen == sorted(seen)


async def test_wait_returns_within_its_timeout_whatever_the_gateway_does(make_engine, gateway):
    provider = CountingProvider(gateway, hang=True)
    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request())
        for timeout in (0.05, 0.2, 0.4):
            before = anyio.current_time()
            task = await engine.wait(started.task.task_id, timeout)
            assert anyio.current_time() - before < timeout + 0.1
            assert task.status is TaskStatus.QUEUED


async def test_wait_zero_returns_the_ledger_state_and_resumes_polling(make_engine, gateway):
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        first = await engine.wait(started.task.task_id, 0)
        assert first.status in (TaskStatus.UNKNOWN, TaskStatus.QUEUED)
        with anyio.fail_after(5):
            while (await engine.wait(started.task.task_id, 0)).status is not TaskStatus.SUCCEEDED:
                await anyio.sleep(0.05)


async def test_cancelled_waiter_leaves_the_job_running_and_downloaded(make_engine, gateway, downloader):
    gateway.seconds = 0.4
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        with anyio.move_on_after(0.1):
            await engine.wait(started.task.task_id, 10)  # the client gives up (cancellation)
        polls = gateway.polls
        with anyio.fail_after(10):  # nobody waits now; the poller carries on (bounded, not a fixed sleep: CI load)
            while (row := await engine.ledger.get(started.task.task_id)).download_state != "done":
                await anyio.sleep(0.05)
    assert gateway.polls > polls
    assert row.state == "succeeded" and row.download_state == "done" and row.local_path
    assert gateway.created == 1


async def test_failed_polls_warn_and_never_fail_the_task(make_engine, gateway):
    gateway.seconds = 0.3
    gateway.poll_plan = [TransportFailure("read timeout", sent=True), UpstreamError("502", status=502),
                         RateLimited("slow", status=429, sent=False, retry_after=0.01),
                         UpstreamError("500", status=500)]
    warnings = []

    async def on_change(task):
        warnings.append(task.warning)

    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5, on_change)
    assert task.status is TaskStatus.SUCCEEDED and task.warning is None
    shown = [w for w in warnings if w]
    assert shown and "status checks failed" in shown[0] and "still trying" in shown[0]


async def test_a_poll_retry_after_is_honoured(make_engine, gateway):
    gateway.seconds = 0.0
    gateway.poll_plan = [RateLimited("slow", status=429, sent=False, retry_after=0.4)]
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        before = anyio.current_time()
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED
    assert anyio.current_time() - before >= 0.4
    assert gateway.polls == 2


async def test_poll_deadline_leaves_unknown_then_resumes_when_asked(make_engine, gateway):
    gateway.seconds = 0.8
    async with make_engine(timing={"poll_deadline": 0.3}) as engine:
        started = await engine.start(engine.providers["stub"], request())
        await anyio.sleep(0.6)
        row = await engine.ledger.get(started.task.task_id)
        assert row.state == "unknown" and row.error_code == "poll_timeout"
        assert "call get_video_task to check again" in row.error_message
        polls = gateway.polls
        await anyio.sleep(0.2)
        assert gateway.polls == polls  # it really stopped
        task = await engine.wait(started.task.task_id, 3)  # asking again resumes polling
    assert task.status is TaskStatus.SUCCEEDED and task.error is None


async def test_wait_returns_after_the_download_finished(make_engine, gateway):
    slow = RecordingDownloader(delay=0.3)
    gateway.seconds = 0.0
    async with make_engine(downloader=slow) as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path


async def test_no_download_when_not_asked(make_engine, gateway, downloader):
    gateway.seconds = 0.0
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request(), download=False)
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path is None and downloader.calls == []


async def test_expired_link_is_refreshed_by_requerying_the_same_task(make_engine, gateway):
    fetch = RecordingDownloader(expired=2)
    gateway.seconds = 0.0
    async with make_engine(downloader=fetch) as engine:
        started = await engine.start(engine.providers["stub"], request())
        polls_before = gateway.polls
        task = await engine.wait(started.task.task_id, 5)
    assert task.local_path and task.warning is None
    assert len(fetch.calls) == 3 and gateway.created == 1  # re-queried, never regenerated
    assert gateway.polls - polls_before >= 3


async def test_link_still_expired_after_two_refreshes_is_a_warning(make_engine, gateway):
    fetch = RecordingDownloader(expired=10)
    gateway.seconds = 0.0
    async with make_engine(downloader=fetch) as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.local_path is None
    assert "could not be saved locally" in task.warning and len(fetch.calls) == 3
    assert gateway.created == 1


class ProxyProvider(StubProvider):
    capabilities = Capabilities(content_proxy=True)

    def content_request(self, upstream_id):
        return f"https://gw.stub.test/v1/videos/{upstream_id}/content", {"Authorization": "Bearer sk-x"}


async def test_the_gateways_content_route_is_preferred_and_falls_back(make_engine, gateway):
    fetch = RecordingDownloader(fail=None)
    gateway.seconds = 0.0
    provider = ProxyProvider(gateway)
    async with make_engine(providers={"stub": provider}, downloader=fetch) as engine:
        started = await engine.start(provider, request())
        task = await engine.wait(started.task.task_id, 5)
    assert fetch.calls == [(f"https://gw.stub.test/v1/videos/{task.upstream_task_id}/content",
                            {"Authorization": "Bearer sk-x"})]

    fetch = RecordingDownloader(expired=1)  # the content route fails: the direct URL is used
    async with make_engine(providers={"stub": provider}, downloader=fetch) as engine:
        started = await engine.start(provider, request("another"))
        task = await engine.wait(started.task.task_id, 5)
    assert [url for url, _ in fetch.calls] == [fetch.calls[0][0], task.video_url] and task.local_path


async def test_on_change_failure_does_not_end_the_wait(make_engine, gateway):
    async def broken(task):
        raise RuntimeError("client gone")

    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5, broken)
    assert task.status is TaskStatus.SUCCEEDED


async def test_unknown_upstream_status_is_not_terminal(make_engine, gateway):
    class Confused(StubProvider):
        calls = 0

        async def get(self, upstream_id):
            Confused.calls += 1
            if Confused.calls <= 2:
                return TaskSnapshot(status=TaskStatus.UNKNOWN, upstream_id=upstream_id)
            return await super().get(upstream_id)

    provider = Confused(gateway)
    gateway.seconds = 0.0
    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and Confused.calls >= 3


async def test_leases_are_renewed_while_a_long_job_is_polled(make_engine, gateway, provider, caplog):
    gateway.seconds = 3.0  # three lease lifetimes (lease_ttl=1 s here)
    async with make_engine() as engine:
        started = await engine.start(provider, request())
        await anyio.sleep(2.5)
        row = await engine.ledger.get(started.task.task_id)
        assert row.state != "succeeded" and row.lease_owner == engine.owner
        assert row.lease_expires > engine.ledger.now() + 0.3  # renewed recently, not left to lapse
        assert await engine.ledger.acquire(row.task_id, "elsewhere:1:1:cafe", ttl=1.0) is None  # still ours
        done = await engine.wait(row.task_id, 5)
    assert done.status is TaskStatus.SUCCEEDED
    assert "could not renew" not in caplog.text


class LedgerSpy:
    """Counts the ledger calls the engine makes (progress-only updates, lease releases), passing them through."""

    def __init__(self, ledger) -> None:
        self.ledger = ledger
        self.progress_writes = 0
        self.releases: list[str | None] = []
        update, release = ledger.update, ledger.release

        async def counting_update(task_id, **changes):
            if set(changes) - {"owner", "durable", "detail"} <= {"progress", "warning", "poll_failures"}:
                self.progress_writes += 1
            return await update(task_id, **changes)

        async def counting_release(owner, task_id=None):
            self.releases.append(task_id)
            return await release(owner, task_id)

        ledger.update, ledger.release = counting_update, counting_release


async def test_progress_ticks_reach_waiters_at_once_and_the_ledger_in_batches(make_engine, gateway, provider):
    gateway.seconds = 1.2  # ~40 polls at 10-50 ms, nearly each one a new percentage
    seen: list[int] = []

    async def on_change(task):
        if task.progress is not None:
            seen.append(task.progress)

    async with make_engine() as engine:
        spy = LedgerSpy(engine.ledger)
        started = await engine.start(provider, request())
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.wait, started.task.task_id, 5, on_change)
            await anyio.sleep(0.8)
            stored = (await engine.ledger.get(started.task.task_id)).progress
            assert stored is not None and stored >= 20  # other processes see progress within tick_flush (0.2 s)
        done = await engine.wait(started.task.task_id, 5)
    assert done.status is TaskStatus.SUCCEEDED
    assert len(set(seen)) >= 10 and seen == sorted(seen)  # this process's waiters saw every tick
    assert spy.progress_writes <= 1.2 / 0.2 + 2  # the ledger got them at most every tick_flush


@pytest.mark.parametrize("download", [False, True])
async def test_the_settling_write_releases_the_lease_itself(make_engine, gateway, provider, download):
    async with make_engine() as engine:
        spy = LedgerSpy(engine.ledger)
        started = await engine.start(provider, request(), download=download)
        done = await engine.wait(started.task.task_id, 5)
        row = await engine.ledger.get(started.task.task_id)
    assert done.status is TaskStatus.SUCCEEDED
    assert row.lease_owner is None and row.lease_expires is None
    assert (row.download_state == "done") is download
    assert started.task.task_id not in spy.releases  # no second write just to let go of it
