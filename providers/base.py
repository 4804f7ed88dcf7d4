"""The normalized types every gateway adapter speaks: request, task snapshot, model capabilities, the Provider protocol.

Pure data and pure functions only; no I/O and nothing read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # outcome not known (ambiguous submit, unparseable upstream status): never terminal

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class MediaRef(BaseModel):
    """An input image or video: an http(s) URL or a `data:` URI (local files are inlined by the server first)."""

    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use, off the start-up path
    url: str

    @property
    def is_data_uri(self) -> bool:
        return self.url.startswith("data:")


class VideoRequest(BaseModel):
    """One generation job, in gateway-neutral terms. `model` is the gateway's own model name (no provider prefix)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    model: str
    prompt: str | None = None
    negative_prompt: str | None = None
    duration: int | None = None  # seconds
    aspect_ratio: str | None = None  # "16:9", "9:16", "1:1", ...
    resolution: str | None = None  # "720p", "1080p", "4k", ...
    first_frame: MediaRef | None = None
    last_frame: MediaRef | None = None
    reference_images: tuple[MediaRef, ...] = ()
    reference_videos: tuple[MediaRef, ...] = ()
    audio: bool | None = None  # generate native audio
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # provider-native parameters, merged last


# What the gateway takes for images: http(s) only, data URIs too, or inline data only (new-api's Veo adaptor)
ImageInput = Literal["url", "url_or_data", "data"]


class ModelInfo(BaseModel):
    """What one model on one gateway accepts. Catalog data, so validation is a table lookup, not if/else."""

    model_config = ConfigDict(frozen=True)
    name: str  # the gateway's model name, as sent on the wire
    family: str = ""  # "kling", "seedance", "veo", ... (groups the request builder's branches)
    durations: tuple[int, ...] = ()  # allowed seconds; empty = gateway decides
    default_duration: int | None = None
    resolutions: tuple[str, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    first_frame: bool = False
    last_frame: bool = False
    max_reference_images: int = 0
    max_reference_videos: int = 0
    image_input: ImageInput = "url_or_data"
    audio: bool = False
    negative_prompt: bool = False
    seed: bool = False
    prompt_required: bool = True
    url_lifetime: timedelta | None = None  # how long the result URL lives, when documented
    # Cross-field rules the docs state (empty/None = no such rule), checked by providers.validate:
    durations_by_resolution: dict[str, tuple[int, ...]] = Field(default_factory=dict)  # Hailuo 2.3: 768p 6/10
    audio_resolutions: tuple[str, ...] = ()  # audio only at these (OrcaRouter kling-v2-6: sound in pro = 1080p)
    video_ref_max_duration: int | None = None  # with a reference video (Kling omni: 3-10 s)
    video_ref_resolutions: tuple[str, ...] = ()  # with a reference video (OrcaRouter v3-omni: std/pro, not 4k)
    video_ref_audio: bool = True  # False: audio must be off with a reference video (Kling omni)
    discovered: bool = False  # found in GET /v1/models, no catalog entry: validation is permissive
    note: str = ""  # one line for agents (quirks, pricing detail)

    @property
    def inputs(self) -> dict[str, Any]:
        """The `inputs` object of interface.md's ModelInfo: which image/video inputs, with limits."""
        out: dict[str, Any] = {}
        if self.first_frame:
            out["first_frame"] = True
        if self.last_frame:
            out["last_frame"] = True
        if self.max_reference_images:
            out["reference_images"] = {"max": self.max_reference_images}
        if self.max_reference_videos:
            out["reference_videos"] = {"max": self.max_reference_videos}
        return out


class TaskSnapshot(BaseModel):
    """What the gateway said about a task at one moment, normalized."""

    model_config = ConfigDict(defer_build=True)
    status: TaskStatus
    upstream_id: str | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    video_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    model: str | None = None  # the gateway's model name, when its answer gives one (adopting a job made elsewhere)
    prompt: str | None = None  # the prompt, when the gateway echoes it (matching a listed job to an unknown task)


@dataclass(frozen=True)
class Capabilities:
    """What an adapter offers beyond submit / get / models, declared as data: callers read it, never probe."""

    find: bool = False  # `find(key)` looks a job up by the idempotency key it was submitted with
    content_proxy: bool = False  # `content_request(id)` names the gateway's own authenticated content route
    mounts: bool = False  # the class's `mounts(config)` gives transports the shared client must use (embedded)
    trusted_hosts: frozenset[str] = frozenset()  # hosts the downloader may fetch though they are not public


@runtime_checkable
class Provider(Protocol):
    """A gateway adapter. Mapping and parsing are pure; the I/O methods use the injected HTTP client.

    Errors raised are `providers.errors.ProviderError` subclasses, never raw HTTP exceptions.
    """

    id: str  # "orcarouter", ..., "sandbox"
    sandbox: bool
    task_listing: bool  # True: `list_tasks` works with the API key, so `unknown` tasks are reconciled against it
    capabilities: Capabilities

    def models(self) -> list[ModelInfo]:
        """The catalog (plus anything discovered so far)."""
        ...

    def model(self, name: str) -> ModelInfo | None: ...

    # `info`: the model as the server resolved it once, at the tool boundary (server.engine.routing), carried here
    # so nothing looks it up again; None (direct callers, tests): looked up by `request.model`.
    def validate(self, request: VideoRequest, info: ModelInfo | None = None) -> ModelInfo:
        """Raise `InvalidRequest` naming what is allowed, before anything is sent. Returns the model's info."""
        ...

    def build_submit(self, request: VideoRequest, info: ModelInfo | None = None) -> tuple[str, dict[str, Any]]:
        """Pure: (path relative to the base URL, JSON body) exactly as the gateway's docs say."""
        ...

    async def submit(self, request: VideoRequest, *, idempotency_key: str | None = None,
                     info: ModelInfo | None = None) -> TaskSnapshot:
        """Send the job once (no retries here: the engine owns the retry policy). Snapshot carries upstream_id."""
        ...

    async def get(self, upstream_id: str) -> TaskSnapshot: ...

    def content_request(self, upstream_id: str) -> tuple[str, dict[str, str]] | None:
        """(absolute URL, headers) of the gateway's own content proxy for a finished task; only called when
        `capabilities.content_proxy`."""
        ...

    async def find(self, idempotency_key: str) -> TaskSnapshot | None:
        """The job submitted with this key, if the gateway kept it; only called when `capabilities.find`."""
        ...

    async def discover(self) -> list[ModelInfo]:
        """Models from GET /v1/models not in the catalog (permissive), or [] where the gateway has no such route."""
        ...

    async def list_tasks(self, since: datetime) -> list[TaskSnapshot]:
        """The gateway's jobs created since `since` (with model, prompt, creation time where it says); only called
        when `task_listing` is True."""
        ...
