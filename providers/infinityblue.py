"""InfinityBlue (seed 004): new-api's generic `dto.VideoRequest` body (`image`, numeric `duration`, `width`/`height`,
`seed`), with vendor-native fields in `metadata`. Kling ignores width/height there, so its settings go in metadata.

`options` are merged last into `metadata` (e.g. style, quality_level, cfg_scale).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.newapi import (
    SHAPE_A,
    SHAPE_B,
    NewApiProvider,
    drop_none,
    fields,
    kling_ratio,
    kling_sound,
    mode_for,
    require_mode,
    size_for,
)


class InfinityBlue(NewApiProvider):
    id = "infinityblue"
    title = "InfinityBlue"
    env = "INFINITYBLUE_API_KEY"
    catalog = "infinityblue"
    submit_path = "/v1/video/generations"
    poll_routes = (SHAPE_A, SHAPE_B)  # the documented poll route answers the flat body [seed 004]

    family_fields = {
        "kling": fields("last_frame", "negative_prompt", "audio"),  # Kling has no seed; image_tail in metadata
        "veo": fields("negative_prompt", "audio", "seed"),  # no last-frame or reference field in this body
    }

    def family_of(self, name: str) -> str:
        return "veo" if "veo" in name.lower() else "kling"

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        if info.family == "kling":
            require_mode(request, info, self.title)
        if info.family == "veo" and request.audio is False:
            raise InvalidRequest(
                f"{info.name} on InfinityBlue always generates audio; leave audio unset (or true).",
                provider=self.title,
            )
        if info.family == "veo" and (request.aspect_ratio or request.resolution) and _veo_size(request) is None:
            raise InvalidRequest(
                f"{info.name} on InfinityBlue takes aspect_ratio 16:9 or 9:16 at 720p or 1080p.",
                provider=self.title,
            )

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": info.name,
            "prompt": request.prompt,
            "image": request.first_frame.url if request.first_frame else None,  # switches to image-to-video
            "duration": request.duration,  # an int: TaskSubmitReq.duration; Veo's durationSeconds comes from it
            "seed": request.seed,  # documented top-level [seed 004]; stock new-api drops it, so also in metadata
        }
        if info.family == "veo":
            # new-api's Gemini adaptor (relay/channel/task/gemini) reads ratio and resolution from `size` or
            # metadata.aspectRatio/.resolution, and negativePrompt, seed, generateAudio from metadata (camelCase).
            body["size"] = _veo_size(request)
            metadata: dict[str, Any] = {
                "aspectRatio": request.aspect_ratio,
                "resolution": request.resolution.lower() if request.resolution else None,
                "negativePrompt": request.negative_prompt,
                "seed": request.seed,
                "generateAudio": request.audio,
            }
        else:
            # new-api's Kling adaptor reads Kling-native names from metadata (`duration` there a string) and maps
            # a missing aspect ratio to 1:1, so the ratio is always sent [relay/channel/task/kling].
            metadata = {
                "aspect_ratio": kling_ratio(request, info),
                "mode": mode_for(request.resolution),
                "duration": str(request.duration) if request.duration is not None else None,
                "negative_prompt": request.negative_prompt,
                "image_tail": request.last_frame.url if request.last_frame else None,
                "sound": kling_sound(request.audio),
            }
        body["metadata"] = drop_none({**drop_none(metadata), **request.options})
        return drop_none(body)


def _veo_size(request: VideoRequest) -> str | None:
    """new-api's `size` for Veo, filling the one not given with Veo's defaults (16:9, 720p)."""
    return size_for(request.aspect_ratio or "16:9", request.resolution)
