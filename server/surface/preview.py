"""Seeing the result: the poster frame as an image block and as the resource videogen://posters/{task_id}, and a
contact sheet on request. Off the event loop (worker threads); loaded on the first finished task, not at start-up.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import mcp_types as t

from providers.base import TaskStatus
from server.media import probe
from server.tasks import Task

if TYPE_CHECKING:
    from server.runtime import Runtime

OFF = "previews are off on this server (VIDEOGEN_PREVIEW=0)"
SHEET_SECONDS = 30.0  # a call waits this long for a contact sheet at most (a long 4K clip decodes for a while)


def _saved(task: Task) -> Path | None:
    return Path(task.local_path) if task.status is TaskStatus.SUCCEEDED and task.local_path else None


def _image(jpeg: bytes) -> t.ImageContent:
    return t.ImageContent(data=base64.b64encode(jpeg).decode("ascii"), mime_type="image/jpeg")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None  # not made (previews were off, or the file was unreadable), or removed since


async def poster(rt: Runtime, task: Task) -> bytes | None:
    """The task's poster JPEG, or None (not finished, not saved, previews off, or no poster was made)."""
    video = _saved(task)
    if video is None or not rt.settings.preview:
        return None
    return await anyio.to_thread.run_sync(_read, probe.poster_path(video))


async def images(rt: Runtime, task: Task, *, with_poster: bool, sheet: bool) -> list[t.ContentBlock]:
    """The blocks that follow a result's text: the poster (`with_poster`), and the contact sheet when asked, or a
    line saying why there is none."""
    out: list[t.ContentBlock] = []
    if with_poster and (jpeg := await poster(rt, task)) is not None:
        out.append(_image(jpeg))
    if not sheet:
        return out
    video = _saved(task)
    if not rt.settings.preview or video is None:
        why = OFF if not rt.settings.preview else (
            "the task has not succeeded yet" if task.status is not TaskStatus.SUCCEEDED
            else "the video was not saved on this server (download is off)")
        return [*out, t.TextContent(text=f"No contact sheet: {why}.")]
    made = None
    try:
        with anyio.move_on_after(SHEET_SECONDS):  # the thread is left to finish; the call does not wait for it
            made = await anyio.to_thread.run_sync(probe.contact_sheet, video, abandon_on_cancel=True)
    except (probe.ProbeError, OSError) as exc:
        return [*out, t.TextContent(text=f"No contact sheet: {exc}.")]
    if made is None:
        return [*out, t.TextContent(text=f"No contact sheet: making it took over {SHEET_SECONDS:g} s.")]
    grid, times = made
    at = ", ".join(f"{x:g}" for x in times)
    return [*out, t.TextContent(text=f"Contact sheet: {len(times)} frames at {at} s (left to right, then down)."),
            _image(grid)]
