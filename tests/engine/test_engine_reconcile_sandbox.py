"""Reconciliation of `unknown` tasks over real HTTP: the engine, the sandbox adapter and its embedded gateway's task
listing (GET /v1/videos?since=), with the submit's answer lost after the gateway created the job."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import httpx2
import pytest

from fakes.faults import FaultTransport
from providers.base import TaskStatus, VideoRequest
from providers.sandbox import DEFAULT_BASE_URL, Sandbox
from providers.sandbox_gateway import build_app
from server.ledger import adoption

pytestmark = pytest.mark.anyio
EPOCH = datetime.fromtimestamp(0, UTC)


class LossyKeylessLine:
    """The line to the sandbox: once armed, the next submit arrives without its Idempotency-Key (as through a proxy
    that drops the header, or at a gateway that ignores it) and its answer is lost after the job was created, so the
    lookup by key finds nothing and only the task listing can tie the job to the task. Counts listing requests."""

    def __init__(self) -> None:
        self.lose_next_submit = False
        self.listings = 0

    def __call__(self, request: httpx2.Request) -> str | None:
        if request.method == "POST" and self.lose_next_submit:
            self.lose_next_submit = False
            del request.headers["Idempotency-Key"]
            return "drop_after"
        if request.method == "GET" and request.url.path == "/v1/videos" and "since" in request.url.params:
            self.listings += 1
        return None


@pytest.fixture
async def sandbox():
    line = LossyKeylessLine()
    transport = FaultTransport(httpx2.ASGITransport(app=build_app()), line)
    async with httpx2.AsyncClient(mounts={DEFAULT_BASE_URL: transport}) as client:
        yield Sandbox(client, seconds=0.3), line


def kling(prompt: str) -> VideoRequest:
    return VideoRequest(model="kling-sim", prompt=prompt, duration=5, aspect_ratio="16:9")


async def test_a_lost_sandbox_submit_is_reconciled_from_the_listing_to_one_succeeded_job(make_engine, sandbox):
    provider, line = sandbox
    async with make_engine(providers={"sandbox": provider}) as engine:
        other = await provider.submit(kling("a harbour at dawn"))  # someone else's job just before: not a candidate
        line.lose_next_submit = True
        started = await engine.start(provider, kling("a lighthouse in fog"), download=False)
        done = await engine.wait(started.task.task_id, 10)
        jobs = await provider.list_tasks(EPOCH)
    ours = [job for job in jobs if job.prompt == "a lighthouse in fog"]
    assert len(jobs) == 2 and len(ours) == 1  # one upstream job for our task, never submitted again
    assert done.status is TaskStatus.SUCCEEDED and done.upstream_task_id == ours[0].upstream_id != other.upstream_id
    assert line.listings >= 1 and not line.lose_next_submit


async def test_two_matching_sandbox_jobs_leave_the_unknown_task_alone(make_engine, sandbox):
    provider, line = sandbox
    async with make_engine(providers={"sandbox": provider}) as engine:
        twin = await provider.submit(kling("a lighthouse in fog"))  # the same words, made elsewhere: two candidates
        line.lose_next_submit = True
        started = await engine.start(provider, kling("a lighthouse in fog"), download=False)
        with anyio.fail_after(10):
            while line.listings < 3:  # the poller looked at the listing several times
                await anyio.sleep(0.05)
        task = await engine.get(started.task.task_id)
        jobs = await provider.list_tasks(EPOCH)
        followed = [await adoption.by_upstream(engine.ledger, "sandbox", job.upstream_id) for job in jobs]
    assert len(jobs) == 2 and twin.upstream_id in {job.upstream_id for job in jobs}
    assert task.status is TaskStatus.UNKNOWN and task.upstream_task_id is None, task
    assert followed == [None, None]  # neither job was adopted by any task
