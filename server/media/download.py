"""Safe video downloads, and the media checks they share with local image inputs (server.media.images); URL checks live
in server.media.netguard.

Downloads stream into a `.part` file in the destination folder and are renamed into place only once verified.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
import httpx2

from server.media import files
from server.media.netguard import Resolver, Target, URLRefused, check_url, redact
from server.media.netguard import printable as _show


class MediaError(Exception):
    """Agent-facing message in str(exc). `code`: unsafe_url, unsafe_path, expired, too_large, not_video, http,
    bad_image, not_found, disk (the download folder could not be written)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def expired(self) -> bool:
        return self.code == "expired"


MAX_REDIRECTS = 5
MAX_ADDRESSES = 3  # resolved addresses tried in turn when a connect fails
MIN_RATE = 256 * 1024  # bytes/s: the overall deadline allows max_bytes at this rate, so a trickling body ends
BASE_DEADLINE = 120.0
DEFAULT_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)  # used when the injected client has no timeout of its own
_FLUSH = 1 << 20  # write to disk in ~1 MiB batches (one worker-thread hop each)
_SNIFF = 64
_STEM = re.compile(r"[A-Za-z0-9_-]{1,80}")
_REDIRECT = frozenset({301, 302, 303, 307, 308})
_EXPIRED = frozenset({403, 404, 410})

T = TypeVar("T")
_Container = tuple[str, str]  # (file extension, MIME type)
_MP4, _MOV = (".mp4", "video/mp4"), (".mov", "video/quicktime")
_WEBM, _MKV = (".webm", "video/webm"), (".mkv", "video/x-matroska")
# ISO-BMFF brands that are still images (HEIF/AVIF) or audio, not video.
_NOT_VIDEO_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                               b"mif2", b"msf1", b"M4A ", b"M4B ", b"M4P ", b"crx "})
_IMAGES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
           b"GIF89a": "image/gif"}


def _sniff_video(head: bytes) -> _Container | None:
    if len(head) >= 12 and head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 12:
        brand = head[8:12]
        if brand == b"qt  ":
            return _MOV
        return None if brand in _NOT_VIDEO_BRANDS else _MP4
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML; the DocType string sits in the first few dozen bytes
        return _WEBM if b"webm" in head else _MKV if b"matroska" in head else None
    return None


def sniff_image(head: bytes) -> str | None:
    for magic, mime in _IMAGES.items():
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _describe(head: bytes) -> str:
    """A guess at what came back instead of a video, for the error message."""
    text = head.lstrip()
    if text.startswith((b"<", b"{", b"[")):
        return "an HTML/XML page" if text.startswith(b"<") else "JSON"
    if sniff_image(head):
        return "an image"
    return "empty" if not head else "data that is not MP4, MOV or WebM"


