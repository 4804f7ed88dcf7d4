"""apimodels.app (seed 003): its own protocol. Envelope `{code, msg, data:{taskId, state, resultUrls, failMsg}}`;
a non-200 `code` in the body is an error even on HTTP 200, while a failed task is code 200 with state "failed".

`options` are merged last into the top level of the body (e.g. element_list, multi_shot, callback_url).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import ModelInfo, TaskSnapshot, TaskStatus, VideoRequest
from providers.errors import APIMODELS_CODES, BadResponse
from providers.newapi import CatalogProvider, drop_none, fields, kling_sound, mode_for
from providers.parse import parse_task

ROUTE = "/api/v1/video/generations"  # POST creates; GET ?task_id= queries [seed 003]
FILE_LIFETIME = timedelta(days=7)  # "Video files are stored for 7 days" [seed 003]


class ApiModels(CatalogProvider):
    id = "apimodels"
    title = "apimodels.app"
    env = "APIMODELS_API_KEY"
    catalog = "apimodels"
    submit_path = ROUTE
    error_codes = APIMODELS_CODES
    family_fields = {
        "kling-omni": fields("last_frame", "reference_images", "reference_videos", "audio"),
        "kling": fields("last_frame", "negative_prompt", "audio"),
        "kling-motion": fields("reference_videos", "audio"),  # the motion video
    }

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        common = {
            "model": info.name,
            "prompt": request.prompt,
            "mode": mode_for(request.resolution),  # std (720p) or pro (1080p)
            "duration": str(request.duration) if request.duration is not None else None,  # a string
            "aspect_ratio": request.aspect_ratio,
            "sound": kling_sound(request.audio),
        }
        if info.family == "kling-omni":
            images = [{"image_url": request.first_frame.url, "type": "first_frame"}] if request.first_frame else []
            if request.last_frame:
                images.append({"image_url": request.last_frame.url, "type": "end_frame"})
            images += [{"image_url": ref.url} for ref in request.reference_images]  # untyped = reference [I]
            body = {
                **common,
                "image_list": images,
                "video_list": [{"video_url": ref.url, "refer_type": "feature", "keep_original_sound": "no"}
                               for ref in request.reference_videos],
            }
        elif info.family == "kling-motion":
            body = {  # a character image plus the motion to copy [seed 003, non-omni page]
                **common,
                "image": request.first_frame.url if request.first_frame else None,
                "motion_video": request.reference_videos[0].url if request.reference_videos else None,
            }
        else:  # t2v vs i2v is chosen by whether `image` is present; Kling-native names [I]
            body = {
                **common,
                "image": request.first_frame.url if request.first_frame else None,
                "image_tail": request.last_frame.url if request.last_frame else None,
                "negative_prompt": request.negative_prompt,
            }
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

    def content_request(self, upstream_id: str) -> tuple[str, dict[str, str]] | None:
        return None  # no proxy route: download resultUrls[0] directly

    async def discover(self) -> list[ModelInfo]:
        return []  # no models route is documented
