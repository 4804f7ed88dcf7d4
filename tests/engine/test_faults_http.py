"""Faults at the HTTP, transport and TCP level, through the real OrcaRouter adapter and the fake gateway.

Each case asserts how many upstream tasks were created, how many submits the gateway saw, and the final status.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from fakes.engine_stubs import FAST
from fakes.faults import FaultProxy, FaultTransport, HttpFault, HttpFaults
from fakes.gateways import Timeline, fake_for, serve_on_loopback
from pydantic import SecretStr

from providers.base import TaskStatus, VideoRequest
from providers.orcarouter import OrcaRouter
from server.engine.core import Engine
from server.engine.schedule import Timing

pytestmark = pytest.mark.anyio
KEY = "sk-orca-SENTINEL-4242424242"
REQUEST = VideoRequest(model="kling/kling-v2-6", prompt="a red fox in the snow", duration=5)


@asynccontextmanager
async def engine_for(settings, client, base_url, **timing):
    provider = OrcaRouter(client, base_url=base_url, api_key=SecretStr(KEY))
    t = Timing.from_settings(settings, **{**FAST, **timing})
    async with Engine(settings, {"orcarouter": provider}, client, timing=t) as engine:
        yield engine, provider


async def run(settings, *, http=(), transport=(), poll_http=(), client_timeout=2.0, wait=5.0, **timing):
    """One logical submit through HTTP-level and transport-level faults (consumed one per submit attempt)."""
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.1))
    app = HttpFaults(gw)
    app.add("submit", *http)
    app.add("poll", *poll_http)
    plan = list(transport)
    attempts = []

    def rule(request):
        if request.method != "POST":
            return None
        attempts.append(request.headers.get("idempotency-key"))
        return plan.pop(0) if plan else None

    mounts = {gw.base_url: FaultTransport(httpx2.ASGITransport(app=app), rule)}
    async with httpx2.AsyncClient(mounts=mounts, timeout=client_timeout) as client:
        async with engine_for(settings, client, gw.base_url, **timing) as (engine, provider):
            started = await engine.start(provider, REQUEST)
            task = await engine.wait(started.task.task_id, wait)
            row = await engine.ledger.get(task.task_id)
    assert len(set(attempts)) <= 1  # every attempt of one logical submit carries the same Idempotency-Key
    return gw, task, row, len(attempts)

CASES = {
    # HTTP answers that say no task was created: retried, one job in the end
    "429 Retry-After": dict(http=[HttpFault(429, retry_after="0.05")], expect=("succeeded", 1, 2)),
    "429 no Retry-After": dict(http=[HttpFault(429), HttpFault(429)], expect=("succeeded", 1, 3)),
    "503 Retry-After": dict(http=[HttpFault(503, retry_after="0")], expect=("succeeded", 1, 2)),
    "503 no Retry-After": dict(http=[HttpFault(503)], expect=("succeeded", 1, 2)),
    # definitive refusals: failed, nothing created, never retried
    "400": dict(http=[HttpFault(400)], expect=("failed", 0, 1)),
    "401": dict(http=[HttpFault(401)], expect=("failed", 0, 1)),
    "402": dict(http=[HttpFault(402)], expect=("failed", 0, 1)),
    # the gateway may have acted: unknown, never resubmitted
    "502 after create": dict(http=[HttpFault(502, after=True)], expect=("unknown", 1, 1)),
    "500 after create": dict(http=[HttpFault(500, after=True)], expect=("unknown", 1, 1)),
    "504 after create": dict(http=[HttpFault(504, after=True)], expect=("unknown", 1, 1)),
    "502 before create": dict(http=[HttpFault(502)], expect=("unknown", 0, 1)),
    # (a stall past the read timeout needs a real socket: see the TCP tests below; ASGITransport has no timeouts)
    # transport errors
    "connect refused x2": dict(transport=["connect", "connect"], expect=("succeeded", 1, 3)),
    "connect timeout": dict(transport=["connect_timeout"], expect=("succeeded", 1, 2)),
    "pool timeout": dict(transport=["pool_timeout"], expect=("succeeded", 1, 2)),
    "reset before response": dict(transport=["reset_before"], expect=("unknown", 0, 1)),
    "write error": dict(transport=["write_error"], expect=("unknown", 0, 1)),
    "created then dropped": dict(transport=["drop_after"], expect=("unknown", 1, 1)),
    "created then read timeout": dict(transport=["timeout_after"], expect=("unknown", 1, 1)),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_submit_fault_matrix(settings, name):
    case = dict(CASES[name])
    status, created, submits = case.pop("expect")  # submits: attempts that left the client
    gw, task, row, attempts = await run(settings, **case)
    assert (task.status.value, gw.created, attempts) == (status, created, submits)
    if status == "unknown":
        assert task.error.code == "submit_ambiguous" and "NOT sent again" in task.error.message
    if status == "succeeded":
        assert task.local_path and Path(task.local_path).read_bytes()[4:8] == b"ftyp"
        assert task.upstream_task_id in gw.tasks
    if status == "failed":
        assert "nothing was billed" in task.error.message
    assert KEY not in task.model_dump_json() and KEY not in row.request_json


async def test_pre_send_failures_past_the_budget_fail_with_nothing_created(settings):
    gw, task, _, attempts = await run(settings, http=[HttpFault(429, retry_after="0.05")] * 100, submit_budget=0.4)
    assert task.status is TaskStatus.FAILED and task.error.code == "rate_limited" and gw.created == 0
    assert "safe to submit again" in task.error.message and attempts > 2


async def test_failed_polls_are_retried_and_never_fail_the_task(settings):
    polls = [HttpFault(502), HttpFault(503), HttpFault(429, retry_after="0.01"), HttpFault(500)]
    gw, task, row, _ = await run(settings, poll_http=polls)
    assert task.status is TaskStatus.SUCCEEDED and task.warning is None and row.poll_failures == 0
    assert gw.created == 1


# ---- real TCP on loopback --------------------------------------------------------------------------------------------

@asynccontextmanager
async def loopback(settings, rule, *, client_timeout=2.0, stall=30.0, **timing):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.1))
    with serve_on_loopback(gw) as url:
        port = int(url.rsplit(":", 1)[1])
        async with FaultProxy(port, rule, stall=stall) as proxy:
            timeout = httpx2.Timeout(client_timeout, connect=1.0)
            async with httpx2.AsyncClient(timeout=timeout) as client:
                async with engine_for(settings, client, proxy.url, **timing) as (engine, provider):
                    yield gw, proxy, engine, provider


def first_post(fault):
    seen = []

    def rule(method, path):
        if method == "POST" and not seen:
            seen.append(1)
            return fault
        return None

    return rule


@pytest.mark.parametrize(("fault", "created"), [("reset", 0), ("drop_after", 1), ("stall_after", 1)])
async def test_tcp_faults_on_the_submit_give_unknown_never_a_resubmit(settings, fault, created):
    async with loopback(settings, first_post(fault), client_timeout=0.5) as (gw, proxy, engine, provider):
        started = await engine.start(provider, REQUEST)
        task = await engine.wait(started.task.task_id, 3)
        await anyio.sleep(0.2)
    assert task.status is TaskStatus.UNKNOWN and task.error.code == "submit_ambiguous"
    assert gw.created == created and len(gw.submits) == created
    assert [m for m, _, _ in proxy.log].count("POST") == 1


async def test_tcp_connection_refused_until_the_gateway_comes_up(settings):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.1))
    with serve_on_loopback(gw) as url:
        proxy = FaultProxy(int(url.rsplit(":", 1)[1]), lambda m, p: None)
        async with proxy:  # learn a free port, then close it: connects are refused until it opens again
            pass
        reopened = FaultProxy(proxy.upstream_port, lambda m, p: None, port=proxy.port)
        async with httpx2.AsyncClient(timeout=2.0) as client:
            async with engine_for(settings, client, proxy.url, submit_budget=3.0) as (engine, provider):
                started = await engine.start(provider, REQUEST)
                await anyio.sleep(0.3)
                assert gw.created == 0
                async with reopened:
                    task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and gw.created == 1 and len(gw.submits) == 1


async def test_tcp_faults_on_polls_and_a_real_download(settings):
    faults = iter(["reset", "drop_after", "reset"])

    def rule(method, path):
        return next(faults, None) if method == "GET" and "/content" not in path else None

    async with loopback(settings, rule) as (gw, proxy, engine, provider):
        started = await engine.start(provider, REQUEST)
        task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.SUCCEEDED and task.warning is None and gw.created == 1
    assert Path(task.local_path).read_bytes() == gw.content
