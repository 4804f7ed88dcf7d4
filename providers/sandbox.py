"""The keyless sandbox provider: a new-api adapter whose gateway is embedded (providers.sandbox_gateway), reached
through `httpx2.ASGITransport` mounted on the shared client, so it takes the exact HTTP path real gateways take.

Prompt markers (case-insensitive), for trying failure paths for free:
  [fail]     the job fails 60% of the way through, error code `sandbox_failure`
  [slow]     the job takes three times VIDEOGEN_SANDBOX_SECONDS
  [unknown]  while running, the gateway reports a status nobody knows (`unknown`); it still succeeds at the end
  [stuck]    the job never finishes (stays running at 50%), to try timeouts
The same Idempotency-Key returns the same task (per process); `find(key)` looks a task up by its key, and
`list_tasks(since)` lists the jobs the gateway made (per process), so `unknown` tasks are reconciled as on a gateway
that lists tasks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2
from pydantic import SecretStr

from providers.base import Capabilities, ModelInfo, TaskSnapshot, VideoRequest
from providers.errors import NotFound
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider, drop_none, parse_task
from providers.registry import SPECS, GatewayConfig
from providers.sandbox_gateway import DEFAULT_SECONDS, SECONDS_HEADER, build_app

DEFAULT_BASE_URL = SPECS["sandbox"].default_base_url  # http://sandbox.videogen.invalid (.invalid never resolves)
HOST = urlsplit(DEFAULT_BASE_URL).hostname or "sandbox.videogen.invalid"


class Sandbox(NewApiProvider):
    id = "sandbox"
    title = "Sandbox"
    env = "VIDEOGEN_SANDBOX"
    sandbox = True
    catalog = "sandbox"
    submit_path = "/v1/videos"
    poll_routes = (SHAPE_B, SHAPE_A)
    task_listing: ClassVar[bool] = True  # the embedded gateway's own listing route (GET /v1/videos?since=)
    # Its host never resolves (.invalid): the downloader trusts it, and the shared client routes it in-process.
    capabilities = Capabilities(find=True, content_proxy=True, mounts=True, trusted_hosts=frozenset({HOST}))

    def __init__(
        self,
        client: httpx2.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: SecretStr | None = None,
        seconds: float = DEFAULT_SECONDS,
        **options: Any,
    ) -> None:
        super().__init__(client, base_url=base_url, api_key=None, **options)  # keyless: never send a key
        self.seconds = max(0.0, float(seconds))

    @classmethod
    def mounts(cls, config: GatewayConfig | None = None) -> dict[str, httpx2.AsyncBaseTransport]:
        """The transport the shared client must route the sandbox host through (registry.http_mounts)."""
        base = (config.base_url if config else DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base)
        return {f"{parts.scheme}://{parts.netloc}": httpx2.ASGITransport(app=build_app())}

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        # The OpenAI-style body new-api accepts; everything vendor-specific rides in metadata [providers.md §1].
        metadata = drop_none({
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution.lower() if request.resolution else None,
            "negative_prompt": request.negative_prompt,
            "last_frame": request.last_frame.url if request.last_frame else None,
            "reference_images": [ref.url for ref in request.reference_images],
            "reference_videos": [ref.url for ref in request.reference_videos],
            "audio": request.audio,
            "seed": request.seed,
        })
        metadata.update(request.options)
        return drop_none({
            "model": info.name,
            "prompt": request.prompt,
            "seconds": str(request.duration or info.default_duration),
            "image": request.first_frame.url if request.first_frame else None,
            "metadata": metadata,
        })

    async def find(self, idempotency_key: str) -> TaskSnapshot | None:
        """The task submitted with this key, if this process's sandbox created one (after an ambiguous submit)."""
        try:
            data = await self.http.get_json("/v1/videos", params={"idempotency_key": idempotency_key})
        except NotFound:
            return None
        snapshot = parse_task(data)
        return snapshot if snapshot.upstream_id else None

    async def list_tasks(self, since: datetime) -> list[TaskSnapshot]:
        """The jobs the embedded gateway made since `since`, with model, prompt and creation time."""
        data = await self.http.get_json("/v1/videos", params={"since": f"{since.timestamp():.3f}"})
        rows = data.get("data") if isinstance(data, dict) else None
        return [parse_task(row) for row in rows or [] if isinstance(row, dict)]

    def submit_headers(self) -> dict[str, str]:
        return {SECONDS_HEADER: str(self.seconds)}  # the job length is the adapter's option, not the gateway's
