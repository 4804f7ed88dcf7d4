"""Pydantic AI (`pydantic-ai-slim[mcp]`, MCPToolset on the FastMCP client) over streamable HTTP."""

from __future__ import annotations

import pytest

from fw_support import STRICT_ARGS, need

pytestmark = pytest.mark.anyio


async def test_tools_listed_job_run_with_progress(http_url):
    need("pydantic_ai")
    from pydantic_ai.mcp import MCPToolset

    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    # README "Pydantic AI" snippet (plus the progress handler the test watches).
    toolset = MCPToolset(http_url, progress_handler=on_progress)
    async with toolset:
        names = {tool.name for tool in await toolset.list_tools()}
        assert names == {"generate_video", "get_video_task", "list_video_models"}
        task = await toolset.direct_call_tool("generate_video", STRICT_ARGS | {"wait_seconds": 20})
        text = task[0] if isinstance(task, list) else str(task)  # the content its model gets: text first
        assert "succeeded" in text, task
        task_id = text.split("Video task ")[1].split(" ")[0]
        again = await toolset.direct_call_tool("get_video_task", {"task_id": task_id, "wait_seconds": None})
        assert task_id in str(again)
    assert progress and progress == sorted(progress)
