"""End to end over real loopback HTTP: MCP client -> our server -> a fake gateway -> the MP4 on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fakes.gateways import FakeGateway, Timeline, fake_for
from mcp import Client
from mcp_support import make_settings

from server.app import build_server

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-DO-NOT-LEAK-9911"


def gateway_server(tmp_path: Path, provider: str, base_url: str, **env: object):
    prefix = provider.upper()
    settings = make_settings(tmp_path, VIDEOGEN_SANDBOX=False, **{f"{prefix}_API_KEY": KEY,
                                                                  f"{prefix}_BASE_URL": base_url}, **env)
    return build_server(settings, download_default=True)


async def test_expired_link_is_refreshed_by_requery_with_one_upstream_task(tmp_path):
    gw: FakeGateway = fake_for("apimodels", api_key=KEY)  # no content proxy: the download uses the result URL
    gw.script(Timeline(seconds=0))
    gw.inject(410, route="file", times=1)  # the first download finds the link expired
    with gw.serve() as base_url:
        server = gateway_server(tmp_path, "apimodels", base_url)
        async with Client(server) as c:
            r = await c.call_tool("generate_video", {"model": "apimodels/kling-v3-omni", "prompt": "a harbour",
                                                     "duration": 5, "wait_seconds": 20})
    task = r.structured_content
    assert task["status"] == "succeeded", r.content[0].text
    assert Path(task["local_path"]).read_bytes()[4:8] == b"ftyp"
    assert gw.created == 1, "an expired link must never regenerate the job"
    downloads = [q for q in gw.requests if q.route == "file"]
    polls = [q for q in gw.requests if q.route == "poll"]
    assert len(downloads) == 2 and len(polls) >= 2  # re-queried for a fresh link, then downloaded
    assert task["expires_at"]  # apimodels keeps files 7 days
    assert KEY not in r.content[0].text and KEY not in str(task)


async def test_short_wait_on_a_long_job_returns_a_handle_then_completes(tmp_path):
    """The issue's 2-minute job with wait_seconds=3, on the fake's clock (advanced instead of slept)."""
    gw = fake_for("orcarouter", api_key=KEY)
    gw.script(Timeline(seconds=120))
    with gw.serve() as base_url:
        server = gateway_server(tmp_path, "orcarouter", base_url)
        async with Client(server, mode="legacy") as c:
            t0 = time.monotonic()
            r = await c.call_tool("generate_video", {"model": "orcarouter/kling/kling-v3-omni", "prompt": "dunes",
                                                     "duration": 5, "aspect_ratio": "16:9", "wait_seconds": 3})
            elapsed = time.monotonic() - t0
            task = r.structured_content
            assert 2.5 <= elapsed <= 4.5, elapsed
            assert task["status"] in ("queued", "running") and task["task_id"]
            gw.advance(120)  # two minutes later
            r = await c.call_tool("get_video_task", {"task_id": task["task_id"], "wait_seconds": 20})
    assert r.structured_content["status"] == "succeeded"
    assert Path(r.structured_content["local_path"]).is_file()
    assert gw.created == 1


async def test_invalid_calls_never_reach_the_gateway(tmp_path):
    gw = fake_for("omnirouters", api_key=KEY)
    png = tmp_path / "frame.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with gw.serve() as base_url:
        server = gateway_server(tmp_path, "omnirouters", base_url)
        async with Client(server) as c:
            bad_duration = await c.call_tool("generate_video", {"model": "omnirouters/Veo-3.1", "prompt": "x",
                                                                "duration": 5})
            local_file = await c.call_tool("generate_video", {"model": "omnirouters/Veo-3.1", "prompt": "x",
                                                              "first_frame_image": str(png)})
    assert bad_duration.is_error and "4, 6 or 8" in bad_duration.content[0].text
    assert local_file.is_error and "URL" in local_file.content[0].text
    assert [q for q in gw.requests if q.route == "submit"] == []
