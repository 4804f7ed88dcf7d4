"""The `output_config` form OctopusX documents for Kling (seed 002): duration an int, resolution "720P"/"1080P",
aspect_ratio, audio_generation "Enabled"/"Disabled". Its names and switches are those of Tencent VOD's AIGC API,
which OmniRouters' flat body also follows (providers.md §12; that match is inferred).
"""

from __future__ import annotations

from typing import Any

from providers.base import VideoRequest
from providers.wire import drop_none


def audio_switch(audio: bool | None) -> str | None:
    """"Enabled"/"Disabled", the documented form (OctopusX) [seed 002]; OmniRouters' own type is undocumented [I]."""
    return None if audio is None else ("Enabled" if audio else "Disabled")


def output_config(request: VideoRequest, ratio: str | None) -> dict[str, Any]:
    return drop_none({
        "duration": request.duration,
        "resolution": request.resolution.upper() if request.resolution else None,  # "720P" / "1080P"
        "aspect_ratio": ratio,
        "audio_generation": audio_switch(request.audio),
    })
