"""Adoption by the gateway's own task id, and reconciliation of `unknown` tasks against a task listing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes.engine_stubs import StubProvider, request

from providers.base import TaskSnapshot, TaskStatus
from providers.errors import NotFound
from server.ledger import adoption
from server.tasks import AdoptError

pytestmark = pytest.mark.anyio


class AdoptableProvider(StubProvider):
    """A stub gateway whose jobs say their model, prompt and creation time, and that 404s on ids it never made."""

    async def submit(self, req, *, idempotency_key=None, info=None):
        snap = await super().submit(req, idempotency_key=idempotency_key)
        self.gw.jobs[snap.upstream_id].prompt = req.prompt  # type: ignore[attr-defined]
        return snap

    async def get(self, upstream_id: str) -> TaskSnapshot:
        if upstream_id not in self.gw.jobs:
            raise NotFound("stub answered HTTP 404", provider=self.id, status=404)
        return self._described(await super().get(upstream_id))

    def _described(self, snap: TaskSnapshot) -> TaskSnapshot:
        job = self.gw.jobs[snap.upstream_id]
        return snap.model_copy(update={"model": "stub-1", "prompt": getattr(job, "prompt", None),
                                       "created_at": datetime.fromtimestamp(job.created, UTC)})


class ListingProvider(AdoptableProvider):
    task_listing = True  # declared: the engine reconciles unknown tasks against list_tasks

    async def list_tasks(self, since: datetime) -> list[TaskSnapshot]:
        return [self._described(self.gw.snapshot(job)) for job in self.gw.jobs.values()
                if job.created >= since.timestamp()]


async def _lost_submit(engine, provider, prompt="a cat surfing", key=None):
    """A submit that reached the gateway but whose answer never came back: the task ends `unknown`."""
    provider.gw.submit_plan.append(("after", ConnectionResetError("reset after send")))
    started = await engine.start(provider, request(prompt), idempotency_key=key)
    task = await engine.wait(started.task.task_id, 5)
    assert task.status is TaskStatus.UNKNOWN and task.upstream_task_id is None, task
    return task


async def test_adopting_the_gateway_id_attaches_it_to_the_unknown_task_and_delivers_the_video(
        make_engine, gateway, downloader):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        lost = await _lost_submit(engine, provider)
        assert "upstream_task_id" in lost.error.message and "videogen-mcp adopt stub" in lost.error.message
        (job_id,) = gateway.jobs
        adopted = await engine.adopt(provider, job_id)
        assert adopted.task_id == lost.task_id and adopted.upstream_task_id == job_id
        done = await engine.wait(lost.task_id, 5)
        again = await engine.adopt(provider, job_id)
    assert done.status is TaskStatus.SUCCEEDED and done.local_path, done
    assert again.task_id == lost.task_id
    assert gateway.created == 1 and len(gateway.keys) == 1  # one paid job, never resubmitted
    assert downloader.calls and downloader.calls[-1][0].endswith(f"{job_id}.mp4")


async def test_an_id_the_gateway_does_not_know_is_not_found_and_records_nothing(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        with pytest.raises(AdoptError, match="has no task 'up_nope'; nothing was recorded"):
            await engine.adopt(provider, "up_nope")
        assert await engine.list() == []


async def test_a_job_made_elsewhere_becomes_a_new_task_with_the_gateways_model(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    job = gateway.create(None)  # submitted from the gateway's console, not through this server
    async with make_engine(providers={"stub": provider}) as engine:
        task = await engine.adopt(provider, job.id)
        done = await engine.wait(task.task_id, 5)
        tasks = await engine.list()
    assert task.model == "stub/stub-1" and task.upstream_task_id == job.id
    assert done.status is TaskStatus.SUCCEEDED and [t.task_id for t in tasks] == [task.task_id]


async def test_a_named_task_that_follows_another_job_is_refused(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        started = await engine.start(provider, request())
        first = await engine.wait(started.task.task_id, 5)
        other = gateway.create(None)
        with pytest.raises(AdoptError, match="already follows gateway job"):
            await engine.adopt(provider, other.id, task_id=first.task_id)
        assert await adoption.by_upstream(engine.ledger, "stub", other.id) is None


async def test_with_two_matching_unknown_tasks_only_a_named_one_is_attached(make_engine, gateway):
    provider = AdoptableProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        a = await _lost_submit(engine, provider, "same words", key="k1")
        b = await _lost_submit(engine, provider, "same words", key="k2")
        first, second = gateway.jobs
        guessed = await engine.adopt(provider, first)  # both could be its task: never guess, record it apart
        named = await engine.adopt(provider, second, task_id=b.task_id)
        still = await engine.get(a.task_id)
    assert guessed.task_id not in (a.task_id, b.task_id) and guessed.upstream_task_id == first
    assert named.task_id == b.task_id and named.upstream_task_id == second
    assert still.status is TaskStatus.UNKNOWN and still.upstream_task_id is None


async def test_reconciliation_adopts_the_one_listed_job_that_matches(make_engine, gateway):
    provider = ListingProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        provider.gw.submit_plan.append(("after", ConnectionResetError("reset after send")))
        started = await engine.start(provider, request("a lighthouse"))
        other = gateway.create(None)  # someone else's job at the same time, with another prompt: not a candidate
        other.prompt = "a harbour"  # type: ignore[attr-defined]
        done = await engine.wait(started.task.task_id, 5)
    assert done.status is TaskStatus.SUCCEEDED and done.upstream_task_id in gateway.jobs, done
    assert len(gateway.keys) == 1


async def test_reconciliation_leaves_an_ambiguous_match_alone(make_engine, gateway):
    provider = ListingProvider(gateway)
    async with make_engine(providers={"stub": provider}) as engine:
        provider.gw.submit_plan.append(("after", ConnectionResetError("reset after send")))
        started = await engine.start(provider, request("a lighthouse"))
        twin = gateway.create(None)
        twin.prompt = "a lighthouse"  # type: ignore[attr-defined]  # two listed jobs could be ours
        task = await engine.wait(started.task.task_id, 1.5)
        row = await engine.ledger.get(started.task.task_id)
    assert task.status is TaskStatus.UNKNOWN and row.upstream_task_id is None, task
    assert gateway.created == 2 and len(gateway.keys) == 1
