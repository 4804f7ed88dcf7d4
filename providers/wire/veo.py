"""Google Veo as new-api's Gemini adaptor reads a task submit (relay/channel/task/gemini): ratio and resolution from
the top-level `size` (or metadata), `durationSeconds` from the top-level `duration`, negativePrompt, seed and
generateAudio camelCase in `metadata`, and the first frame only inline (`data:` or raw base64; URLs are ignored).
"""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest
from providers.wire import drop_none, fields, size_for

# No last-frame or reference field in this body (the adaptor's VeoInstance has only prompt and image).
FIELDS = fields("negative_prompt", "audio", "seed")


def size(request: VideoRequest) -> str | None:
    """The `size` for the asked ratio and resolution, the one not given filled with Veo's defaults (16:9, 720p)."""
    return size_for(request.aspect_ratio or "16:9", request.resolution)


def check(request: VideoRequest, info: ModelInfo, provider: str) -> None:
    """What this body cannot say: audio off (Veo 3 always has it), a ratio/resolution pair with no `size`."""
    if request.audio is False:
        raise InvalidRequest(f"{info.name} on {provider} always generates audio; leave audio unset (or true).",
                             provider=provider)
    if (request.aspect_ratio or request.resolution) and size(request) is None:
        raise InvalidRequest(f"{info.name} on {provider} takes aspect_ratio 16:9 or 9:16 at 720p or 1080p.",
                             provider=provider)


def fields_of(request: VideoRequest) -> dict[str, Any]:
    """The top-level fields (size, duration, image) and the camelCase metadata, unset ones left out."""
    metadata = drop_none({
        "aspectRatio": request.aspect_ratio,
        "resolution": request.resolution.lower() if request.resolution else None,
        "negativePrompt": request.negative_prompt,
        "seed": request.seed,
        "generateAudio": request.audio,
    })
    return drop_none({
        "size": size(request),
        "duration": request.duration,  # an int: TaskSubmitReq.duration becomes durationSeconds
        "image": request.first_frame.url if request.first_frame else None,  # inline by now (image_input "data")
        "metadata": metadata,
    })
