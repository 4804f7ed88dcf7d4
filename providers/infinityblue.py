"""InfinityBlue (seed 004): new-api's generic `dto.VideoRequest` body (`image`, numeric `duration`, `width`/`height`,
`seed`), with vendor-native fields in `metadata`. Kling ignores width/height there, so its settings go in metadata.

`options` are merged last into `metadata` (e.g. style, quality_level, cfg_scale).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider, drop_none, fields, mode_for, require_mode
from providers.orcarouter import kling_sound

# (aspect ratio, resolution) -> (width, height), for the models that honour width/height (Veo).
_SIZES = {
    ("16:9", "720p"): (1280, 720), ("9:16", "720p"): (720, 1280),
    ("16:9", "1080p"): (1920, 1080), ("9:16", "1080p"): (1080, 1920),
}


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
        if info.family == "veo" and (request.aspect_ratio or request.resolution) and _size(request) not in _SIZES:
            raise InvalidRequest(
                f"{info.name} on InfinityBlue takes aspect_ratio 16:9 or 9:16 at 720p or 1080p (sent as width/height).",
                provider=self.title,
            )

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": info.name,
            "prompt": request.prompt,
            "image": request.first_frame.url if request.first_frame else None,  # switches to image-to-video
            "duration": request.duration,
            "seed": request.seed,
        }
        if info.family == "veo":
            if request.aspect_ratio or request.resolution:
                body["width"], body["height"] = _SIZES[_size(request)]
            metadata = {"negative_prompt": request.negative_prompt}  # audio is always on: nothing to send
        else:
            # new-api's Kling adaptor ignores width/height; it reads Kling-native names from metadata, and
            # `duration` there must be a string [providers.md §1, §6].
            metadata = {
                "aspect_ratio": request.aspect_ratio,
                "mode": mode_for(request.resolution),
                "duration": str(request.duration) if request.duration is not None else None,
                "negative_prompt": request.negative_prompt,
                "image_tail": request.last_frame.url if request.last_frame else None,
                "sound": kling_sound(request.audio),
            }
        body["metadata"] = drop_none({**drop_none(metadata), **request.options})
        return drop_none(body)


def _size(request: VideoRequest) -> tuple[str, str]:
    """(ratio, resolution), filling the one not given with Veo's defaults (16:9, 720p)."""
    return request.aspect_ratio or "16:9", (request.resolution or "720p").lower()
