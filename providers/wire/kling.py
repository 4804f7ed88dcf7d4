"""Kling's own request fields (names and types of the official API, providers.md §8), in the form new-api's Kling
adaptor merges from `metadata` over its payload (relay/channel/task/kling) and apimodels.app takes at the top level.

The first frame (`image`) is left to the gateway: it sits at the top level of every body that carries it.
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.wire import drop_none, fields

MODES = {"720p": "std", "1080p": "pro", "4k": "4k"}  # resolution -> Kling `mode` [seed 000]

# The request fields each Kling endpoint can express: negative_prompt and image_tail are t2v/i2v only, image_list
# and video_list Omni only [seed 000, §8]; motion control takes a character image and the motion video [seed 003].
FIELDS = {
    "kling": fields("last_frame", "negative_prompt", "audio"),
    "kling-omni": fields("last_frame", "reference_images", "reference_videos", "audio"),
    "kling-motion": fields("reference_videos", "audio"),
}


def family_of(name: str) -> str:
    """Kling's endpoint for a model name: the Omni models (o1, v3-omni) or t2v/i2v [seed 000]."""
    lowered = name.lower()
    return "kling-omni" if "omni" in lowered or lowered.endswith("-o1") else "kling"


def mode(resolution: str | None) -> str | None:
    return MODES.get((resolution or "").lower())


def require_mode(request: VideoRequest, info: ModelInfo, provider: str) -> None:
    """Kling says resolution only through `mode`: a resolution with no mode cannot be sent (discovered models)."""
    if request.resolution and mode(request.resolution) is None:
        raise InvalidRequest(
            f"{info.name} on {provider} takes resolution 720p (std), 1080p (pro) or 4k (got {request.resolution}).",
            provider=provider,
        )


def ratio(request: VideoRequest, info: ModelInfo) -> str | None:
    """The aspect ratio always sent through new-api: its Kling `getAspectRatio` maps a missing one to 1:1, not the
    16:9 Kling itself defaults to, so absent means the model's documented default (16:9 where allowed)."""
    if request.aspect_ratio:
        return request.aspect_ratio
    if not info.aspect_ratios or "16:9" in info.aspect_ratios:
        return "16:9"
    return info.aspect_ratios[0]


def sound(audio: bool | None) -> str | None:
    return None if audio is None else ("on" if audio else "off")


def duration(request: VideoRequest) -> str | None:
    """A string: a number fails new-api's metadata round trip into the Kling struct (500 build_request_failed)."""
    return str(request.duration) if request.duration is not None else None


def omni_lists(request: VideoRequest) -> dict[str, Any]:
    """Omni's `image_list` (frames typed first_frame/end_frame, references untyped) and `video_list` [seed 000/003]."""
    images = [{"image_url": request.first_frame.url, "type": "first_frame"}] if request.first_frame else []
    if request.last_frame:
        images.append({"image_url": request.last_frame.url, "type": "end_frame"})
    images += [{"image_url": ref.url} for ref in request.reference_images]
    videos = [{"video_url": ref.url, "refer_type": "feature", "keep_original_sound": "no"}
              for ref in request.reference_videos]
    return {"image_list": images, "video_list": videos}


def native(request: VideoRequest, info: ModelInfo, *, always_ratio: bool = True) -> dict[str, Any]:
    """Kling's own fields for the request's endpoint (info.family), unset ones left out.

    `always_ratio`: send the model's default ratio when none is asked (through new-api, see `ratio`)."""
    body: dict[str, Any] = {
        "mode": mode(request.resolution),
        "aspect_ratio": ratio(request, info) if always_ratio else request.aspect_ratio,
        "duration": duration(request),
        "sound": sound(request.audio),
    }
    if info.family == "kling-omni":  # frames and references all in image_list; no `image` beside it [I]
        body.update(omni_lists(request))
    elif info.family == "kling-motion":
        body["motion_video"] = request.reference_videos[0].url if request.reference_videos else None
    else:
        body["image_tail"] = request.last_frame.url if request.last_frame else None
        body["negative_prompt"] = request.negative_prompt
    return drop_none(body)


def first_frame(request: VideoRequest, info: ModelInfo) -> str | None:
    """The top-level `image` (t2v vs i2v is chosen by its presence); Omni carries its frames in image_list."""
    if info.family == "kling-omni" or request.first_frame is None:
        return None
    return request.first_frame.url
