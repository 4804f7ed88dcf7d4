"""Failover along a route, against two stub gateways: the next gateway only after a failure that provably created
nothing, in the same task and with the same idempotency key; never after an ambiguous submit."""

from __future__ import annotations

import sqlite3

import anyio
import pytest
from fakes.engine_stubs import StubGateway, StubProvider, bad_gateway, make_row, request

from providers.base import ModelInfo, TaskStatus
from providers.errors import (
    AuthError, BadResponse, InvalidRequest, ModelNotAvailable, QuotaError, RateLimited, TransportFailure, Unavailable,
    UpstreamError,
)
from server.engine.health import Health
from server.engine.routing import Candidate, Route


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

pytestmark = pytest.mark.anyio

PRE_SEND = [
    TransportFailure("connection refused", sent=False),
    TransportFailure("pool timeout", sent=False),
    Unavailable("overloaded", status=503, sent=False),
    RateLimited("slow down", status=429, sent=False, retry_after=30),
    ModelNotAvailable("a does not serve model stub-1", status=503),
    QuotaError("quota used up", status=403, sent=False),
    InvalidRequest("a rejected the duration", status=400),
    AuthError("key refused", status=401, sent=False),
]
AMBIGUOUS = [
    ("after", TransportFailure("connection reset after send", sent=True)),
    ("after", bad_gateway()),
    ("after", UpstreamError("a answered HTTP 504", status=504, sent=True)),
    ("after", BadResponse("not JSON", sent=True)),
    ("after", RuntimeError("adapter bug")),
    TransportFailure("read timeout", sent=True),  # nothing was created, but nobody can know that
    bad_gateway(),  # 502 before anything was created: just as unknowable
]


@pytest.fixture
def two(gateway):
    """Gateways a and b, both selling `stub-1`; a is first on the route."""
    other = StubGateway()
    a, b = StubProvider(gateway, provider_id="a"), StubProvider(other, provider_id="b")
    info = ModelInfo(name="stub-1")
    route = Route("stub-model", "stub-model", (Candidate(a, info), Candidate(b, info)), "test order", pinned=False)
    return a, b, route


@pytest.mark.parametrize("error", PRE_SEND, ids=lambda e: f"{e.code}-{e.message[:12]}")
async def test_a_pre_send_failure_moves_to_the_next_gateway_one_job_in_all(make_engine, two, error):
    a, b, route = two
    a.gw.submit_plan = [error]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request(), idempotency_key="k-7")
        task = await engine.wait(started.task.task_id, 5)
        events = await engine.ledger.events(task.task_id)
    assert task.status is TaskStatus.SUCCEEDED, task.error
    assert (a.gw.created, b.gw.created) == (0, 1)
    assert a.gw.keys == ["k-7"] and b.gw.keys == ["k-7"]  # one attempt each, the same idempotency key
    assert task.provider == "b" and task.model == "b/stub-1" and task.upstream_task_id in b.gw.jobs
    assert task.route["gateway"] == "b" and task.route["tried"][0]["gateway"] == "a"
    assert task.route["tried"][0]["code"] == error.code and "nothing was billed there" in task.route["note"]
    assert any("trying b" in (e["detail"] or "") for e in events)
    assert engine.health.pushed_back("a", "stub-1") or isinstance(error, InvalidRequest)


@pytest.mark.parametrize("step", AMBIGUOUS, ids=repr)
async def test_an_ambiguous_submit_never_reaches_the_next_gateway(make_engine, two, step):
    a, b, route = two
    a.gw.submit_plan = [step]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        task = await engine.wait(started.task.task_id, 2)
        await anyio.sleep(0.1)
    assert task.status is TaskStatus.UNKNOWN and task.error.code == "submit_ambiguous"
    assert "NOT sent again" in task.error.message
    assert len(a.gw.keys) == 1 and b.gw.keys == [] and b.gw.created == 0
    assert task.provider == "a" and task.route["gateway"] == "a"


