"""Tool results for agents: the task object as structured content, one or two sentences of text, resource links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import assert_never

import mcp_types as t

from providers.base import TaskStatus
from server.tasks import Media, Task


def task_uri(task_id: str) -> str:
    return f"videogen://tasks/{task_id}"


def video_uri(task_id: str) -> str:
    return f"videogen://videos/{task_id}"


def poster_uri(task_id: str) -> str:
    return f"videogen://posters/{task_id}"


VIDEOS_PATH = "/videos"  # `serve --http` serves each saved video at {base}/videos/{task_id}{suffix}


def served_video_url(base: str, task: Task) -> str | None:
    """Where `serve --http` serves the task's saved video, or None when nothing was saved."""
    if not task.local_path:
        return None
    suffix = PurePath(task.local_path).suffix or ".mp4"
    return f"{base.rstrip('/')}{VIDEOS_PATH}/{task.task_id}{suffix}"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def task_text(task: Task, *, note: str = "", wait_hint: float = 40, served_url: str | None = None) -> str:
    """What happened and what the agent should do next, in plain words. `served_url`: the saved video's link on
    this server's own HTTP origin, named instead of the gateway's link and the server's local path."""
    head = "[sandbox: simulated, free] " if task.sandbox else ""
    ref = f"Video task {task.task_id} ({task.model})"
    match task.status:
        case TaskStatus.SUCCEEDED if served_url:
            text = (f"{ref} succeeded: {served_url} (served by this MCP server; send the same Authorization "
                    "header as for its /mcp endpoint).")
        case TaskStatus.SUCCEEDED:
            text = f"{ref} succeeded: {task.video_url}"
            if task.expires_at:
                text += f" (the link works until about {_when(task.expires_at)})"
            text += "."
            if task.local_path:
                text += f" Saved on this machine as {task.local_path}."
        case TaskStatus.QUEUED | TaskStatus.RUNNING:
            state = "is queued" if task.status is TaskStatus.QUEUED else "is running"
            if task.progress is not None and task.status is TaskStatus.RUNNING:
                state += f" ({task.progress}%)"
            text = (
                f"{ref} {state}. It continues on the server: call get_video_task with task_id "
                f'"{task.task_id}" and wait_seconds={wait_hint:g} to follow it; do not call generate_video again '
                "for this video (that would start and bill a new job)."
            )
        case TaskStatus.FAILED | TaskStatus.CANCELLED:
            why = _sentence(task.error.message if task.error else "no reason given by the gateway")
            text = f"{ref} {task.status.value}: {why}"
            if "Nothing more will happen" not in why:  # the poller's notes already say it
                text += " Nothing more will happen for this task."
        case TaskStatus.UNKNOWN if task.error is not None and task.error.code == "submitting":
            text = (
                f"{ref} is being submitted: the gateway has not answered yet. Do not submit again; call "
                f'get_video_task with task_id "{task.task_id}" and wait_seconds={wait_hint:g} to see the outcome.'
            )
        case TaskStatus.UNKNOWN:
            why = task.error.message if task.error else "the gateway's answer could not be read."
            text = (
                f"{ref}: state unknown. {why} Call get_video_task with task_id \"{task.task_id}\" later to see "
                "the outcome; do not resubmit unless you are sure no job was created."
            )
        case _:
            assert_never(task.status)
    if task.route and task.route.get("note"):  # a canonical model id: which gateway took it, and why
        text += f" {task.route['note']}"
    if task.media is not None and task.status is TaskStatus.SUCCEEDED:
        text += f" The video: {media_text(task.media)}."
    if task.warning:
        text += f" Note: {task.warning}"
    if note:
        text += f" {note}"
    return head + text


def media_text(media: Media) -> str:
    """'5.0 s, 1280x720, 24 fps, with audio': what the saved file holds."""
    fps = f", {media.fps:g} fps" if media.fps else ""
    sound = "with audio" if media.has_audio else "silent"
    return f"{media.duration_s:.1f} s, {media.width}x{media.height}{fps}, {sound}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def task_result(task: Task, *, note: str = "", links: bool = True, wait_hint: float = 40,
                served_url: str | None = None, images: Sequence[t.ContentBlock] = ()) -> t.CallToolResult:
    """The text carries everything the agent needs (video URL, local path, next step), so a client that drops
    or cannot forward `resource_link` blocks loses nothing. `links=False` for clients known to turn links into
    something their model refuses (LangChain makes them file blocks, which ChatOpenAI rejects) or serializes at
    length (the OpenAI Agents SDK dumps each one as ~600 chars of JSON). `images`: the poster or contact sheet
    (server.surface.preview), right after the text."""
    content: list[t.ContentBlock] = [
        t.TextContent(text=task_text(task, note=note, wait_hint=wait_hint, served_url=served_url)), *images
    ]
    if not links:
        return t.CallToolResult(content=content, structured_content=task.public())
    if task.status is TaskStatus.SUCCEEDED:
        if served_url:
            content.append(t.ResourceLink(uri=served_url, name=PurePath(served_url).name, title="Generated video",
                                          mime_type="video/mp4"))
        elif task.local_path:
            content.append(t.ResourceLink(uri=video_uri(task.task_id), name=f"{task.task_id}.mp4",
                                          title="Generated video (local copy)", mime_type="video/mp4"))
        elif task.video_url:
            content.append(t.ResourceLink(uri=task.video_url, name=f"{task.task_id}.mp4",
                                          title="Generated video", mime_type="video/mp4"))
    content.append(t.ResourceLink(uri=task_uri(task.task_id), name=task.task_id, title="Task record",
                                  mime_type="application/json"))
    return t.CallToolResult(content=content, structured_content=task.public())


def error_result(message: str) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(text=message)], is_error=True)
