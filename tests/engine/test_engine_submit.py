"""The submit policy against a stub gateway: write-before-submit, retry only pre-send failures, never resubmit."""

from __future__ import annotations

import anyio
import pytest
from fakes.engine_stubs import FindingProvider, StubGateway, StubProvider, bad_gateway, request
from fakes.postgres import ledger_sql

from providers.base import TaskSnapshot, TaskStatus
from providers.errors import (
    AuthError, BadResponse, InvalidRequest, QuotaError, RateLimited, TransportFailure, Unavailable, UpstreamError,
)

pytestmark = pytest.mark.anyio


async def test_happy_path_queued_running_succeeded_downloaded(make_engine, gateway, downloader):
    seen = []

    async def on_change(task):
        seen.append((task.status, task.progress))

    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        assert not started.reused
        assert started.task.task_id.startswith("vg_") and len(started.task.task_id) == 35
        assert started.task.status is TaskStatus.UNKNOWN and started.task.error.code == "submitting"
        task = await engine.wait(started.task.task_id, 5, on_change)
    assert task.status is TaskStatus.SUCCEEDED and task.progress == 100
    assert task.model == "stub/stub-1" and task.upstream_task_id in gateway.jobs
    assert task.local_path and task.local_path.endswith(f"{task.task_id}.mp4")
    assert downloader.calls == [(task.video_url, None)]
    assert gateway.created == 1
    statuses = [s for s, _ in seen]
    assert statuses[-1] is TaskStatus.SUCCEEDED and TaskStatus.RUNNING in statuses
    progress = [p for s, p in seen if s is TaskStatus.RUNNING]
    assert progress == sorted(progress)  # in order, never backwards


async def test_row_is_committed_before_the_first_byte_of_the_submit(make_engine, gateway, settings):
    seen = []

    def look(req, key):  # runs inside the gateway's submit handler, before it answers (another connection)
        seen.append(ledger_sql(settings, "SELECT task_id, state, idempotency_key FROM tasks"))

    gateway.on_submit = look
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request(), idempotency_key="k-1")
        await engine.wait(started.task.task_id, 5)
    assert seen == [[(started.task.task_id, "submitting", "k-1")]]
    assert gateway.keys == ["k-1"]  # our key goes to the gateway as Idempotency-Key


async def test_task_id_is_the_upstream_key_when_no_key_is_given(make_engine, gateway):
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        await engine.wait(started.task.task_id, 5)
    assert gateway.keys == [started.task.task_id]


@pytest.mark.parametrize("error", [
    TransportFailure("could not connect", sent=False),
    RateLimited("slow down", status=429, sent=False, retry_after=0.01),
    RateLimited("slow down", status=429, sent=False),
    Unavailable("overloaded", status=503, sent=False),
])
async def test_pre_send_failures_are_retried_then_succeed(make_engine, gateway, error):
    gateway.submit_plan = [error, error]
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED
    assert len(gateway.keys) == 3 and len(set(gateway.keys)) == 1  # same key on every attempt
    assert gateway.created == 1


async def test_pre_send_failures_until_the_budget_is_spent_fail_the_task(make_engine, gateway):
    gateway.submit_plan = [Unavailable("overloaded", status=503, sent=False)] * 1000
    async with make_engine(timing={"submit_budget": 0.3}) as engine:
        started = await engine.start(engine.providers["stub"], request())
        with anyio.fail_after(3):
            task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.FAILED and task.error.code == "unavailable"
    assert "safe to submit again" in task.error.message
    assert gateway.created == 0 and len(gateway.keys) > 2


async def test_retry_after_is_honoured_and_capped(make_engine, gateway):
    gateway.submit_plan = [RateLimited("slow down", status=429, sent=False, retry_after=3600)]
    async with make_engine(timing={"submit_budget": 2.0, "retry_after_cap": 0.3}) as engine:
        before = anyio.current_time()
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
        elapsed = anyio.current_time() - before
    assert task.status is TaskStatus.SUCCEEDED
    assert 0.3 <= elapsed < 2.0


async def test_retry_after_beyond_the_budget_fails_at_once(make_engine, gateway):
    gateway.submit_plan = [RateLimited("slow down", status=429, sent=False, retry_after=30)]
    async with make_engine(timing={"submit_budget": 1.0, "retry_after_cap": 60}) as engine:
        started = await engine.start(engine.providers["stub"], request())
        with anyio.fail_after(1):
            task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.FAILED and task.error.code == "rate_limited"
    assert gateway.keys and len(gateway.keys) == 1


@pytest.mark.parametrize("error", [
    InvalidRequest("duration must be 5 or 10", status=400),
    AuthError("key refused", status=401, sent=False),
    QuotaError("no credit", status=402, sent=False),
])
async def test_definitive_rejections_fail_without_retry(make_engine, gateway, error):
    gateway.submit_plan = [error]
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.FAILED and task.error.code == error.code
    assert str(error) in task.error.message and "nothing was billed" in task.error.message
    assert len(gateway.keys) == 1 and gateway.created == 0


@pytest.mark.parametrize("step", [
    ("after", TransportFailure("connection reset after send", sent=True)),
    ("after", bad_gateway()),
    ("after", UpstreamError("stub answered HTTP 504", status=504, sent=True)),
    ("after", BadResponse("not JSON", sent=True)),
    ("after", RuntimeError("adapter bug")),
    TransportFailure("read timeout", sent=True),  # ambiguous although nothing was created: we cannot know
])
async def test_ambiguous_failures_become_unknown_and_are_never_resubmitted(make_engine, gateway, step):
    gateway.submit_plan = [step]
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 2)
        await anyio.sleep(0.2)
        again = await engine.get(started.task.task_id)
    for t in (task, again):
        assert t.status is TaskStatus.UNKNOWN and t.error.code == "submit_ambiguous"
        assert "NOT sent again" in t.error.message and "billed twice" in t.error.message
    assert len(gateway.keys) == 1  # exactly one submit, whatever happened


