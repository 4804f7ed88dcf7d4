"""OrcaRouter (seed 000): new-api fork; the model prefix picks the schema. `kling/...` takes Kling-native fields in
`metadata`; `byteplus/...` (Seedance 2.0) takes everything, Ark `content[]` included, in `metadata`.

`options` are Kling/Ark-native parameters, merged last into `metadata` (e.g. cfg_scale, multi_shot, watermark_info).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
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
)
from providers.wire.seedance import ark_content, ark_params


class OrcaRouter(NewApiProvider):
    id = "orcarouter"
    title = "OrcaRouter"
    env = "ORCAROUTER_API_KEY"
    catalog = "orcarouter"
    submit_path = "/v1/video/generations"
    # The doc names GET /v1/video/generations/{id} for polling; its body is not documented, so Shape B is the
    # fallback [providers.md §2].
    poll_routes = (SHAPE_A, SHAPE_B)

    def family_of(self, name: str) -> str:
        if name.startswith("byteplus/"):
            return "seedance"
        omni = "omni" in name or name.endswith("-o1")  # the Omni endpoint's models [seed 000]
        return "kling-omni" if omni else "kling"

    family_fields = {
        # negative_prompt and image_tail are t2v/i2v only; image_list/video_list are Omni only [seed 000]
        "kling": fields("last_frame", "negative_prompt", "audio"),
        "kling-omni": fields("last_frame", "reference_images", "reference_videos", "audio"),
        "seedance": fields("last_frame", "reference_images", "reference_videos", "audio", "seed"),
    }

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        if info.family != "seedance":
            require_mode(request, info, self.title)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        if info.family == "seedance":
            ark = {"content": ark_content(request, text=False), **ark_params(request)}
            return drop_none({"model": info.name, "prompt": request.prompt,
                              "metadata": drop_none({**ark, **request.options})})
        omni = info.family == "kling-omni"
        metadata: dict[str, Any] = {
            "mode": mode_for(request.resolution),
            "aspect_ratio": kling_ratio(request, info),  # absent would become 1:1 (Kling getAspectRatio)
            "duration": str(request.duration) if request.duration is not None else None,  # a string, or it fails
            "sound": kling_sound(request.audio),
        }
        image = None
        if omni:  # frames and references all go in image_list; the first frame must not also be `image` [I]
            images = [{"image_url": request.first_frame.url, "type": "first_frame"}] if request.first_frame else []
            if request.last_frame:
                images.append({"image_url": request.last_frame.url, "type": "end_frame"})
            images += [{"image_url": ref.url} for ref in request.reference_images]
            metadata["image_list"] = images
            metadata["video_list"] = [{"video_url": ref.url, "refer_type": "feature", "keep_original_sound": "no"}
                                      for ref in request.reference_videos]
        else:
            image = request.first_frame.url if request.first_frame else None
            metadata["image_tail"] = request.last_frame.url if request.last_frame else None
            metadata["negative_prompt"] = request.negative_prompt
        return drop_none({
            "model": info.name,
            "prompt": request.prompt,
            "image": image,
            "metadata": drop_none({**drop_none(metadata), **request.options}),
        })
