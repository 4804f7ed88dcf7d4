"""The defensive task parser (providers.md §11.4): any gateway JSON -> TaskSnapshot, pure, and it never raises.

Covers new-api Shape A (wrapped, UPPERCASE), Shape B (OpenAI video object), the flat/simple bodies, apimodels'
envelope, and the raw Kling / Ark / Veo bodies that new-api nests under `data.data`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, assert_never

from providers.base import TaskSnapshot, TaskStatus

# Upstream status string (lowercased) -> normalized status. providers.md §11.1; anything else is UNKNOWN.
STATUS_TABLE: dict[str, TaskStatus] = {
    # queued
    "not_start": TaskStatus.QUEUED,  # new-api Shape A
    "submitted": TaskStatus.QUEUED,  # new-api Shape A, Kling
    "queued": TaskStatus.QUEUED,  # Shape A/B, OpenAI, Ark, InfinityBlue
    "pending": TaskStatus.QUEUED,  # apimodels, OctopusX /video/query
    # running
    "in_progress": TaskStatus.RUNNING,  # Shape A (IN_PROGRESS), Shape B, OpenAI
    "processing": TaskStatus.RUNNING,  # OctopusX, apimodels, Kling, new-api simple body
    "running": TaskStatus.RUNNING,  # Ark
    # succeeded
    "success": TaskStatus.SUCCEEDED,  # Shape A
    "succeeded": TaskStatus.SUCCEEDED,  # new-api simple body, Ark
    "succeed": TaskStatus.SUCCEEDED,  # Kling
    "completed": TaskStatus.SUCCEEDED,  # Shape B, OpenAI, OctopusX, apimodels, InfinityBlue
    # failed
    "failure": TaskStatus.FAILED,  # Shape A (a reason mentioning cancel becomes CANCELLED below)
    "failed": TaskStatus.FAILED,
    "expired": TaskStatus.FAILED,  # Ark: error code "expired"
    # cancelled
    "cancelled": TaskStatus.CANCELLED,  # OctopusX, Ark
    "canceled": TaskStatus.CANCELLED,
}

_TASK_KEYS = ("task_id", "taskId", "id", "status", "state", "task_status")
_URL_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("video_url",),  # OctopusX top level
    ("url",),  # InfinityBlue / new-api simple body
    ("result_url",),  # Shape A
    ("metadata", "url"),  # Shape B
    ("resultUrls", 0),  # apimodels
    ("data", 0, "url"),  # OctopusX omni-fast
    ("content", "video_url"),  # Ark
    ("task_result", "videos", 0, "url"),  # Kling
    ("data", "content", "video_url"),  # Shape A raw Ark
    ("data", "task_result", "videos", 0, "url"),  # Shape A raw Kling
    ("data", "data", "task_result", "videos", 0, "url"),
    ("response", "generateVideoResponse", "generatedSamples", 0, "video", "uri"),  # Veo
    ("data", "response", "generateVideoResponse", "generatedSamples", 0, "video", "uri"),
)
_ERROR_TEXT_KEYS = ("fail_reason", "failMsg", "task_status_msg", "error_message", "message")


NO_REASON = "The gateway reported the task failed without giving a reason."


def _dig(obj: Any, path: Iterable[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or len(obj) <= step:
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
    return obj


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _looks_like_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def unwrap(body: Any) -> dict[str, Any]:
    """The task object inside a `{code, message|msg, data:{...}}` envelope, else the body itself."""
    if not isinstance(body, dict):
        return {}
    data = body.get("data")
    if isinstance(data, dict) and "code" in body and any(k in data for k in _TASK_KEYS):
        return data
    return body


def parse_status(value: Any) -> TaskStatus:
    text = _str(value)
    if text is None:
        return TaskStatus.UNKNOWN
    return STATUS_TABLE.get(text.lower(), TaskStatus.UNKNOWN)


def parse_progress(value: Any) -> int | None:
    """0-100 from an int, a float, or a string like "50%" / "50"; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip()
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return max(0, min(100, int(value)))
    return None


