"""The task object: what `generate_video` and `get_video_task` return (interface.md), and its JSON Schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from providers.base import TaskStatus


# Whom a task belongs to when nobody says: stdio, in-process clients, HTTP with one token or none (interface.md).
DEFAULT_PRINCIPAL = "default"


class TaskNotFound(LookupError):
    """No such task in the ledger."""


class AdoptError(ValueError):
    """A gateway job could not be adopted (the gateway has no such job, or the named task cannot take it)."""


class TaskError(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on the first task, off the start-up path
    code: str
    message: str


class TaskCost(BaseModel):
    """The estimate recorded before submitting (interface.md): USD or None (no price known), and its basis."""

    model_config = ConfigDict(defer_build=True)
    estimate_usd: float | None
    basis: str


class Media(BaseModel):
    """What the saved video holds, read from the file (server.media.probe), which may not be what was asked."""

    model_config = ConfigDict(defer_build=True)
    duration_s: float
    width: int
    height: int
    fps: float | None = None
    has_audio: bool
    bytes: int


class Task(BaseModel):
    model_config = ConfigDict(defer_build=True)
    task_id: str  # minted here ("vg_" + 32 hex), stable across restarts
    provider: str
    model: str  # the full id, "<provider>/<gateway model name>"
    status: TaskStatus
    progress: int | None = None
    video_url: str | None = None
    local_path: str | None = None
    expires_at: datetime | None = None
    error: TaskError | None = None
    upstream_task_id: str | None = None
    created_at: datetime
    updated_at: datetime
    sandbox: bool = False
    warning: str | None = None  # e.g. "the last 4 polls failed; still trying" (never a failure by itself)
    cost: TaskCost | None = None  # the estimate recorded before it was sent (None: a task from before estimates)
    # A canonical model id's route: asked, gateway (the one holding the job), why, order, tried, note.
    route: dict[str, Any] | None = None
    media: Media | None = None  # once the video is saved

    def public(self) -> dict[str, Any]:
        """The structured content sent to clients (JSON types only)."""
        return self.model_dump(mode="json")


_nullable_str = {"type": ["string", "null"]}

# Hand-written (not pydantic's) so tools/list stays small and exact.
TASK_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "task_id": {"type": "string"},
        "provider": {"type": "string"},
        "model": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in TaskStatus]},
        "progress": {"type": ["integer", "null"]},
        "video_url": _nullable_str,
        "local_path": _nullable_str,
        "expires_at": _nullable_str,  # ISO 8601, like the other times
        "error": {"type": ["object", "null"]},  # {"code", "message"}: left unspelled, tools/list is kept small
        "upstream_task_id": _nullable_str,
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "sandbox": {"type": "boolean"},
        "warning": _nullable_str,
        # `media` (an object or null) goes unnamed, like error's fields: the schema allows properties it does not name
    },
    "required": ["task_id", "provider", "model", "status", "created_at", "updated_at", "sandbox"],
}
