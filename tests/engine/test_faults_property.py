"""Property: whatever faults hit the submits (HTTP and transport level, real OrcaRouter adapter, fake gateway), at
most one upstream task per logical submit, every created task is in the ledger, and no task that exists is `failed`.
VIDEOGEN_FAULT_REPORT=path writes the observed fault matrix as JSON; VIDEOGEN_FAULT_EXAMPLES sets the number of runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest
from fakes.engine_stubs import fast_settings
from fakes.faults import FaultTransport, HttpFault, HttpFaults
from fakes.gateways import GATEWAY_SHAPES, FakeGateway, Timeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from providers.base import VideoRequest
from providers.orcarouter import OrcaRouter
from server.engine.core import Engine
from server.engine.schedule import Timing

pytestmark = pytest.mark.anyio

PRE_SEND = {"connect", "connect_timeout", "pool_timeout", "429", "429ra", "503", "503ra"}  # retried
CREATED_THEN_LOST = {"drop_after", "timeout_after", "500after", "502after", "504after"}  # ambiguous, job exists
LOST_NOTHING_MADE = {"reset_before", "write_error", "502"}  # ambiguous to us, though no job exists
REJECTED = {"400", "402"}
FAULTS = sorted(PRE_SEND | CREATED_THEN_LOST | LOST_NOTHING_MADE | REJECTED)
HTTP = {"429": HttpFault(429), "429ra": HttpFault(429, retry_after="0"), "503": HttpFault(503),
        "503ra": HttpFault(503, retry_after="0"), "500after": HttpFault(500, after=True),
        "502after": HttpFault(502, after=True), "504after": HttpFault(504, after=True), "502": HttpFault(502),
        "400": HttpFault(400), "402": HttpFault(402)}
TIMING = dict(submit_budget=5.0, retry_base=0.0005, retry_cap=0.002, lease_ttl=2.0, follow_interval=0.01,
              poll_deadline=30.0, shutdown_grace=0.5)
STATS: dict[str, Counter] = defaultdict(Counter)
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # no fsync wait: 500 ledgers in seconds


class KeyedGateway(FakeGateway):
    """Remembers which Idempotency-Key created which task (what a gateway lookup by key would answer)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.by_key: dict[str | None, list[str]] = defaultdict(list)

    def _create(self, body):
        task = super()._create(body)
        self.by_key[self.requests[-1].headers.get("idempotency-key")].append(task.id)
        return task


class FindingOrca(OrcaRouter):
    gateway: KeyedGateway
    capabilities = replace(OrcaRouter.capabilities, find=True)  # declared, as every optional capability is

    async def find(self, idempotency_key: str):
        ids = self.gateway.by_key.get(idempotency_key)
        return await self.get(ids[0]) if ids else None


def expected(faults: list[str]) -> tuple[str, int]:
    """(outcome, tasks created) of one logical submit meeting these faults on its successive attempts."""
    for fault in faults:
        if fault in PRE_SEND:
            continue
        if fault in REJECTED:
            return "failed", 0
        return "unknown", int(fault in CREATED_THEN_LOST)
    return "succeeded", 1


submits = st.lists(st.tuples(st.sampled_from([None, "key-a", "key-b"]),
                             st.lists(st.sampled_from(FAULTS), max_size=4)), min_size=1, max_size=3)


@pytest.fixture(scope="module", autouse=True)
def fault_report():
    yield
    if path := os.environ.get("VIDEOGEN_FAULT_REPORT"):
        Path(path).write_text(json.dumps({k: dict(v) for k, v in STATS.items()}, indent=1, sort_keys=True))