def parse_time(value: Any) -> datetime | None:
    """Unix seconds or milliseconds (new-api uses s, Kling and apimodels ms), or ISO 8601; None when 0/unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    if value > 1e11:  # milliseconds: 1e11 s is the year 5138
        value /= 1000
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def find_url(task: dict[str, Any]) -> str | None:
    for path in _URL_PATHS:
        value = _dig(task, path)
        if _looks_like_url(value):
            return value.strip()
    return None


def _first_time(task: dict[str, Any], *keys: str) -> datetime | None:
    for key in keys:
        when = parse_time(task.get(key))
        if when is not None:
            return when
    return None


def _error(task: dict[str, Any], outer: dict[str, Any]) -> tuple[str | None, str | None]:
    """(code, message) from `error{code,message}`, `error` as a string, or the reason fields."""
    error = task.get("error")
    code = message = None
    if isinstance(error, dict):
        code, message = _str(error.get("code")), _str(error.get("message"))
    elif _str(error):
        message = _str(error)
    for key in _ERROR_TEXT_KEYS:
        if message:
            break
        candidate = task.get(key)
        if not _looks_like_url(candidate):
            message = _str(candidate)
    if not message and outer is not task:
        message = _str(outer.get("message")) or _str(outer.get("msg"))
        if message and message.lower() == "success":
            message = None
    return code, message


def parse_task(body: Any) -> TaskSnapshot:
    """Normalize one gateway task body. Pure and total: any JSON value gives a snapshot, never an exception."""
    try:
        return _parse(body)
    except Exception:
        return TaskSnapshot(
            status=TaskStatus.UNKNOWN, error_code="unparseable", error_message="The gateway's answer was unreadable."
        )


def _parse(body: Any) -> TaskSnapshot:
    outer = body if isinstance(body, dict) else {}
    task = unwrap(body)
    if not task:
        return TaskSnapshot(
            status=TaskStatus.UNKNOWN,
            error_code="bad_response",
            error_message="The gateway's answer held no task object.",
        )
    raw_status = next((task[k] for k in ("status", "state", "task_status") if _str(task.get(k))), None)
    status = parse_status(raw_status)
    if raw_status is None and isinstance(task.get("done"), bool):  # Veo long-running operation
        status = TaskStatus.RUNNING if not task["done"] else (
            TaskStatus.FAILED if task.get("error") else TaskStatus.SUCCEEDED
        )
    url = find_url(task)
    legacy = task.get("fail_reason")
    if status is TaskStatus.SUCCEEDED and url is None and isinstance(legacy, str) and _looks_like_url(legacy):
        url = legacy.strip()  # legacy new-api keeps the result URL in fail_reason [providers.md §1]
    code, message = _error(task, outer)
    raw = (_str(raw_status) or "").lower()
    if status is TaskStatus.FAILED and message and "cancel" in message.lower():
        status = TaskStatus.CANCELLED  # new-api has no cancelled state; a cancel shows up as FAILURE [I]
    if raw == "expired":
        code = "expired"
    progress = parse_progress(task.get("progress"))
    match status:
        case TaskStatus.SUCCEEDED:
            progress, code, message = 100, None, None
        case TaskStatus.FAILED | TaskStatus.CANCELLED:
            code = code or ("cancelled" if status is TaskStatus.CANCELLED else "failed")
            message = message or NO_REASON
        case TaskStatus.UNKNOWN:
            if outer.get("code") not in (None, "success", 200, 0, "0") and task is outer:
                code = _str(outer.get("code"))  # new-api error envelope with HTTP 200: {"code":"…","data":null}
            code = code or "unknown_status"
            message = message or f"The gateway reported a status we do not know ({raw or 'none'!r})."
        case TaskStatus.QUEUED | TaskStatus.RUNNING:
            code = message = None
        case _ as unreachable:
            assert_never(unreachable)
    return TaskSnapshot(
        status=status,
        upstream_id=_str(task.get("task_id")) or _str(task.get("taskId")) or _str(task.get("id")),
        progress=progress,
        video_url=url if status is TaskStatus.SUCCEEDED else None,
        error_code=code,
        error_message=message,
        created_at=_first_time(task, "created_at", "createTime", "submit_time", "create_time"),
        updated_at=_first_time(
            task, "completed_at", "completeTime", "finish_time", "updated_at", "status_update_time", "start_time"
        ),
        expires_at=_first_time(task, "expires_at"),
        model=_str(task.get("model")) or None,
        prompt=_str(task.get("prompt")) or None,
    )
