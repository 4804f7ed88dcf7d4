"""get_video_task adopts a gateway job by its own id, through the real MCP SDK client (in-process)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from fakes.gateways import Timeline, fake_for
from mcp import Client
from mcp_support import make_settings

from server.app import build_server

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-ADOPT-4242"


async def test_get_video_task_adopts_a_job_made_outside_and_knows_it_the_second_time(tmp_path):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.3))
    with gw.serve() as base_url:
        async with httpx2.AsyncClient() as http:  # another tool submits the job, straight to the gateway
            made = (await http.post(f"{base_url}/v1/video/generations", headers={"Authorization": f"Bearer {KEY}"},
                                    json={"model": "kling/kling-v2-6", "prompt": "a kite"})).json()
        settings = make_settings(tmp_path, VIDEOGEN_SANDBOX=False, ORCAROUTER_API_KEY=KEY,
                                 ORCAROUTER_BASE_URL=base_url, VIDEOGEN_ALLOW_PRIVATE_URLS=True)
        async with Client(build_server(settings, download_default=True)) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            first = await c.call_tool("get_video_task", {"provider": "orcarouter", "upstream_task_id": made["id"],
                                                         "wait_seconds": 20})
            second = await c.call_tool("get_video_task", {"provider": "orcarouter", "upstream_task_id": made["id"]})
            missing = await c.call_tool("get_video_task", {"provider": "orcarouter", "upstream_task_id": "task_x"})
            neither = await c.call_tool("get_video_task", {})
    assert {"provider", "upstream_task_id"} <= tools["get_video_task"].input_schema["properties"].keys()
    task = first.structured_content
    assert not first.is_error and task["status"] == "succeeded", first.content[0].text
    assert task["upstream_task_id"] == made["id"] and Path(task["local_path"]).exists()
    assert second.structured_content["task_id"] == task["task_id"]
    assert missing.is_error and "has no task 'task_x'; nothing was recorded" in missing.content[0].text
    assert neither.is_error and "upstream_task_id" in neither.content[0].text
    assert gw.created == 1
