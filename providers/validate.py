"""One generic check of a VideoRequest against a model's ModelInfo; every refusal names what IS allowed.

Runs before anything is sent. Discovered models (no catalog entry) have permissive ModelInfo, so only the
obviously impossible is refused for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NoReturn

from providers.base import ModelInfo, VideoRequest
from providers.errors import InvalidRequest


# The cap on an inline (data:) image, the same as the server's local-file cap: larger ones are refused before sending.
MAX_INLINE_IMAGE_BYTES = 10 * 1024 * 1024


def inline_bytes(url: str) -> int:
    """Decoded size of a data: URI's payload (base64 estimated from its length; no decoding needed)."""
    header, _, payload = url.partition(",")
    if header.endswith(";base64"):
        return len(payload) * 3 // 4 - payload.endswith("=") - payload.endswith("==")
    return len(payload)


def choices(values: Iterable[object], *, unit: str = "") -> str:
    """"5 or 10 s", "3 to 15 s", "16:9, 9:16 or 1:1"."""
    items = list(values)
    suffix = f" {unit}" if unit else ""
    ints = [v for v in items if isinstance(v, int)]
    if len(ints) == len(items) and len(items) > 2 and ints == list(range(ints[0], ints[-1] + 1)):
        return f"{ints[0]} to {ints[-1]}{suffix}"
    text = [str(v) for v in items]
    if len(text) == 1:
        return text[0] + suffix
    return ", ".join(text[:-1]) + " or " + text[-1] + suffix


def _others(siblings: Sequence[ModelInfo], attribute: str) -> str:
    names = [m.name for m in siblings if getattr(m, attribute) and not m.discovered]
    return f"; models that do: {', '.join(names)}" if names else "; no model on this gateway does"


def validate(request: VideoRequest, info: ModelInfo, *, provider: str = "", siblings: Sequence[ModelInfo] = ()) -> None:
    """Raise InvalidRequest (sent=False) if `request` does not fit `info`; the message lists what is allowed."""
    where = f"{info.name} on {provider}" if provider else info.name

    def refuse(message: str) -> NoReturn:
        raise InvalidRequest(f"{where} {message}.", provider=provider)

    prompt = (request.prompt or "").strip()
    has_media = bool(request.first_frame or request.last_frame or request.reference_images or request.reference_videos)
    if info.prompt_required and not prompt:
        refuse("needs a non-blank prompt")
    if not prompt and not has_media:
        refuse("needs a prompt or an image/video input")

    resolution = request.resolution.lower() if request.resolution else None
    if resolution is not None and info.resolutions and resolution not in info.resolutions:
        refuse(f"takes resolution {choices(info.resolutions)} (got {request.resolution})")
    if request.aspect_ratio is not None and info.aspect_ratios and request.aspect_ratio not in info.aspect_ratios:
        refuse(f"takes aspect_ratio {choices(info.aspect_ratios)} (got {request.aspect_ratio})")

    if request.duration is not None:
        if request.duration <= 0:
            refuse(f"takes a positive duration in seconds (got {request.duration})")
        if info.durations and request.duration not in info.durations:
            refuse(f"takes duration {choices(info.durations, unit='s')} (got {request.duration})")
        allowed = info.durations_by_resolution.get(resolution or "")
        if allowed and request.duration not in allowed:
            refuse(f"at {resolution} takes duration {choices(allowed, unit='s')} (got {request.duration})")

    if request.first_frame is not None and not info.first_frame:
        refuse("takes no first frame image" + _others(siblings, "first_frame"))
    if request.last_frame is not None and not info.last_frame:
        refuse("takes no last frame image" + _others(siblings, "last_frame"))
    if len(request.reference_images) > info.max_reference_images:
        if not info.max_reference_images:
            refuse("takes no reference images" + _others(siblings, "max_reference_images"))
        refuse(f"takes at most {info.max_reference_images} reference images (got {len(request.reference_images)})")
    if len(request.reference_videos) > info.max_reference_videos:
        if not info.max_reference_videos:
            refuse("takes no reference videos" + _others(siblings, "max_reference_videos"))
        refuse(f"takes at most {info.max_reference_videos} reference videos (got {len(request.reference_videos)})")

    images = [request.first_frame, request.last_frame, *request.reference_images]
    for ref in images:
        if ref is not None and ref.is_data_uri and inline_bytes(ref.url) > MAX_INLINE_IMAGE_BYTES:
            refuse(f"takes inline images up to {MAX_INLINE_IMAGE_BYTES // 1048576} MB (got "
                   f"{inline_bytes(ref.url) / 1048576:.1f} MB); pass a smaller image or an http(s) URL")
    if info.image_input == "url" and any(ref is not None and not _is_http(ref.url) for ref in images):
        refuse("takes only http(s) image URLs (no data: URIs or local files); upload the image and pass its URL")
    if any(not _is_http(ref.url) for ref in request.reference_videos):
        refuse("takes reference videos only as http(s) URLs")

    if request.audio and not info.audio:
        refuse("cannot generate audio; leave audio unset" + _others(siblings, "audio"))
    if request.audio and info.audio_resolutions and resolution not in info.audio_resolutions:
        refuse(f"generates audio only at resolution {choices(info.audio_resolutions)}; set resolution too")
    if request.negative_prompt is not None and not info.negative_prompt:
        refuse("takes no negative_prompt" + _others(siblings, "negative_prompt"))
    if request.seed is not None and not info.seed:
        refuse("takes no seed" + _others(siblings, "seed"))

    if request.reference_videos:
        duration = request.duration or info.default_duration
        if info.video_ref_max_duration and duration and duration > info.video_ref_max_duration:
            refuse(f"with a reference video takes at most {info.video_ref_max_duration} s (got {duration})")
        if info.video_ref_resolutions and resolution and resolution not in info.video_ref_resolutions:
            refuse(f"with a reference video takes resolution {choices(info.video_ref_resolutions)}")
        if request.audio and not info.video_ref_audio:
            refuse("cannot generate audio when a reference video is given; set audio false or drop the video")


