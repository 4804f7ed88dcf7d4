"""MCP resources: each task as JSON, the recent tasks, and each downloaded video and its poster frame."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import anyio
import mcp_types as t
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from server.surface.principal import principal_of
from server.surface.render import poster_uri, task_uri, video_uri
from server.surface import apps  # the MCP Apps view

if TYPE_CHECKING:
    from server.runtime import Runtime

TASKS_URI = "videogen://tasks"
MAX_VIDEO_RESOURCE_BYTES = 100 * 1024 * 1024  # base64 in JSON beyond this helps no client; use local_path instead


async def list_resources(ctx: ServerRequestContext, params: t.PaginatedRequestParams | None) -> t.ListResourcesResult:
    rt = cast("Runtime", ctx.lifespan_context)  # what app.py's lifespan yields
    resources = [t.Resource(uri=TASKS_URI, name="tasks", title="Recent video tasks", mime_type="application/json")]
    for task in await (await rt.engine()).list(20, principal=principal_of(ctx.request)):
        resources.append(t.Resource(uri=task_uri(task.task_id), name=task.task_id, mime_type="application/json",
                                    title=f"Video task {task.task_id} ({task.status.value})"))
        if task.local_path:
            resources.append(t.Resource(uri=video_uri(task.task_id), name=f"{task.task_id}.mp4",
                                        title=f"Video of task {task.task_id}", mime_type="video/mp4"))
        if task.media is not None and rt.settings.preview:
            resources.append(t.Resource(uri=poster_uri(task.task_id), name=f"{task.task_id}.jpg",
                                        title=f"Poster frame of task {task.task_id}", mime_type="image/jpeg"))
    resources.append(apps.PLAYER_RESOURCE)
    return t.ListResourcesResult(resources=resources)


async def list_templates(
    ctx: ServerRequestContext, params: t.PaginatedRequestParams | None
) -> t.ListResourceTemplatesResult:
    return t.ListResourceTemplatesResult(resource_templates=[
        t.ResourceTemplate(uri_template="videogen://tasks/{task_id}", name="task", title="A video task (JSON)",
                           mime_type="application/json"),
        t.ResourceTemplate(uri_template="videogen://videos/{task_id}", name="video",
                           title="A downloaded video (binary)", mime_type="video/mp4"),
        t.ResourceTemplate(uri_template="videogen://posters/{task_id}", name="poster",
                           title="A downloaded video's poster frame (JPEG)", mime_type="image/jpeg"),
    ])


def _not_found(uri: str, why: str) -> MCPError:
    return MCPError(code=t.INVALID_PARAMS, message=f"Resource not found: {uri} ({why})")


async def read_resource(ctx: ServerRequestContext, params: t.ReadResourceRequestParams) -> t.ReadResourceResult:
    rt = cast("Runtime", ctx.lifespan_context)  # what app.py's lifespan yields
    uri = str(params.uri)
    if uri == apps.PLAYER_URI:
        return await apps.read_player()
    if uri == TASKS_URI:
        tasks = [task.public() for task in await (await rt.engine()).list(50, principal=principal_of(ctx.request))]
        return t.ReadResourceResult(contents=[
            t.TextResourceContents(uri=uri, mime_type="application/json", text=json.dumps({"tasks": tasks}))
        ])
    kind, _, task_id = uri.removeprefix("videogen://").partition("/")
    if kind not in ("tasks", "videos", "posters") or not task_id:
        raise _not_found(uri, "known resources: videogen://tasks, videogen://tasks/{id}, videogen://videos/{id}, "
                         "videogen://posters/{id}")
    task = await (await rt.engine()).get(task_id, principal=principal_of(ctx.request))
    if task is None:
        raise _not_found(uri, "no such task")
    if kind == "tasks":
        return t.ReadResourceResult(contents=[
            t.TextResourceContents(uri=uri, mime_type="application/json", text=json.dumps(task.public()))
        ])
    if kind == "posters":
        from server.surface import preview  # PyAV's callers: off the start-up path

        jpeg = await preview.poster(rt, task)
        if jpeg is None:
            why = preview.OFF if not rt.settings.preview else "the task has no saved video with a poster frame yet"
            raise _not_found(uri, why)
        return t.ReadResourceResult(contents=[t.BlobResourceContents(
            uri=uri, mime_type="image/jpeg", blob=base64.b64encode(jpeg).decode("ascii"))])
    if not task.local_path:
        raise _not_found(uri, "this task has no downloaded video; use its video_url")
    path = await (await rt.engine()).saved_copy(task_id) or Path(task.local_path)  # (replicas: this machine's)
    blob, mime = await anyio.to_thread.run_sync(_read_video, path, uri)
    return t.ReadResourceResult(contents=[t.BlobResourceContents(uri=uri, mime_type=mime, blob=blob)])


def _read_video(path: Path, uri: str) -> tuple[str, str]:
    try:
        size = path.stat().st_size
    except OSError:
        raise _not_found(uri, "the downloaded file is gone") from None
    if size > MAX_VIDEO_RESOURCE_BYTES:
        raise MCPError(code=t.INVALID_PARAMS,
                       message=f"{uri} is {size // 2**20} MiB, too large to send inline; open {path} instead")
    from server.media.download import video_mime

    return base64.b64encode(path.read_bytes()).decode("ascii"), video_mime(path)
