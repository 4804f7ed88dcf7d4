"""SEP-2663 tasks: a 2026-07-28 client that declares the extension gets a durable handle and polls tasks/get."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import anyio
import mcp_types as t
import pytest
from mcp import Client
from mcp.client import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError

from server.surface.tasks_ext import TASKS_EXT

pytestmark = pytest.mark.anyio


class TaskParams(t.RequestParams):
    task_id: str


class CreatedTask(t.Result):
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    poll_interval_ms: int | None = None


class PolledTask(t.Result):
    task_id: str
    status: str
    status_message: str | None = None
    result: dict[str, Any] | None = None


class GetTask(t.Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param = "taskId"


class TasksClient(ClientExtension):
    """The client half, as a task-aware client would implement it: poll tasks/get until completed."""

    identifier = TASKS_EXT

    def __init__(self) -> None:
        self.seen: list[str] = []

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._poll)]

    async def _poll(self, created: CreatedTask, ctx: ClaimContext) -> t.CallToolResult:
        self.seen.append(created.status)
        while True:
            task = await ctx.session.send_request(GetTask(params=TaskParams(task_id=created.task_id)), PolledTask)
            self.seen.append(task.status)
            if task.status == "completed":
                return t.CallToolResult.model_validate(task.result)
            await anyio.sleep(0.05)


async def test_declared_client_gets_a_task_that_completes_with_the_video(server):
    ext = TasksClient()
    async with Client(server, extensions=[ext]) as c:
        assert TASKS_EXT in c.server_capabilities.extensions
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a comet"})
    assert ext.seen[0] == "working" and ext.seen[-1] == "completed"
    task = r.structured_content
    assert task["status"] == "succeeded" and task["task_id"].startswith("vg_")
    assert any(b.type == "resource_link" and b.mime_type == "video/mp4" for b in r.content)


async def test_task_handle_is_our_task_id_and_reachable_through_get_video_task(server):
    async with Client(server, extensions=[TasksClient()]) as c:
        created = await c.session.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "x"},
                                            allow_claimed=True)
        assert created.result_type == "task"
        r = await c.call_tool("get_video_task", {"task_id": created.task_id, "wait_seconds": 15})
        assert r.structured_content["status"] == "succeeded" and r.structured_content["local_path"]
        polled = await c.session.send_request(GetTask(params=TaskParams(task_id=created.task_id)), PolledTask)
    assert polled.status == "completed"
    inlined = t.CallToolResult.model_validate(polled.result)  # the finished result carries the poster too
    assert [b.type for b in inlined.content][:2] == ["text", "image"] and inlined.content[1].mime_type == "image/jpeg"


async def test_legacy_and_undeclared_clients_get_the_bounded_wait(server):
    for client in (Client(server, mode="legacy", extensions=[TasksClient()]), Client(server)):
        async with client as c:
            r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "y", "wait_seconds": 20})
        assert r.structured_content["status"] == "succeeded"


async def test_tasks_get_without_the_extension_is_refused(server):
    async with Client(server) as c:
        with pytest.raises(MCPError) as info:
            await c.session.send_request(GetTask(params=TaskParams(task_id="vg_x")), PolledTask)
    assert info.value.error.code == t.MISSING_REQUIRED_CLIENT_CAPABILITY