# VideoRequest fields a request builder may or may not be able to express (prompt and options always are).
MAPPABLE = ("duration", "aspect_ratio", "resolution", "negative_prompt", "first_frame", "last_frame",
            "reference_images", "reference_videos", "audio", "seed")
ALL_FIELDS = frozenset(MAPPABLE)


def refuse_unmapped(
    request: VideoRequest, info: ModelInfo, mapped: frozenset[str], *, provider: str, siblings: Sequence[ModelInfo] = ()
) -> None:
    """Refuse any set field the model's request builder has no place for: nothing is silently dropped."""
    for name in MAPPABLE:
        value = getattr(request, name)
        if name not in mapped and value is not None and value != ():
            flags = {"reference_images": "max_reference_images", "reference_videos": "max_reference_videos"}
            flag = flags.get(name, name)
            others = _others(siblings, flag) if flag in ModelInfo.model_fields else ""
            raise InvalidRequest(f"{info.name} on {provider} takes no {name}{others}.", provider=provider)


def require_inline(request: VideoRequest, info: ModelInfo, *, provider: str) -> None:
    """A model that reads images only inline (image_input "data") must get no image URL in its body: the gateway
    would ignore it. The server inlines http(s) images before submitting (server/engine/inputs.py)."""
    images = [request.first_frame, request.last_frame, *request.reference_images]
    if info.image_input == "data" and any(ref is not None and _is_http(ref.url) for ref in images):
        raise InvalidRequest(f"{info.name} on {provider} reads images only inline (the gateway ignores image URLs); "
                             "the image must be fetched and sent as a data: URI first.", provider=provider)


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def unknown_model(name: str, provider: str, models: Sequence[ModelInfo]) -> InvalidRequest:
    names = ", ".join(m.name for m in models) or "none"
    return InvalidRequest(
        f"{provider} has no model {name!r}. Its models: {names}. See list_video_models.", provider=provider
    )
