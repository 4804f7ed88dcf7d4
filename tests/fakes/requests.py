"""Building VideoRequests in tests: plain strings become MediaRefs, with a default prompt."""

from __future__ import annotations

from typing import Any

from providers.base import MediaRef, VideoRequest


def req(model: str, prompt: str | None = "a red fox runs through snow", **fields: Any) -> VideoRequest:
    for key in ("first_frame", "last_frame"):
        if isinstance(fields.get(key), str):
            fields[key] = MediaRef(url=fields[key])
    for key in ("reference_images", "reference_videos"):
        if key in fields:
            fields[key] = tuple(MediaRef(url=u) for u in fields[key])
    return VideoRequest(model=model, prompt=prompt, **fields)
