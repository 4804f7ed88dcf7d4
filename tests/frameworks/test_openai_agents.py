"""OpenAI Agents SDK (`openai-agents`): strict tool conversion, strict-style calls, default 5 s client timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.served import server_env
from fw_support import SCRIPT, STRICT_ARGS, need

pytestmark = pytest.mark.anyio


def stdio_server(home: Path, **env: str):
    need("agents")
    from agents.mcp import MCPServerStdio

    # README "OpenAI Agents SDK" snippet, with the test's environment.
    return MCPServerStdio(params={"command": str(SCRIPT), "args": [], "env": server_env(home, **env)},
                          name="videogen")


async def function_tools(server):
    from agents import Agent, RunContextWrapper

    agent = Agent(name="director", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True})
    return {tool.name: tool for tool in await agent.get_all_tools(RunContextWrapper(context=None))}


async def invoke(tool, arguments: dict) -> str:
    """Call the tool the way the Agents SDK runner does; returns what its model would read."""
    from agents.tool_context import ToolContext

    raw = json.dumps(arguments)
    ctx = ToolContext(context=None, tool_name=tool.name, tool_call_id="call_1", tool_arguments=raw)
    out = await tool.on_invoke_tool(ctx, raw)
    return out if isinstance(out, str) else json.dumps(out)


async def test_all_three_tools_convert_to_strict_without_fallback(tmp_path):
    async with stdio_server(tmp_path) as server:
        tools = await function_tools(server)
    assert set(tools) == {"generate_video", "get_video_task", "list_video_models"}
    for tool in tools.values():
        assert tool.strict_json_schema, f"{tool.name} fell back to non-strict"
        schema = tool.params_json_schema
        assert schema["required"] == list(schema["properties"]) and schema["additionalProperties"] is False
    generate = tools["generate_video"].params_json_schema["properties"]
    assert "sandbox/kling-sim" in generate["model"]["enum"], "the model enum survives"
    assert None in generate["duration"]["enum"] and None in tools["list_video_models"].params_json_schema[
        "properties"]["provider"]["enum"]


async def test_strict_style_job_and_short_result_for_its_model(tmp_path):
    async with stdio_server(tmp_path) as server:
        tools = await function_tools(server)
        listing = await invoke(tools["list_video_models"], {"provider": None})
        assert "sandbox/kling-sim" in listing and "error" not in listing.lower()
        seen = await invoke(tools["generate_video"], STRICT_ARGS | {"wait_seconds": 20})
        assert "succeeded" in seen and "vg_" in seen, seen
        block = json.loads(seen)  # one text block: the sentence, with the link and the saved path
        assert block["type"] == "text" and "null" not in seen, "no resource_link dumped as null-filled JSON"
        assert len(block["text"]) < 500, block["text"]
        task_id = seen.split("Video task ")[1].split(" ")[0]
        again = await invoke(tools["get_video_task"], {"task_id": task_id, "wait_seconds": None})
        assert task_id in again and "succeeded" in again


@pytest.mark.sandbox_seconds(10)
async def test_a_10_s_job_returns_a_usable_task_under_the_default_5_s_timeout(http_url):
    need("agents")
    from agents.mcp import MCPServerStreamableHttp

    # README "OpenAI Agents SDK" over HTTP: default settings (client_session_timeout_seconds=5).
    async with MCPServerStreamableHttp(params={"url": http_url}, name="videogen") as server:
        tools = await function_tools(server)
        seen = await invoke(tools["generate_video"], STRICT_ARGS)
        assert "is queued" in seen or "is running" in seen or "is being submitted" in seen, seen
        task_id = seen.split("Video task ")[1].split(" ")[0]
        assert task_id.startswith("vg_") and len(task_id) == 35
        assert "wait_seconds=3" in seen, "the hint fits this client's timeout"
        follow = await invoke(tools["get_video_task"], {"task_id": task_id, "wait_seconds": 3})
        assert task_id in follow and "error occurred" not in follow.lower()
