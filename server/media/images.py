"""Local image inputs: a path confined to VIDEOGEN_INPUT_DIRS, checked by content and size, sent as a data: URI."""

from __future__ import annotations

import base64
import errno
import os
import re
import stat
from pathlib import Path

from providers.base import MediaRef
from server.media import files
from server.media.download import MediaError, os_reason, sniff_image
from server.media.netguard import printable as _show


def is_local_path(value: str) -> bool:
    """True when an image argument names a local file rather than an http(s) URL or a data: URI."""
    text = value.strip() if isinstance(value, str) else ""
    lowered = text.lower()
    if not text or lowered.startswith(("http://", "https://", "data:")):
        return False
    if lowered.startswith("file:") or text.startswith(("~", "./", "../", ".\\", "..\\")):
        return True
    # Rooted (/x, \x) or with a drive (C:\x, C:/x), on every platform: not os.path.isabs, which since Python 3.13
    # says False on Windows for "/home/me/cat.png" (no drive), though that is still a path and not a URL.
    return text.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:[\\/]", text))


def load_local_image(value: str, *, allowed_dirs: list[Path], max_bytes: int = 10 * 1024 * 1024) -> MediaRef:
    """Read a local image confined to allowed_dirs, check its type (PNG/JPEG/WebP/GIF) and size -> data: URI."""
    path = _local_path(value)
    shown = _show(path)
    try:  # containment first, on the path with every existing symlink resolved: no probing outside the folders
        real = path.resolve()
        roots = [Path(d).expanduser().resolve() for d in allowed_dirs]
    except (OSError, RuntimeError, ValueError) as exc:
        raise MediaError("not_found", f"cannot read {shown}: {os_reason(exc)}") from exc
    if not any(files.is_within(str(real), [str(root)], case_insensitive=files.case_insensitive_at(root))
               for root in roots):
        dirs = ", ".join(str(r) for r in roots) or "none"
        raise MediaError("unsafe_path", f"{shown} is outside the folders this server may read ({dirs}); move it there "
                         "or set VIDEOGEN_INPUT_DIRS")
    try:
        info = real.stat()
    except OSError as exc:
        raise MediaError("not_found", f"cannot read {shown}: {os_reason(exc)}; give the full path of an image") from exc
    if not stat.S_ISREG(info.st_mode):
        raise MediaError("bad_image", f"{shown} is not a regular file (a folder, device or pipe); give an image file")
    data = _read_capped(real, info, max_bytes, shown)
    mime = sniff_image(data)
    if mime is None:
        raise MediaError("bad_image", f"{shown} is not a PNG, JPEG, WebP or GIF image (checked by its content, not "
                         "its name); convert it to one of those")
    return MediaRef(url=f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")


def _local_path(value: str) -> Path:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise MediaError("unsafe_path", "the image path is empty or contains a NUL byte")
    text = value.strip()
    if text.lower().startswith("file:"):
        local = files.file_url_path(text)
        if local is None:
            raise MediaError("unsafe_path", f"{_show(text)}: file:// URLs must name a file on this machine")
        text = local
    elif not is_local_path(text):
        raise MediaError("unsafe_path", f"{_show(text)} is not a local file path (absolute, ~/..., ./... or file://)")
    return Path(text).expanduser()


def _read_capped(real: Path, info: os.stat_result, max_bytes: int, shown: str) -> bytes:
    too_large = MediaError("bad_image", f"{shown} is larger than the {max_bytes / 1048576:g} MB limit for input "
                           "images; resize or recompress it")
    if info.st_size > max_bytes:
        raise too_large
    try:  # a symlink, FIFO or other file swapped in after the checks above is refused here
        fd = files.open_checked(real, info)
    except files.FileChanged as exc:
        raise MediaError("unsafe_path", f"{shown} changed while being read; try again") from exc
    except OSError as exc:
        reason = "it changed while being read" if exc.errno == errno.ELOOP else os_reason(exc)
        raise MediaError("not_found", f"cannot read {shown}: {reason}") from exc
    try:
        chunks, size = [], 0
        while size <= max_bytes:  # never trust st_size alone: read at most max_bytes + 1
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:
        raise too_large
    if not size:
        raise MediaError("bad_image", f"{shown} is empty; give an image file")
    return b"".join(chunks)
