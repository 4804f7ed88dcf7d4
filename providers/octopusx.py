"""OctopusX (seed 002): new-api fork. Kling goes to POST /v1/videos with native settings in
`metadata.output_config`; Seedance 2.0 goes to POST /v1/video/generations with Ark `content[]` at the top level.

`options` are merged last into `metadata` (e.g. scene_type, motion_level, offpeak, camera_fixed, watermark).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider
from providers.wire import drop_none, fields, kling, seedance, size_for, vod


class OctopusX(NewApiProvider):
    id = "octopusx"
    title = "OctopusX"
    env = "OCTOPUSX_API_KEY"
    catalog = "octopusx"
    # Kling/Sora/Veo tasks: Shape B plus a top-level video_url; Seedance tasks: Shape A [providers.md §4].
    poll_routes = (SHAPE_B, SHAPE_A)

    family_fields = {
        "kling": fields("last_frame", "reference_videos", "audio"),  # metadata.last_frame_url / video_url
        "seedance": seedance.FIELDS,
    }
    discovered_fields = {"negative_prompt": False}

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        if info.family != "seedance" and len(request.reference_videos) > 1:  # one metadata.video_url slot
            raise InvalidRequest(f"{info.name} on OctopusX takes at most 1 reference video.", provider=self.title)

    def family_of(self, name: str) -> str:
        return "seedance" if "seedance" in name.lower() else "kling"

    def submit_route(self, info: ModelInfo) -> str:
        return "/v1/video/generations" if info.family == "seedance" else "/v1/videos"

    def routes_for(self, upstream_id: str) -> list[str]:
        if upstream_id.startswith("cgt-"):  # an Ark (Seedance) task id: the generations route knows it best
            return [SHAPE_A, SHAPE_B]
        return super().routes_for(upstream_id)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        if info.family == "seedance":
            # Ark items (text included) at the top level, parameters in metadata, as OctopusX documents; plus the
            # top-level `prompt` stock new-api requires (validatePrompt) and appends as the text item (doubao).
            return drop_none({
                "model": info.name,
                "prompt": request.prompt,
                "content": seedance.ark_content(request, text=True),
                "metadata": drop_none({**seedance.ark_params(request), **request.options}),
            })
        ratio = kling.ratio(request, info)  # always sent: stock Kling reads a missing one as 1:1
        metadata = drop_none({
            "output_config": vod.output_config(request, ratio),
            "last_frame_url": request.last_frame.url if request.last_frame else None,
            "video_url": request.reference_videos[0].url if request.reference_videos else None,
        })
        return drop_none({
            "model": info.name,
            "prompt": request.prompt,
            "seconds": str(request.duration) if request.duration is not None else None,
            # the documented `size` is also what stock Kling's getAspectRatio reads (1:1 has no size: its default)
            "size": size_for(ratio, request.resolution),
            "image": request.first_frame.url if request.first_frame else None,
            "metadata": drop_none({**metadata, **request.options}),
        })