async def test_ambiguous_submit_is_reconciled_by_idempotency_key(make_engine, gateway):
    provider = FindingProvider(gateway)
    gateway.submit_plan = [("after", bad_gateway())]
    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request(), idempotency_key="rec-1")
        task = await engine.wait(started.task.task_id, 5)
        events = await engine.ledger.events(task.task_id)
    assert task.status is TaskStatus.SUCCEEDED and task.upstream_task_id in gateway.jobs
    assert gateway.created == 1 and len(gateway.keys) == 1
    assert any(e["detail"] == "reconciled by idempotency key" for e in events)


async def test_ambiguous_submit_with_a_lookup_keeps_asking_until_the_job_appears(make_engine, gateway):
    provider = FindingProvider(gateway)
    gateway.submit_plan = [TransportFailure("read timeout", sent=True)]  # nothing created yet...
    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request(), idempotency_key="late-1")
        task = await engine.wait(started.task.task_id, 0.3)
        assert task.status is TaskStatus.UNKNOWN and task.error.code == "submit_ambiguous"
        gateway.create("late-1")  # ...then the gateway's index catches up
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and gateway.created == 1 and len(gateway.keys) == 1


async def test_wait_is_bounded_while_the_submit_is_still_in_flight(make_engine, gateway):
    gateway.submit_plan = ["hang"]
    async with make_engine(timing={"shutdown_grace": 0.1}) as engine:
        started = await engine.start(engine.providers["stub"], request())
        before = anyio.current_time()
        task = await engine.wait(started.task.task_id, 0.3)
        assert anyio.current_time() - before < 0.45
        assert task.status is TaskStatus.UNKNOWN and task.error.code == "submitting"
        assert "still in flight" in task.error.message.lower()
    # closing the engine mid-submit records an honest outcome, never a dangling `submitting`
    row = await engine.ledger.get(started.task.task_id)
    assert row.state == "unknown" and row.error_code == "submit_interrupted"


async def test_start_returns_at_once_even_if_the_gateway_is_slow(make_engine, gateway):
    gateway.submit_plan = ["hang"]
    async with make_engine(timing={"shutdown_grace": 0.0}) as engine:
        with anyio.fail_after(0.5):
            started = await engine.start(engine.providers["stub"], request())
    assert started.task.status is TaskStatus.UNKNOWN


async def test_keys_never_reach_the_ledger(make_engine, gateway, settings):
    secret = "sk-live-SENTINEL-0123456789"
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request(
            options={"api_key": secret, "cfg_scale": 0.5},
            first_frame={"url": "data:image/png;base64," + "A" * 200_000}))
        await engine.wait(started.task.task_id, 5)
    if settings.database_url is None:
        raw = b"".join(p.read_bytes() for p in settings.ledger_path.parent.glob("tasks.sqlite3*"))
        assert settings.ledger_path.stat().st_size < 200_000
    else:  # every stored value, as text
        raw = repr(ledger_sql(settings, "SELECT * FROM tasks") + ledger_sql(settings, "SELECT * FROM events")).encode()
        assert len(raw) < 200_000
    assert secret.encode() not in raw
    assert b"A" * 1000 not in raw  # the inline image is stored as a digest, not as bytes


async def test_submit_runs_in_the_engine_not_in_the_callers_scope(make_engine, gateway):
    async with make_engine() as engine:
        with anyio.CancelScope() as scope:
            started = await engine.start(engine.providers["stub"], request())
            scope.cancel()
            await anyio.sleep(1)
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and gateway.created == 1


async def test_other_gateway_and_unknown_task(make_engine, gateway):
    async with make_engine() as engine:
        assert await engine.get("vg_" + "0" * 32) is None
        with pytest.raises(LookupError):
            await engine.wait("vg_" + "0" * 32, 1)
        assert await engine.list() == []


async def test_failed_job_reports_the_gateways_reason(make_engine, gateway):
    gateway.fail_next = "content policy"
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.FAILED and task.error.code == "boom"
    assert "content policy" in task.error.message


async def test_stub_gateway_created_count_is_sane():
    gw = StubGateway()
    gw.create(None)
    assert gw.created == 1


async def test_a_gateway_naming_an_already_followed_job_is_not_double_counted(make_engine, gateway):
    class Stubborn(StubProvider):
        async def submit(self, request, *, idempotency_key=None, info=None):  # always answers with the same job id
            if "up_same" not in gateway.jobs:
                job = gateway.create(None)
                job.id = "up_same"
                gateway.jobs = {"up_same": job}
            return TaskSnapshot(status=TaskStatus.QUEUED, upstream_id="up_same")

    provider = Stubborn(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        first = await engine.start(provider, request("one"))
        second = await engine.start(provider, request("two"))
        a = await engine.wait(first.task.task_id, 5)
        b = await engine.wait(second.task.task_id, 5)
    assert a.status is TaskStatus.SUCCEEDED and a.upstream_task_id == "up_same"
    assert b.status is TaskStatus.UNKNOWN and b.error.code == "duplicate_upstream" and b.upstream_task_id is None
