"""InfinityBlue (seed 004): new-api's generic `dto.VideoRequest` body (`image`, numeric `duration`, `seed`), with
vendor-native fields in `metadata`: Kling's own names for Kling, the Gemini adaptor's camelCase ones for Veo.

`options` are merged last into `metadata` (e.g. style, quality_level, cfg_scale).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider
from providers.wire import drop_none, kling, veo


class InfinityBlue(NewApiProvider):
    id = "infinityblue"
    title = "InfinityBlue"
    env = "INFINITYBLUE_API_KEY"
    catalog = "infinityblue"
    submit_path = "/v1/video/generations"
    poll_routes = (SHAPE_A, SHAPE_B)  # the documented poll route answers the flat body [seed 004]
    family_fields = {"kling": kling.FIELDS["kling"], "veo": veo.FIELDS}  # Kling has no seed here

    def family_of(self, name: str) -> str:
        return "veo" if "veo" in name.lower() else "kling"

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        if info.family == "veo":
            veo.check(request, info, self.title)
        else:
            kling.require_mode(request, info, self.title)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        if info.family == "veo":
            body = veo.fields_of(request)
        else:  # new-api's Kling adaptor ignores width/height: the settings go in metadata [relay/channel/task/kling]
            body = {"image": kling.first_frame(request, info), "duration": request.duration,
                    "metadata": kling.native(request, info)}
        body["metadata"] = drop_none({**body.get("metadata", {}), **request.options})
        # `seed` top-level as documented [seed 004]; stock new-api drops it, so Veo's also rides in metadata
        return drop_none({"model": info.name, "prompt": request.prompt, "seed": request.seed, **body})
