"""Adapters over HTTP against every response variant: poll-route fallback, progress, cancel, URLs, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes.gateways import Timeline, fake_for
from pydantic import SecretStr

from providers.base import TaskStatus, VideoRequest
from providers.newapi import SHAPE_A, SHAPE_B
from providers.registry import adapter_class

pytestmark = pytest.mark.anyio
KEY = "sk-test"
MODELS = {"orcarouter": "kling/kling-v3", "omnirouters": "Kling-3.0", "octopusx": "Kling-3.0-Omni",
          "infinityblue": "kling-v2-5-turbo", "apimodels": "kling-v3"}


async def run(provider_id: str, *, timeline: Timeline, steps: list[float], **shape):
    """Submit once, then poll after advancing the fake clock by each step; return (snapshots, gateway)."""
    gw = fake_for(provider_id, api_key=KEY, **shape)
    gw.script(timeline)
    async with gw.client() as client:
        provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        accepted = await provider.submit(VideoRequest(model=MODELS[provider_id], prompt="a kite", duration=5))
        seen = []
        for step in steps:
            gw.advance(step)
            seen.append(await provider.get(accepted.upstream_id))
        return seen, gw, provider


@pytest.mark.parametrize("shape", ["A", "A_legacy", "A_kling", "A_ark", "simple", "flat"])
async def test_generations_view_variants(shape):
    seen, gw, _ = await run("orcarouter", timeline=Timeline(seconds=10, queued=2), steps=[0, 5, 10],
                            generations_shape=shape)
    assert [s.status for s in seen] == [TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED]
    assert seen[1].progress == 37 and seen[2].progress == 100
    assert seen[2].video_url == f"{gw.base_url}/files/{seen[2].upstream_id}.mp4"
    assert {r.path.split("/task_")[0] for r in gw.requests if r.route == "poll"} == {"/v1/video/generations"}


@pytest.mark.parametrize("shape", ["B", "octopusx"])
async def test_videos_view_variants(shape):
    seen, _, _ = await run("octopusx", timeline=Timeline(seconds=10), steps=[4, 6], videos_shape=shape)
    assert (seen[0].status, seen[0].progress) == (TaskStatus.RUNNING, 40)
    assert seen[1].status is TaskStatus.SUCCEEDED and seen[1].video_url.endswith(".mp4")
    if shape == "octopusx":
        assert seen[1].expires_at is not None  # OctopusX gives expires_at


@pytest.mark.parametrize("missing", ["not_implemented", "missing"])
async def test_falls_back_to_the_other_view_and_remembers_a_501(missing):
    seen, gw, _ = await run("omnirouters", timeline=Timeline(seconds=1), steps=[0, 2], videos_shape=missing)
    assert [s.status for s in seen] == [TaskStatus.RUNNING, TaskStatus.SUCCEEDED]
    polls = [r.path.rsplit("/", 1)[0] for r in gw.requests if r.route == "poll"]
    if missing == "not_implemented":  # the route does not exist on this fork: go to Shape A first from now on
        assert polls == ["/v1/videos", "/v1/video/generations", "/v1/video/generations"]
    else:  # a 404 may be about the task, not the route: keep trying the preferred view first
        assert polls == ["/v1/videos", "/v1/video/generations", "/v1/videos", "/v1/video/generations"]


async def test_progress_absent_is_none_not_zero():
    seen, _, _ = await run("infinityblue", timeline=Timeline(seconds=10, progress=False), steps=[5])
    assert seen[0].status is TaskStatus.RUNNING and seen[0].progress is None


@pytest.mark.parametrize(("provider_id", "shape"), [("orcarouter", {}), ("octopusx", {}),
                                                    ("omnirouters", {"videos_shape": "octopusx"})])
async def test_cancelled_task(provider_id, shape):
    seen, _, _ = await run(provider_id, timeline=Timeline(seconds=1, cancel=True), steps=[2], **shape)
    assert seen[0].status is TaskStatus.CANCELLED and seen[0].error_code


async def test_failed_task_keeps_the_gateway_reason():
    seen, _, _ = await run("infinityblue", timeline=Timeline(seconds=1, fail="NSFW input"), steps=[2])
    assert seen[0].status is TaskStatus.FAILED and seen[0].error_message == "NSFW input"


async def test_apimodels_result_expires_after_seven_days():
    seen, _, provider = await run("apimodels", timeline=Timeline(seconds=3), steps=[1, 3])
    assert seen[0].status is TaskStatus.RUNNING
    done = seen[1]
    assert done.status is TaskStatus.SUCCEEDED and done.expires_at - done.updated_at == timedelta(days=7)
    assert provider.content_request(done.upstream_id) is None


async def test_content_proxy_is_authenticated_and_serves_the_video():
    seen, gw, provider = await run("orcarouter", timeline=Timeline(seconds=0), steps=[0])
    url, headers = provider.content_request(seen[0].upstream_id)
    assert url == f"{gw.base_url}/v1/videos/{seen[0].upstream_id}/content"
    assert headers == {"Authorization": f"Bearer {KEY}"}
    async with gw.client() as client:
        response = await client.get(url, headers=headers)
    assert response.content[4:8] == b"ftyp"


def test_octopusx_polls_ark_ids_on_the_generations_view_first():
    provider = adapter_class("octopusx")(None, base_url="https://octopusx.ai", api_key=None)
    assert provider.routes_for("cgt-20250101") == [SHAPE_A, SHAPE_B]
    assert provider.routes_for("task_abc") == [SHAPE_B, SHAPE_A]