EXAMPLES = int(os.environ.get("VIDEOGEN_FAULT_EXAMPLES", "1000"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=submits, lookup=st.booleans())
async def test_no_duplicate_and_nothing_lost_under_random_faults(plan, lookup):
    await one_run(plan, lookup, {})


# A tenth of the runs on PostgreSQL: each one gets a fresh database, and the submit logic above it is the same.
@settings(max_examples=max(1, EXAMPLES // 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=submits, lookup=st.booleans())
async def test_no_duplicate_and_nothing_lost_under_random_faults_on_postgresql(postgres, plan, lookup):
    await one_run(plan, lookup, {"VIDEOGEN_DATABASE_URL": postgres.new_database()})


async def one_run(plan, lookup, env):
    gw = KeyedGateway(name="orcarouter", api_key="sk-prop", timeline=Timeline(seconds=0),
                      **GATEWAY_SHAPES["orcarouter"])
    app = HttpFaults(gw)
    queues: dict[str, list[str]] = {f"prompt {i}": list(faults) for i, (_, faults) in enumerate(plan)}

    def pop(body: bytes) -> str | None:
        queue = queues[json.loads(body)["prompt"]]
        return queue.pop(0) if queue else None

    def rule(request: httpx2.Request) -> str | None:
        if request.method != "POST":
            return None
        fault = pop(request.content)
        if fault in HTTP:
            app.add("submit", HTTP[fault])
            return None
        if fault is None:
            app.add("submit", None)
        return fault

    with tempfile.TemporaryDirectory(dir=SCRATCH) as home:
        conf = fast_settings(Path(home), **env)
        async with httpx2.AsyncClient(transport=FaultTransport(httpx2.ASGITransport(app=app), rule)) as c:
            provider = (FindingOrca if lookup else OrcaRouter)(c, base_url=gw.base_url, api_key=SecretStr("sk-prop"))
            provider.gateway = gw
            async with Engine(conf, {"orcarouter": provider}, c, timing=Timing.from_settings(conf, **TIMING)) as eng:
                started = []
                for i, (key, _) in enumerate(plan):
                    request = VideoRequest(model="kling/kling-v2-6", prompt=f"prompt {i}", duration=5)
                    started.append(await eng.start(provider, request, idempotency_key=key, download=False))
                # With a lookup, a job that never appears keeps being looked for: wait briefly for those.
                patience = {}
                for (_, faults), s in zip(plan, started, strict=True):
                    patience.setdefault(s.task.task_id, 0.05 if lookup and expected(faults) == ("unknown", 0) else 20)
                tasks = [await eng.wait(s.task.task_id, patience[s.task.task_id]) for s in started]
                for i, task in enumerate(tasks):  # a loaded machine may still be submitting: let it land
                    for _ in range(200):
                        if not (task.error is not None and task.error.code == "submitting"):
                            break
                        task = await eng.wait(task.task_id, 0.05)
                    tasks[i] = task
                rows = {t.task_id: await eng.ledger.get(t.task_id) for t in tasks}

    # At most one upstream task per logical submit (per Idempotency-Key the gateway saw).
    assert all(len(ids) <= 1 for ids in gw.by_key.values()), dict(gw.by_key)
    # Every created task is known to the ledger: followed by its id, or `unknown` (never `failed`).
    for upstream_key, ids in gw.by_key.items():
        owners = [r for r in rows.values() if upstream_key in (r.idempotency_key, r.task_id)]
        assert len(owners) == 1
        row = owners[0]
        assert row.state != "failed"
        assert row.upstream_task_id == ids[0] or (not lookup and row.error_code == "submit_ambiguous")
    claimed: dict[str, str] = {}
    for (key, faults), start, task in zip(plan, started, tasks, strict=True):
        if key is not None and key in claimed:  # same key again: the same task, nothing sent
            assert start.reused and task.task_id == claimed[key]
            STATS["reused key"]["runs"] += 1
            continue
        if key is not None:
            claimed[key] = task.task_id
        outcome, created = expected(faults)
        upstream_key = key or task.task_id
        assert len(gw.by_key.get(upstream_key, [])) == created
        reconciled = outcome == "unknown" and created and lookup
        if reconciled:
            outcome = "succeeded"  # found again through the gateway's lookup by key
        assert task.status.value == outcome, (faults, task)
        if outcome == "unknown":
            assert task.error.code == "submit_ambiguous"
        label = "+".join(faults) or "clean"
        stat = STATS[label if len(faults) <= 1 else f"{len(faults)} faults"]
        stat["runs"] += 1
        stat["created"] += created
        stat["duplicates"] += max(0, len(gw.by_key.get(upstream_key, [])) - 1)
        stat[f"status {task.status.value}"] += 1
        stat["reconciled by lookup"] += int(reconciled)
