"""The engine per principal: a task is invisible to every other principal (get, wait, list, adoption), and the same
idempotency key from two principals is two gateway jobs even on a gateway that dedupes by Idempotency-Key."""

from __future__ import annotations

import pytest
from fakes.engine_stubs import make_row, request

from server.engine.polling import upstream_key
from server.tasks import DEFAULT_PRINCIPAL, AdoptError, TaskNotFound

from test_engine_adopt import AdoptableProvider

pytestmark = pytest.mark.anyio


async def test_a_task_is_invisible_to_other_principals(make_engine):
    async with make_engine() as engine:
        p = engine.providers["stub"]
        alice = (await engine.start(p, request(), principal="alice")).task
        done = await engine.wait(alice.task_id, 5, principal="alice")
        assert done.status.terminal
        assert await engine.get(alice.task_id, principal="bob") is None
        with pytest.raises(TaskNotFound):
            await engine.wait(alice.task_id, 0, principal="bob")
        with pytest.raises(TaskNotFound):  # also while this process holds the task's watch (a waiter is on it)
            await engine.wait(alice.task_id, 1, principal="bob")
        assert await engine.list(10, principal="bob") == []
        assert [t.task_id for t in await engine.list(10, principal="alice")] == [alice.task_id]
        assert (await engine.get(alice.task_id)) is not None  # unscoped: the operator's CLI


async def test_one_key_from_two_principals_is_two_jobs_even_where_the_gateway_dedupes_keys(make_engine, gateway):
    gateway.honour_keys = True
    async with make_engine() as engine:
        p = engine.providers["stub"]
        a = await engine.start(p, request(), idempotency_key="job-1", principal="alice")
        b = await engine.start(p, request(), idempotency_key="job-1", principal="bob")
        d = await engine.start(p, request(), idempotency_key="job-1")
        again = await engine.start(p, request(), idempotency_key="job-1", principal="bob")
        for task in (a, b, d):
            await engine.wait(task.task.task_id, 5)
    assert len({a.task.task_id, b.task.task_id, d.task.task_id}) == 3
    assert again.reused and again.task.task_id == b.task.task_id and a.task.task_id not in again.reason
    assert gateway.created == 3 and len(set(gateway.keys)) == 3
    assert "job-1" in gateway.keys  # the default principal's key goes out as it always did
    assert upstream_key("job-1", "vg_x", "alice") != upstream_key("job-1", "vg_x", "bob")
    assert upstream_key("job-1", "vg_x", DEFAULT_PRINCIPAL) == "job-1"


async def test_adoption_stays_within_a_principal(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        alice = (await engine.start(provider, request(), principal="alice")).task
        alice = await engine.wait(alice.task_id, 5, principal="alice")
        with pytest.raises(AdoptError) as refused:  # bob names alice's job: refused without naming her task
            await engine.adopt(provider, alice.upstream_task_id, principal="bob")
        assert alice.task_id not in str(refused.value)
        again = await engine.adopt(provider, alice.upstream_task_id, principal="alice")
        assert again.task_id == alice.task_id
        own = (await provider.submit(request("bob's own"), idempotency_key="x")).upstream_id
        with pytest.raises(AdoptError):  # and cannot attach a job to alice's task by naming it
            await engine.adopt(provider, own, task_id=alice.task_id, principal="bob")
        adopted = await engine.adopt(provider, own, principal="bob")
        assert await engine.get(adopted.task_id, principal="alice") is None
        assert await engine.get(adopted.task_id, principal="bob") is not None


async def test_the_operator_adopts_into_any_principals_unknown_task_and_it_stays_theirs(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        lost, _ = await engine.ledger.create(make_row(state="unknown", principal="alice"), dedupe_window=0)
        job = (await provider.submit(request(), idempotency_key="k")).upstream_id
        with pytest.raises(AdoptError):  # bob cannot attach a job to it
            await engine.adopt(provider, job, task_id=lost.task_id, principal="bob")
        adopted = await engine.adopt(provider, job, task_id=lost.task_id)  # the CLI: `videogen-mcp adopt --task`
        assert adopted.task_id == lost.task_id
        assert await engine.get(lost.task_id, principal="alice") is not None