async def test_the_ledger_names_the_next_gateway_before_it_is_tried(make_engine, two, settings):
    a, b, route = two
    a.gw.submit_plan = [ModelNotAvailable("a does not serve model stub-1", status=503)]
    seen = []

    def look(req, key):  # inside b's submit, before it answers: a second connection, as another process would
        if settings.database_url is None:
            conn = sqlite3.connect(settings.ledger_path)
            seen.append(conn.execute("SELECT provider, model, state FROM tasks").fetchall())
            conn.close()
        else:
            import psycopg

            with psycopg.connect(settings.database_url.get_secret_value()) as conn:
                seen.append([tuple(r) for r in conn.execute("SELECT provider, model, state FROM tasks").fetchall()])

    b.gw.on_submit = look
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        await engine.wait(started.task.task_id, 5)
    assert seen == [[("b", "b/stub-1", "submitting")]]


async def test_when_every_gateway_refuses_the_task_fails_naming_each(make_engine, two):
    a, b, route = two
    a.gw.submit_plan = [QuotaError("a: quota used up", status=403, sent=False)]
    b.gw.submit_plan = [ModelNotAvailable("b does not serve model stub-1", status=503)]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.FAILED and task.error.code == "model_not_available"
    assert "No gateway took stub-model" in task.error.message
    assert "a: quota used up" in task.error.message and "b does not serve" in task.error.message
    assert "nothing was billed" in task.error.message
    assert a.gw.created == b.gw.created == 0


async def test_the_last_gateway_keeps_the_retry_budget_the_first_moves_on_at_once(make_engine, two):
    a, b, route = two
    a.gw.submit_plan = [Unavailable("overloaded", status=503, sent=False)] * 5
    b.gw.submit_plan = [RateLimited("slow down", status=429, sent=False, retry_after=0.01)]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.provider == "b"
    assert len(a.gw.keys) == 1 and len(b.gw.keys) == 2 and b.gw.created == 1


async def test_a_pinned_provider_records_no_route(make_engine, gateway):
    async with make_engine() as engine:
        started = await engine.start(engine.providers["stub"], request())
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.route is None and task.model == "stub/stub-1"


async def test_each_gateway_is_handed_the_model_resolved_at_the_boundary(make_engine, two):
    a, b, route = two
    a.gw.submit_plan = [ModelNotAvailable("a does not serve model stub-1", status=503)]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        await engine.wait(started.task.task_id, 5)
    assert a.gw.infos == [route.candidates[0].info] and b.gw.infos == [route.candidates[1].info]


async def test_another_process_learns_the_gateways_health_from_the_ledger(make_engine, two):
    a, b, route = two
    a.gw.submit_plan = [QuotaError("quota used up", status=403, sent=False)]
    async with make_engine(providers={"a": a, "b": b}) as engine:
        started = await engine.start(route, request())
        await engine.wait(started.task.task_id, 5)
        elsewhere = Health()  # another server process's view, sharing the ledger file
        await elsewhere.refresh(engine.ledger)
        assert elsewhere.pushed_back("a", "stub-1") == "out of quota"
        assert elsewhere.pushed_back("b", "stub-1") is None
        b.gw.submit_plan = []
        a.gw.submit_plan = []
        pinned = await engine.start(a, request("a later job that a took"))  # a recovers: it took a job
        await engine.wait(pinned.task.task_id, 5)
        later = Health()
        await later.refresh(engine.ledger)
    assert later.pushed_back("a", "stub-1") is None


def test_learning_from_rows_never_shortens_what_this_process_knows():
    clock = Clock()
    health = Health(clock)
    health.failed("a", "m", Unavailable("overloaded", status=503, sent=False))
    health.failed("a", "m", Unavailable("overloaded", status=503, sent=False))  # 60 s now
    row = make_row(provider="a", model="a/m", state="failed", error_code="unavailable",
                   created_at=clock.now + 1, updated_at=clock.now + 1)
    health.learn([row])  # our own failure read back a moment later
    clock.now += 45
    assert health.pushed_back("a", "m") == "overloaded"
