"""Failover through the real adapters over HTTP: OrcaRouter first, OctopusX second, both fakes running new-api's
rules. Every failure that provably created nothing moves the job to OctopusX (one upstream job in all); every
ambiguous one stays `unknown` on OrcaRouter and never reaches OctopusX."""

from __future__ import annotations

import httpx2
import pytest
from fakes.engine_stubs import FAST
from fakes.faults import FaultTransport, HttpFault, HttpFaults
from fakes.gateways import Timeline, fake_for
from pydantic import SecretStr

from providers.base import TaskStatus, VideoRequest
from providers.registry import GatewayConfig, build
from server.engine.core import Engine
from server.engine.health import Health
from server.engine.routing import choose, resolve
from server.engine.schedule import Timing
from server.settings import parse_policy

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-FAILOVER-31337"

MOVES_ON = {  # (HTTP fault, transport fault, fake setting) on OrcaRouter's submit
    "connect refused": (None, "connect", None),
    "connect timeout": (None, "connect_timeout", None),
    "pool timeout": (None, "pool_timeout", None),
    "429": (HttpFault(429, retry_after="30"), None, None),
    "503 overloaded": (HttpFault(503), None, None),
    "503 model_not_found": (None, None, "serves_nothing"),
    "403 insufficient_user_quota": (None, None, "out_of_quota"),
    "402": (HttpFault(402), None, None),
    "400": (HttpFault(400), None, None),
    "401": (HttpFault(401), None, None),
    "500 build_request_failed": (None, None, "build_request_failed"),  # new-api refunds it: nothing went upstream
}
AMBIGUOUS = {
    "502 before create": (HttpFault(502), None, 0),
    "502 after create": (HttpFault(502, after=True), None, 1),
    "500 after create": (HttpFault(500, after=True), None, 1),
    "504 after create": (HttpFault(504, after=True), None, 1),
    "reset before response": (None, "reset_before", 0),
    "write error": (None, "write_error", 0),
    "created then dropped": (None, "drop_after", 1),
    "created then read timeout": (None, "timeout_after", 1),
}


async def run(settings, *, http=None, transport=None, setting=None):
    first = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.05))
    second = fake_for("octopusx", api_key=KEY, timeline=Timeline(seconds=0.05))
    if setting == "serves_nothing":
        first.serves = set()
    elif setting == "out_of_quota":
        first.out_of_quota = True
    elif setting == "build_request_failed":
        first.inject(500, route="submit", code="build_request_failed")
    faulty = HttpFaults(first)
    if http is not None:
        faulty.add("submit", http)
    plan = [transport] if transport else []

    def rule(request):
        return plan.pop(0) if request.method == "POST" and plan else None

    mounts = {first.base_url: FaultTransport(httpx2.ASGITransport(app=faulty), rule),
              second.base_url: httpx2.ASGITransport(app=second)}
    async with httpx2.AsyncClient(mounts=mounts, timeout=2.0) as client:
        providers = {"orcarouter": build("orcarouter", client, GatewayConfig(first.base_url, SecretStr(KEY))),
                     "octopusx": build("octopusx", client, GatewayConfig(second.base_url, SecretStr(KEY)))}
        resolved = resolve(providers, "kling-v3-omni")
        route = choose(resolved, VideoRequest(model=resolved.name, prompt="a heron lifting off", duration=5),
                       policy=parse_policy("prefer:orcarouter"), health=Health())
        timing = Timing.from_settings(settings, **FAST)
        async with Engine(settings, providers, client, timing=timing, trusted_hosts=frozenset()) as engine:
            started = await engine.start(route, VideoRequest(model=resolved.name, prompt="a heron lifting off",
                                                             duration=5), idempotency_key="key-1")
            task = await engine.wait(started.task.task_id, 5)
            row = await engine.ledger.get(task.task_id)
    return first, second, task, row


@pytest.mark.parametrize("name", list(MOVES_ON))
async def test_a_failure_that_created_nothing_moves_the_job_to_the_second_gateway(settings, name):
    http, transport, setting = MOVES_ON[name]
    first, second, task, row = await run(settings, http=http, transport=transport, setting=setting)
    assert task.status is TaskStatus.SUCCEEDED, task.error
    assert (first.created, second.created) == (0, 1) and len(second.submits) == 1
    assert task.provider == "octopusx" and task.model == "octopusx/Kling-3.0-Omni"
    assert second.submits[0].headers.get("idempotency-key") == "key-1"  # the same key on the second gateway
    assert task.route["tried"][0]["gateway"] == "orcarouter"
    assert task.cost is not None and task.cost.estimate_usd == row.cost_usd == pytest.approx(0.42)  # OctopusX's
    assert KEY not in (row.route_json or "") and KEY not in task.model_dump_json()


@pytest.mark.parametrize("name", list(AMBIGUOUS))
async def test_an_ambiguous_submit_stays_unknown_on_the_first_gateway(settings, name):
    http, transport, created = AMBIGUOUS[name]
    first, second, task, _ = await run(settings, http=http, transport=transport)
    assert task.status is TaskStatus.UNKNOWN and task.error.code == "submit_ambiguous"
    assert first.created == created and second.requests == []
    assert task.provider == "orcarouter" and "NOT sent again" in task.error.message
