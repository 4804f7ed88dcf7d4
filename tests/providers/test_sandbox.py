"""The keyless sandbox, end to end through its embedded gateway: lifecycle, markers, restart safety, the MP4."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import httpx2
import pytest

from providers.base import MediaRef, TaskStatus, VideoRequest
from providers.errors import InvalidRequest, NotFound
from providers.registry import SPECS, GatewayConfig, build, http_mounts
from providers.sandbox import HOST, Sandbox
from providers.sandbox_gateway import Job
from server.media import probe

pytestmark = pytest.mark.anyio


def kling(prompt: str = "a koi pond in the rain", **fields) -> VideoRequest:
    return VideoRequest(model="kling-sim", prompt=prompt, duration=5, aspect_ratio="16:9", **fields)


async def watch(provider: Sandbox, upstream_id: str, *, timeout: float = 10) -> list:
    seen = []
    with anyio.fail_after(timeout):
        while True:
            snapshot = await provider.get(upstream_id)
            seen.append(snapshot)
            if snapshot.status.terminal:
                return seen
            await anyio.sleep(0.03)


async def test_queued_then_running_with_rising_progress_then_an_mp4(tmp_path):
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=1.0)
        assert provider.sandbox is True
        accepted = await provider.submit(kling(first_frame=MediaRef(url="data:image/png;base64,AAAA")))
        assert accepted.status is TaskStatus.QUEUED and accepted.upstream_id.startswith("sbx_")
        seen = await watch(provider, accepted.upstream_id)
        statuses = [s.status for s in seen]
        assert statuses[0] is TaskStatus.QUEUED and statuses[-1] is TaskStatus.SUCCEEDED
        running = [s.progress for s in seen if s.status is TaskStatus.RUNNING]
        assert len(running) >= 3 and running == sorted(running) and running[0] < running[-1] < 100
        done = seen[-1]
        assert done.progress == 100 and httpx2.URL(done.video_url).host == HOST
        bodies = set()
        for url, headers in ((done.video_url, {}), provider.content_request(done.upstream_id)):
            response = await client.get(url, headers=headers)
            assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
            bodies.add(response.content)
        (mp4,) = bodies  # both routes serve the same file
        assert mp4[4:8] == b"ftyp" and len(mp4) < 120_000
        (tmp_path / "clip.mp4").write_bytes(mp4)
        facts = probe.inspect(tmp_path / "clip.mp4", poster=False)
        assert (facts.duration_s, facts.width, facts.height, facts.has_audio) == (5.0, 640, 360, False)


async def test_fail_marker_fails_with_sandbox_failure():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=0.3)
        accepted = await provider.submit(kling("a storm at sea [FAIL]"))
        done = (await watch(provider, accepted.upstream_id))[-1]
        assert done.status is TaskStatus.FAILED and done.error_code == "sandbox_failure"
        assert "[fail]" in done.error_message and done.video_url is None


async def test_unknown_marker_reports_unknown_then_succeeds():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=0.6)
        accepted = await provider.submit(kling("fog [unknown]"))
        seen = await watch(provider, accepted.upstream_id)
        assert TaskStatus.UNKNOWN in [s.status for s in seen] and seen[-1].status is TaskStatus.SUCCEEDED


async def test_slow_and_stuck_markers():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=2.0)
        slow = await provider.submit(kling("snails [slow]"))
        assert Job.parse(slow.upstream_id).job_ms == 6000
        stuck = await provider.submit(kling("traffic [stuck]"))
        job = Job.parse(stuck.upstream_id)
        assert job.state(job.created_ms + 10 * job.job_ms) == ("IN_PROGRESS", 50)


async def test_a_new_instance_polls_a_task_another_created():
    """Stateless gateway: a restarted server (new client, new app, new adapter) still follows the task."""
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as first:
        upstream_id = (await Sandbox(first, seconds=0.4).submit(kling())).upstream_id
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as second:
        other = Sandbox(second, seconds=30)  # its own job length does not matter for existing tasks
        done = (await watch(other, upstream_id))[-1]
        assert done.status is TaskStatus.SUCCEEDED and done.upstream_id == upstream_id
        with pytest.raises(NotFound):
            await other.get("sbx_not_a_real_id")


async def test_idempotency_key_returns_the_same_task():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=5)
        a = await provider.submit(kling(), idempotency_key="key-1")
        b = await provider.submit(kling(), idempotency_key="key-1")
        c = await provider.submit(kling(), idempotency_key="key-2")
        assert a.upstream_id == b.upstream_id != c.upstream_id
        found = await provider.find("key-1")  # the engine's lookup after an ambiguous submit
        assert found is not None and found.upstream_id == a.upstream_id and found.status is TaskStatus.QUEUED
        assert await provider.find("never-used") is None


async def test_the_listing_gives_each_job_since_a_time_with_its_model_and_prompt():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client, seconds=5)
        before = await provider.submit(kling("first"))
        await anyio.sleep(0.05)  # `since` is compared in milliseconds
        since = datetime.now(UTC)
        after = await provider.submit(VideoRequest(model="veo-sim", prompt="second", duration=8))
        listed = await provider.list_tasks(since)
        everything = await provider.list_tasks(datetime.fromtimestamp(0, UTC))
    assert Sandbox.task_listing
    assert [(s.upstream_id, s.model, s.prompt) for s in listed] == [(after.upstream_id, "veo-sim", "second")]
    assert [s.upstream_id for s in everything] == [before.upstream_id, after.upstream_id]
    assert listed[0].created_at is not None and listed[0].status is TaskStatus.QUEUED


async def test_validation_is_real():
    async with httpx2.AsyncClient(mounts=Sandbox.mounts()) as client:
        provider = Sandbox(client)
        with pytest.raises(InvalidRequest, match="kling-sim on Sandbox takes aspect_ratio 16:9, 9:16 or 1:1"):
            await provider.submit(VideoRequest(model="kling-sim", prompt="x", aspect_ratio="21:9"))
        with pytest.raises(InvalidRequest, match="generates audio only at resolution 1080p"):
            await provider.submit(VideoRequest(model="kling-sim", prompt="x", audio=True))
        with pytest.raises(InvalidRequest, match=r"has no model 'kling'\. Its models: kling-sim, veo-sim"):
            await provider.submit(VideoRequest(model="kling", prompt="x"))


async def test_wired_through_the_registry_like_the_server_does():
    config = GatewayConfig(SPECS["sandbox"].default_base_url, None, {"seconds": 0.0})
    async with httpx2.AsyncClient(mounts=http_mounts({"sandbox": config})) as client:
        provider = build("sandbox", client, config)
        accepted = await provider.submit(VideoRequest(model="veo-sim", prompt="x", duration=4, seed=3))
        done = await provider.get(accepted.upstream_id)
        assert done.status is TaskStatus.SUCCEEDED and provider.sandbox
        assert Sandbox.capabilities.trusted_hosts == {HOST}
