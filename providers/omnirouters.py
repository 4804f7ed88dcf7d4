"""OmniRouters (seed 001): one flat body for every family; `seconds` is a string and always required, images and
videos are http(s) URL arrays only. Names may carry the resolution (`Kling-3.0-omni-1080p`) or not (+ `resolution`).

`options` are merged last into the top level of the body (e.g. multi_shot, multi_prompt, metadata).
"""

from __future__ import annotations

import re
from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider
from providers.wire import drop_none, fields, vod

# The older doc puts the resolution in the name: Kling-3.0-omni-1080p, Hailuo-2.3-fast-768p [seed 001 §3.1].
_SUFFIX = re.compile(r"^(?P<base>.+)-(?P<res>720p|768p|1080p|2048p|4096p)$", re.IGNORECASE)


class OmniRouters(NewApiProvider):
    id = "omnirouters"
    title = "OmniRouters"
    env = "OMNIROUTERS_API_KEY"
    catalog = "omnirouters"
    submit_path = "/v1/videos"  # = /v1/video/generations = /v1/videos/generations [seed 001]
    poll_routes = (SHAPE_B, SHAPE_A)
    family_fields = {"*": fields("last_frame", "reference_images", "reference_videos", "audio")}
    discovered_fields = {"negative_prompt": False, "seed": False, "image_input": "url"}  # the body has no field

    def model(self, name: str) -> ModelInfo | None:
        found = super().model(name)
        match = None if found is not None else _SUFFIX.match(name)
        base = super().model(match["base"]) if match else None
        if base is None or match is None:
            return found
        res = match["res"].lower()
        if base.resolutions and res not in base.resolutions:
            return None
        return base.model_copy(update={
            "name": f"{base.name}-{match['res']}",
            "resolutions": (res,),
            "durations": base.durations_by_resolution.get(res, base.durations),
            "note": f"{base.note} Resolution {res} is fixed by the name.".strip(),
        })

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        # `images[]` carries no roles. Stock new-api's Vidu channel reads 2 images as first + last frame and 3+ as
        # references; OmniRouters' reading is not documented [inferred], so only unambiguous lists are sent:
        # [first], [first, last], or references alone (3 or more, no frames).
        refs, frames = len(request.reference_images), (request.first_frame, request.last_frame)
        if request.last_frame is not None and request.first_frame is None:
            self._refuse(info, "a last frame needs a first frame (images[] has no roles)")
        if refs and any(frames):
            self._refuse(info, "frames and reference images cannot be combined: images[] has no roles, so the "
                         "gateway could read them either way; send frames or references")
        if refs and refs < 3:
            self._refuse(info, "1 or 2 images alone are read as frames, not references; send 3 or more reference "
                         "images, or pass the image as first_frame")
        match = _SUFFIX.match(info.name)  # also covers discovered suffixed names, whose info is permissive
        if match and request.resolution and request.resolution.lower() != match["res"].lower():
            raise InvalidRequest(
                f"{info.name} on OmniRouters takes resolution {match['res'].lower()} (it is in the name; "
                f"got {request.resolution}).",
                provider=self.title,
            )

    def _refuse(self, info: ModelInfo, why: str) -> None:
        raise InvalidRequest(f"{info.name} on OmniRouters: {why}.", provider=self.title)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        suffixed = _SUFFIX.match(info.name) is not None  # the name carries the resolution; do not repeat it
        # Image roles are undocumented: first frame, then last frame, or references only (check() refuses mixes).
        images = [ref.url for ref in (request.first_frame, request.last_frame) if ref is not None]
        images += [ref.url for ref in request.reference_images]
        videos = [ref.url for ref in request.reference_videos]
        region = self.options.get("input_region", "Oversea") if images or videos else None
        body = {
            "model": info.name,
            "prompt": request.prompt,
            "seconds": str(request.duration or info.default_duration or 5),  # required for every model
            "images": images,
            "videos": videos,
            "aspect_ratio": request.aspect_ratio,  # honoured for text-to-video only [seed 001 §3.6]
            "resolution": None if suffixed else (request.resolution.lower() if request.resolution else None),
            "audio_generation": vod.audio_switch(request.audio),  # the type is undocumented here [I]
            "input_region": region,  # assets outside China need "Oversea" [seed 001 §3.7]
        }
        return drop_none({**drop_none(body), **request.options})
