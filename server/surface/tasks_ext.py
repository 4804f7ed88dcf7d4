"""The MCP tasks extension (io.modelcontextprotocol/tasks, SEP-2663) on top of our ledger.

A 2026-07-28 client that declares the extension gets `generate_video` back at once as a task whose id IS our
task_id (durable before the handle is returned), and polls `tasks/get`; everyone else gets the bounded wait.
mcp 2.3 ships no tasks runtime, so the three methods are registered here on the low-level server's public seams.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import mcp_types as t
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from providers.base import TaskStatus
from server.surface.principal import principal_of
from server.surface.progress import describe
from server.surface.render import task_result
from server.tasks import Task, TaskNotFound

if TYPE_CHECKING:
    from server.runtime import Runtime

TASKS_EXT = "io.modelcontextprotocol/tasks"
TTL_MS = 7 * 24 * 3600 * 1000  # the ledger keeps tasks; a week is an honest promise for the handle


class TaskParams(t.RequestParams):
    task_id: str


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] = {}


def client_wants_tasks(ctx: ServerRequestContext) -> bool:
    caps = ctx.session.client_capabilities
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and bool(
        caps and caps.extensions and TASKS_EXT in caps.extensions
    )


def _settled(task: Task) -> bool:
    """Is the tool call over? Terminal, or unknown for a reason polling cannot fix (ambiguous submit)."""
    if task.status.terminal:
        return True
    return task.status is TaskStatus.UNKNOWN and task.error is not None and task.error.code != "submitting"


def task_state(rt: Runtime, task: Task, images: Sequence[t.ContentBlock] = ()) -> dict[str, Any]:
    state: dict[str, Any] = {
        "taskId": task.task_id,
        "status": "completed" if _settled(task) else "working",
        "createdAt": task.created_at.isoformat().replace("+00:00", "Z"),
        "lastUpdatedAt": task.updated_at.isoformat().replace("+00:00", "Z"),
        "ttlMs": TTL_MS,
        "pollIntervalMs": int(max(1.0, rt.settings.poll_min_interval) * 1000),
    }
    if state["status"] == "completed":
        result = task_result(task, images=images)
        state["result"] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    else:
        state["statusMessage"] = describe(task)
    return state


def created(rt: Runtime, task: Task) -> dict[str, Any]:
    return {"resultType": "task", **task_state(rt, task)}


def _require(ctx: ServerRequestContext) -> None:
    if not client_wants_tasks(ctx):
        raise MCPError(code=t.MISSING_REQUIRED_CLIENT_CAPABILITY, message="Missing required client capability",
                       data={"requiredCapabilities": {"extensions": {TASKS_EXT: {}}}})


async def _task(ctx: ServerRequestContext, task_id: str) -> Task:
    _require(ctx)
    rt = cast("Runtime", ctx.lifespan_context)  # what app.py's lifespan yields
    try:
        # one ledger read; resumes polling of an unfinished task. Another principal's task is unknown here too.
        return await (await rt.engine()).wait(task_id, 0, principal=principal_of(ctx.request))
    except TaskNotFound:
        raise MCPError(code=t.INVALID_PARAMS, message=f"Unknown task {task_id}") from None


async def tasks_get(ctx: ServerRequestContext, params: TaskParams) -> dict[str, Any]:
    rt = cast("Runtime", ctx.lifespan_context)
    task = await _task(ctx, params.task_id)
    images: list[t.ContentBlock] = []
    if task.status is TaskStatus.SUCCEEDED:  # the finished result inlined here carries the poster, as a tool's does
        from server.surface import preview  # reads files: off the start-up path

        images = await preview.images(rt, task, with_poster=True, sheet=False)
    return {"resultType": "complete", **task_state(rt, task, images)}


async def tasks_update(ctx: ServerRequestContext, params: UpdateTaskParams) -> dict[str, Any]:
    await _task(ctx, params.task_id)  # no input_required flow: nothing to update
    return {}


async def tasks_cancel(ctx: ServerRequestContext, params: TaskParams) -> dict[str, Any]:
    # Cooperative by spec. None of our gateways can cancel a paid job, and forgetting it would lose the video, so
    # the acknowledgement changes nothing: the job finishes and stays reachable through tasks/get.
    await _task(ctx, params.task_id)
    return {}


async def _mcp_name_guard(ctx: ServerRequestContext, call_next: Any) -> Any:
    # SEP-2663: over HTTP, Mcp-Name must equal params.taskId for tasks/*; the SDK only checks core methods.
    if ctx.method.startswith("tasks/") and ctx.request is not None and hasattr(ctx.request, "headers"):
        header, task_id = ctx.request.headers.get("mcp-name"), (ctx.params or {}).get("taskId")
        if header is not None and task_id is not None and header != task_id:
            raise MCPError(code=t.HEADER_MISMATCH, message="Mcp-Name header does not match params.taskId")
    return await call_next(ctx)


def install(server: Server) -> None:
    server.extensions[TASKS_EXT] = {}
    server.middleware.append(_mcp_name_guard)
    server.add_request_handler("tasks/get", TaskParams, tasks_get)
    server.add_request_handler("tasks/update", UpdateTaskParams, tasks_update)
    server.add_request_handler("tasks/cancel", TaskParams, tasks_cancel)
