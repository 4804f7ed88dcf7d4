"""apimodels.app (seed 003): its own protocol. Envelope `{code, msg, data:{taskId, state, resultUrls, failMsg}}`;
a non-200 `code` in the body is an error even on HTTP 200, while a failed task is code 200 with state "failed".

`options` are merged last into the top level of the body (e.g. element_list, multi_shot, callback_url).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import ModelInfo, TaskSnapshot, TaskStatus, VideoRequest
from providers.errors import APIMODELS_CODES, BadResponse
from providers.newapi import CatalogProvider
from providers.parse import parse_task
from providers.wire import drop_none, kling

ROUTE = "/api/v1/video/generations"  # POST creates; GET ?task_id= queries [seed 003]
FILE_LIFETIME = timedelta(days=7)  # "Video files are stored for 7 days" [seed 003]


class ApiModels(CatalogProvider):
    id = "apimodels"
    title = "apimodels.app"
    env = "APIMODELS_API_KEY"
    catalog = "apimodels"
    submit_path = ROUTE
    error_codes = APIMODELS_CODES
    family_fields = kling.FIELDS  # no content proxy (capabilities: none): resultUrls[0] is downloaded directly

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        # Kling's own fields at the top level; the ratio only when asked (not new-api: no 1:1 default to avoid).
        # Motion control: a character image plus the motion to copy [seed 003, non-omni page].
        body = {"model": info.name, "prompt": request.prompt, "image": kling.first_frame(request, info),
                **kling.native(request, info, always_ratio=False)}
        return drop_none({**drop_none(body), **request.options})

    def _envelope(self, data: Any, *, model: str | None = None) -> Any:
        """Raise the typed error for a body whose `code` is not 200 (it may arrive with HTTP 200)."""
        code = data.get("code") if isinstance(data, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code != 200:
            raise self.http.error(code if 400 <= code < 600 else 502, data, model=model)
        return data

    async def submit(self, request: VideoRequest, *, idempotency_key: str | None = None,
                     info: ModelInfo | None = None) -> TaskSnapshot:
        path, body = self.build_submit(request, info)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._envelope(await self.http.post_json(path, body, headers=headers, model=request.model),
                              model=request.model)
        return self.accepted(data)

    async def get(self, upstream_id: str) -> TaskSnapshot:
        data = self._envelope(await self.http.get_json(ROUTE, params={"task_id": upstream_id}))
        snapshot = parse_task(data)
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise BadResponse(f"{self.title} answered a task query without a task object.", provider=self.title)
        update: dict[str, Any] = {"upstream_id": snapshot.upstream_id or upstream_id}
        if snapshot.status is TaskStatus.SUCCEEDED and snapshot.expires_at is None:
            finished = snapshot.updated_at or datetime.now(UTC)
            update["expires_at"] = finished + FILE_LIFETIME
        return snapshot.model_copy(update=update)

    async def discover(self) -> list[ModelInfo]:
        return []  # no models route is documented
