"""OrcaRouter (seed 000): new-api fork; the model prefix picks the schema. `kling/...` takes Kling-native fields in
`metadata`; `byteplus/...` (Seedance 2.0) takes everything, Ark `content[]` included, in `metadata`.

`options` are Kling/Ark-native parameters, merged last into `metadata` (e.g. cfg_scale, multi_shot, watermark_info).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.newapi import SHAPE_A, SHAPE_B, NewApiProvider
from providers.wire import drop_none, kling, seedance


class OrcaRouter(NewApiProvider):
    id = "orcarouter"
    title = "OrcaRouter"
    env = "ORCAROUTER_API_KEY"
    catalog = "orcarouter"
    submit_path = "/v1/video/generations"
    # The doc names GET /v1/video/generations/{id} for polling; its body is not documented, so Shape B is the
    # fallback [providers.md §2].
    poll_routes = (SHAPE_A, SHAPE_B)
    family_fields = {"kling": kling.FIELDS["kling"], "kling-omni": kling.FIELDS["kling-omni"],
                     "seedance": seedance.FIELDS}

    def family_of(self, name: str) -> str:
        return "seedance" if name.startswith("byteplus/") else kling.family_of(name)

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        if info.family != "seedance":
            kling.require_mode(request, info, self.title)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        if info.family == "seedance":  # everything in metadata, Ark's text item from the top-level prompt
            metadata = {"content": seedance.ark_content(request, text=False), **seedance.ark_params(request)}
            image = None
        else:  # Kling's own fields in metadata; the first frame as new-api's top-level `image`
            metadata, image = kling.native(request, info), kling.first_frame(request, info)
        return drop_none({"model": info.name, "prompt": request.prompt, "image": image,
                          "metadata": drop_none({**metadata, **request.options})})
