"""Media in and out: safe video downloads, local image inputs, URL (SSRF) and path safety.

INTERFACE SKELETON: the engine and the tools layer code against these signatures; the media helper fills them in.
"""

from __future__ import annotations

from pathlib import Path

import httpx2

from providers.base import MediaRef


class MediaError(Exception):
    """Agent-facing message in str(exc). `code`: unsafe_url, unsafe_path, expired, too_large, not_video, http,
    bad_image, not_found."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def expired(self) -> bool:
        return self.code == "expired"


async def download_video(
    client: httpx2.AsyncClient,
    url: str,
    *,
    dest_dir: Path,
    stem: str,
    headers: dict[str, str] | None = None,
    max_bytes: int = 500 * 1024 * 1024,
    allow_private: bool = False,
    trusted_hosts: frozenset[str] = frozenset(),
) -> Path:
    """Stream `url` into `dest_dir/<stem>.<ext>` atomically; return the final path.

    Checks every redirect hop (http(s), public addresses unless the host is trusted or allow_private), enforces
    max_bytes whatever Content-Length says, checks the container signature (MP4/MOV/WebM), leaves no partial file.
    Raises MediaError; code "expired" for 403/404/410 answers (the caller re-queries the task for a fresh URL).
    """
    raise NotImplementedError


def is_local_path(value: str) -> bool:
    """True when an image argument names a local file rather than an http(s) URL or a data: URI."""
    raise NotImplementedError


def load_local_image(value: str, *, allowed_dirs: list[Path], max_bytes: int = 10 * 1024 * 1024) -> MediaRef:
    """Read a local image confined to allowed_dirs, check its type (PNG/JPEG/WebP/GIF) and size -> data: URI."""
    raise NotImplementedError


def video_mime(path: Path) -> str:
    """MIME type of a downloaded video from its signature ("video/mp4", "video/quicktime", "video/webm")."""
    raise NotImplementedError
