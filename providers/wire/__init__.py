"""Vendor wire formats (Kling, Seedance/Ark, Veo, the output_config form) as pure functions over the normalized
request, one module per vendor, used by every gateway that sells that family; plus what they all share."""

from __future__ import annotations

from typing import Any


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    """The body without unset fields (an absent field lets the gateway apply its documented default)."""
    return {k: v for k, v in body.items() if v is not None and v != [] and v != {}}


def fields(*names: str) -> frozenset[str]:
    """The request fields a format maps, always with duration, aspect_ratio, resolution and the first frame."""
    return frozenset(("duration", "aspect_ratio", "resolution", "first_frame", *names))


# (aspect ratio, resolution) -> new-api's top-level `size`, the form its Kling (`getAspectRatio`) and Gemini
# (`SizeToVeoAspectRatio` / `SizeToVeoResolution`) adaptors read, and OctopusX documents.
SIZES = {
    ("16:9", "720p"): "1280x720", ("9:16", "720p"): "720x1280",
    ("16:9", "1080p"): "1920x1080", ("9:16", "1080p"): "1080x1920",
}


def size_for(ratio: str | None, resolution: str | None) -> str | None:
    """`size` for a ratio (+ resolution, 720p when unset), or None where new-api's table has no entry (e.g. 1:1)."""
    return SIZES.get((ratio or "", (resolution or "720p").lower()))
