"""BytePlus/Volcengine Ark (Seedance) request parts: `content[]` items and task parameters [providers.md §9]."""

from __future__ import annotations

from typing import Any

from providers.base import VideoRequest
from providers.wire import drop_none, fields

# The request fields Ark's body expresses: every frame role, references, audio and seed [§9].
FIELDS = fields("last_frame", "reference_images", "reference_videos", "audio", "seed")


def ark_content(request: VideoRequest, *, text: bool) -> list[dict[str, Any]]:
    """Ark `content[]` (BytePlus/Volcengine): optional text item, then frames and references by role [§9]."""
    items: list[dict[str, Any]] = []
    if text and request.prompt:
        items.append({"type": "text", "text": request.prompt})
    for ref, role in ((request.first_frame, "first_frame"), (request.last_frame, "last_frame")):
        if ref is not None:
            items.append({"type": "image_url", "image_url": {"url": ref.url}, "role": role})
    items += [{"type": "image_url", "image_url": {"url": r.url}, "role": "reference_image"}
              for r in request.reference_images]
    items += [{"type": "video_url", "video_url": {"url": r.url}, "role": "reference_video"}
              for r in request.reference_videos]
    return items


def ark_params(request: VideoRequest) -> dict[str, Any]:
    """Ark's task parameters (duration is an int there)."""
    return drop_none({
        "duration": request.duration,
        "ratio": request.aspect_ratio,
        "resolution": request.resolution.lower() if request.resolution else None,
        "generate_audio": request.audio,
        "seed": request.seed,
    })