def video_mime(path: Path) -> str:
    """MIME type of a downloaded video from its signature ("video/mp4", "video/quicktime", "video/webm").

    "video/x-matroska" for Matroska; "application/octet-stream" when the bytes are not a known container.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    except (OSError, ValueError) as exc:
        raise MediaError("not_found", f"cannot read {_show(path)}: {os_reason(exc)}") from exc
    kind = _sniff_video(head)
    return kind[1] if kind else "application/octet-stream"


def os_reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


# --- downloads ---------------------------------------------------------------------------------------------------


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
    resolver: Resolver | None = None,
) -> Path:
    """Stream `url` into `dest_dir/<stem>.<ext>` atomically; return the final path.

    Checks every redirect hop (http(s), public addresses unless the host is trusted or allow_private), enforces
    max_bytes whatever Content-Length says, checks the container signature (MP4/MOV/WebM), leaves no partial file.
    Raises MediaError; code "expired" for 403/404/410 answers (the caller re-queries the task for a fresh URL).
    `resolver` replaces system DNS (tests); `headers` go only to the first URL's origin, never across a redirect.
    """
    if not isinstance(stem, str) or not _STEM.fullmatch(stem):
        raise MediaError("unsafe_path", f"refusing to save a video as {stem!r:.60}: file names must be 1-80 letters, "
                         "digits, '-' or '_' (the caller must generate the name)")
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    folder = await anyio.to_thread.run_sync(_prepare_dir, dest_dir)
    deadline = BASE_DEADLINE + max_bytes / MIN_RATE
    try:
        with anyio.fail_after(deadline):
            return await _follow(client, url, headers or {}, allow_private, frozenset(trusted_hosts), resolver,
                                 lambda response, shown: _save(response, folder, stem, max_bytes, shown))
    except TimeoutError as exc:
        raise MediaError("http", f"downloading {redact(url)} took longer than {deadline:.0f} s and was stopped; "
                         "try again later") from exc


def _prepare_dir(dest_dir: Path) -> Path:
    """Create dest_dir (0o700) if missing and return its real path; every write happens directly inside it."""
    try:
        path = Path(dest_dir).expanduser()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        real = path.resolve(strict=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise MediaError("unsafe_path", f"cannot use the download folder {_show(dest_dir)}: {os_reason(exc)}; "
                         "check VIDEOGEN_DOWNLOAD_DIR") from exc
    if not real.is_dir():
        raise MediaError("unsafe_path", f"the download folder {_show(dest_dir)} is not a folder")
    return real


async def fetch_image(
    client: httpx2.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    allow_private: bool = False,
    trusted_hosts: frozenset[str] = frozenset(),
    resolver: Resolver | None = None,
) -> tuple[bytes, str]:
    """GET an input image through the same guard as downloads (every redirect hop vetted, addresses pinned):
    (bytes, MIME type), at most max_bytes, PNG/JPEG/WebP/GIF by its content. Raises MediaError."""

    async def read(response: httpx2.Response, shown: str) -> tuple[bytes, str]:
        too_large = MediaError("bad_image", f"the image at {shown} is larger than the {max_bytes / 1048576:g} MB "
                               "limit for input images; resize or recompress it")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise too_large
        data = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:  # counted on what arrives, whatever Content-Length claimed
                    raise too_large
        except httpx2.HTTPError as exc:
            raise MediaError("http", f"fetching {shown} failed: {_netos_reason(exc)}; try again later") from exc
        head = bytes(data[:_SNIFF])
        mime = sniff_image(head)
        if mime is None:
            raise MediaError("bad_image", f"{shown} is not a PNG, JPEG, WebP or GIF image (got {_describe(head)}); "
                             "pass another image URL, a local file or a data: URI")
        return bytes(data), mime

    try:
        with anyio.fail_after(BASE_DEADLINE):
            return await _follow(client, url, {}, allow_private, frozenset(trusted_hosts), resolver, read,
                                 expiring=False)
    except TimeoutError as exc:
        raise MediaError("http", f"fetching {redact(url)} took longer than {BASE_DEADLINE:.0f} s and was stopped; "
                         "try again later") from exc


async def _follow(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], allow_private: bool, trusted: frozenset[str],
    resolver: Resolver | None, consume: Callable[[httpx2.Response, str], Awaitable[T]], *, expiring: bool = True,
) -> T:
    """GET `url`, vetting every redirect hop, and hand a 2xx answer to `consume`. `expiring`: 403/404/410 means
    the (video) link expired, code "expired"."""
    current: object = url
    origin: tuple[str, str, int | None] | None = None
    for _ in range(MAX_REDIRECTS + 1):
        try:
            target = await check_url(current, allow_private=allow_private, trusted_hosts=trusted, resolver=resolver)
        except URLRefused as exc:
            raise MediaError(exc.code, str(exc)) from exc
        here = (target.url.scheme, target.url.host, target.url.port)
        origin = origin or here
        shown = redact(target.url)
        async with _open(client, target, headers if here == origin else {}) as response:
            status = response.status_code
            if status in _REDIRECT:
                location = response.headers.get("location")
                if not location:
                    raise MediaError("http", f"{shown} answered {status} (redirect) without a Location")
                try:
                    current = target.url.join(location)
                except (httpx2.InvalidURL, ValueError) as exc:
                    raise MediaError("unsafe_url", f"{shown} redirected to an invalid URL") from exc
                continue
            if status in _EXPIRED and expiring:
                raise MediaError("expired", f"the video link {shown} answered HTTP {status}: it has probably "
                                 "expired; query the task again for a fresh URL")
            if not 200 <= status < 300 or status == 204:
                raise MediaError("http", f"downloading {shown} failed with HTTP {status}; try again later")
            return await consume(response, shown)
    raise MediaError("http", f"{redact(url)} redirected more than {MAX_REDIRECTS} times; giving up (redirect loop?)")


@asynccontextmanager
async def _open(client: httpx2.AsyncClient, target: Target, headers: dict[str, str]) -> AsyncIterator[httpx2.Response]:
    """Send GET without following redirects; with vetted addresses, connect to them rather than re-resolving."""
    failure: Exception | None = None
    for address in target.connect[:MAX_ADDRESSES] or (None,):
        request = _build(client, target, address, headers)
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            failure = exc
            continue
        except httpx2.HTTPError as exc:
            raise MediaError("http", f"downloading {redact(target.url)} failed: {_netos_reason(exc)}; "
                             "try again later") from exc
        try:
            yield response
        finally:
            with anyio.CancelScope(shield=True):  # close the connection even when the download is cancelled
                await response.aclose()
        return
    raise MediaError("http", f"could not connect to {redact(target.url)}; try again later") from failure


def _build(client: httpx2.AsyncClient, target: Target, address: str | None, headers: dict[str, str]) -> httpx2.Request:
    url = target.url
    sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "accept-encoding")}
    sent["Accept-Encoding"] = "identity"  # no decompression bombs; videos do not compress anyway
    extensions: dict[str, object] = {}
    if address is not None:
        # DNS pinning: connect to the address we checked, keep the name for Host, SNI and certificate checks, and
        # close afterwards so the pooled connection is never reused for another name on that IP.
        sent["Host"] = url.netloc.decode("ascii")
        sent["Connection"] = "close"
        if url.scheme == "https":
            extensions["sni_hostname"] = url.raw_host.decode("ascii").rstrip(".")
        url = url.copy_with(host=address)
    timeout = client.timeout if client.timeout.read is not None and client.timeout.connect is not None else None
    return client.build_request("GET", url, headers=sent, timeout=timeout or DEFAULT_TIMEOUT, extensions=extensions)


def _netos_reason(exc: httpx2.HTTPError) -> str:
    if isinstance(exc, httpx2.TimeoutException):
        return "the server stopped sending data (timed out)"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the connection closed before the whole video arrived"
    return f"network error ({type(exc).__name__})"


STALE_PART = 15 * 60.0  # a .part file not written for this long belongs to a download that died (kill -9)


def _clear_stale_parts(folder: Path, stem: str) -> None:
    """Remove this task's partial files left by a killed process; a live download keeps touching its own."""
    cutoff = time.time() - STALE_PART
    for part in folder.glob(f".{glob.escape(stem)}.*.part"):
        with suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()


