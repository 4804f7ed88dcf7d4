"""Inputs made ready for one gateway right before it is sent the job: for a model that reads images only inline
(new-api's Veo adaptor ignores image URLs: relay/channel/task/gemini/image.go ParseImageInput), an http(s) image is
fetched through the SSRF-safe downloader, capped like a local file, and sent as a `data:` URI. Providers never
fetch anything themselves; the same request stays a URL for a gateway that takes URLs."""

from __future__ import annotations

import base64

import httpx2

from providers.base import MediaRef, ModelInfo, VideoRequest
from providers.validate import MAX_INLINE_IMAGE_BYTES
from server.media.download import fetch_image


def _is_http(ref: MediaRef | None) -> bool:
    return ref is not None and ref.url.lower().startswith(("http://", "https://"))


async def inline_images(request: VideoRequest, info: ModelInfo | None, *, client: httpx2.AsyncClient,
                        allow_private: bool) -> VideoRequest:
    """`request` with its http(s) images inlined where `info` says the model reads only inline data; else as is.

    Raises server.media.download.MediaError (a private address, too large, not an image): nothing is sent then."""
    refs = (request.first_frame, request.last_frame, *request.reference_images)
    if info is None or info.image_input != "data" or not any(_is_http(ref) for ref in refs):
        return request
    async def inline(ref: MediaRef | None) -> MediaRef | None:
        if ref is None or not _is_http(ref):
            return ref
        data, mime = await fetch_image(client, ref.url, max_bytes=MAX_INLINE_IMAGE_BYTES, allow_private=allow_private)
        return MediaRef(url=f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")

    return request.model_copy(update={
        "first_frame": await inline(request.first_frame),
        "last_frame": await inline(request.last_frame),
        "reference_images": tuple([await inline(ref) for ref in request.reference_images]),
    })