async def _save(response: httpx2.Response, folder: Path, stem: str, max_bytes: int, shown: str) -> Path:
    """Stream the body into a .part file in folder, check size and signature, then fsync and rename into place."""
    too_large = MediaError("too_large", f"the video at {shown} is larger than the {max_bytes / 1048576:g} MB limit "
                           "(VIDEOGEN_MAX_DOWNLOAD_MB); raise the limit or use the link directly")
    length = response.headers.get("content-length", "")
    declared = int(length) if length.isdigit() else None
    if declared is not None and declared > max_bytes:
        raise too_large
    _clear_stale_parts(folder, stem)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".part")
    except OSError as exc:
        raise _disk_error(folder, exc) from exc
    is_open, done = True, False
    try:
        head, buf, total, kind = b"", bytearray(), 0, None
        try:
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > max_bytes:  # counted on what arrives, whatever Content-Length claimed
                    raise too_large
                if kind is None:
                    head += chunk[: _SNIFF - len(head)]
                    if len(head) >= _SNIFF:
                        kind = _require_video(head, shown)
                buf += chunk
                if len(buf) >= _FLUSH:
                    await anyio.to_thread.run_sync(_write_all, fd, bytes(buf))
                    buf.clear()
        except httpx2.HTTPError as exc:
            raise MediaError("http", f"downloading {shown} failed: {_netos_reason(exc)}; try again later") from exc
        kind = kind or _require_video(head, shown)
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        if declared is not None and not encoded and total != declared:
            raise MediaError("http", f"downloading {shown} failed: {total} bytes arrived but the server announced "
                             f"{declared}; try again later")
        await anyio.to_thread.run_sync(_write_all, fd, bytes(buf))
        await anyio.to_thread.run_sync(os.fsync, fd)
        is_open = False
        os.close(fd)
        final = folder / f"{stem}{kind[0]}"
        await anyio.to_thread.run_sync(_commit, tmp, final, folder)
        done = True
        return final
    except OSError as exc:
        raise _disk_error(folder, exc) from exc
    finally:  # also runs on cancellation: no partial file survives
        if is_open:
            os.close(fd)
        if not done:
            with suppress(OSError):
                os.unlink(tmp)


def _disk_error(folder: Path, exc: OSError) -> MediaError:
    return MediaError("disk", f"could not write the video into {_show(folder)}: {os_reason(exc)}; free some space or "
                      "set VIDEOGEN_DOWNLOAD_DIR to a writable folder")


def _require_video(head: bytes, shown: str) -> _Container:
    kind = _sniff_video(head)
    if kind is None:
        raise MediaError("not_video", f"{shown} did not return a video (got {_describe(head)}); the link may be "
                         "dead or an error page: query the task again for a fresh URL")
    return kind


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _commit(tmp: str, final: Path, folder: Path) -> None:
    # rename() never follows a symlink at the target, but refuse one anyway: someone is tampering with the folder.
    if final.parent != folder or final.is_symlink() or (final.exists() and not final.is_file()):
        raise MediaError("unsafe_path", f"refusing to replace {_show(final)}: it is a link or a folder; remove it")
    try:
        files.replace(tmp, final)
    except files.FileInUse as exc:
        raise MediaError("disk", f"could not save {_show(final)}: the previous video of that name is open in another "
                         "program (a video player?); close it, or use the video link meanwhile") from exc
    with suppress(OSError):  # persist the rename itself (POSIX; NTFS journals it)
        files.fsync_dir(folder)
