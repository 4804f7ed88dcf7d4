"""What a saved video really is (duration, size, frame rate, audio, bytes), how that differs from the request, its
JPEG poster frame and a contact sheet, read with PyAV (FFmpeg in-process: no ffmpeg binary, numpy or Pillow).

Blocking CPU work: callers run these in a worker thread. PyAV is imported on the first call, never at start-up.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.media import files

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame

log = logging.getLogger(__name__)

POSTER_AT = 0.25  # of the duration: past a fade-in, and past an image-to-video job's first frame (the input image)
POSTER_SIDE = 640  # px, the longer side: a 16:9 poster is 640x360, about 20-40 KB
SHEET_GRID = (3, 2)  # columns, rows
SHEET_SIDE = 320  # px, the longer side of each tile
JPEG_Q = 4  # MJPEG quantizer, 2 (best) .. 31: keeps small text legible


class ProbeError(Exception):
    """The file is not a video PyAV can read; the message says why."""


@dataclass(frozen=True)
class MediaFacts:
    """The task object's `media` (interface.md): what the saved file holds, which may not be what was asked."""

    duration_s: float
    width: int
    height: int
    fps: float | None
    has_audio: bool
    bytes: int

    def public(self) -> dict[str, Any]:
        return asdict(self)


def poster_path(video: Path) -> Path:
    """Where a video's poster is kept: beside it, `<task_id>.poster.jpg`."""
    return video.with_suffix(".poster.jpg")


def inspect(video: Path, *, poster: bool) -> MediaFacts:
    """The video's facts; with `poster`, its poster frame is also written beside it (atomically). A poster that
    cannot be made (a frame that does not decode, a full disk, the old poster open in a viewer on Windows) is
    logged and skipped: the facts stand on their own."""
    import av

    with _Open(video) as container:
        facts = _facts(container, video)
        if poster:
            try:
                frame = next(_frames_at(container, [facts.duration_s * POSTER_AT]))
                _write_atomic(poster_path(video), _jpeg(_fit(frame, POSTER_SIDE)))
            except (ProbeError, av.FFmpegError, OSError, ValueError) as exc:
                log.warning("no poster for %s: %s", video.name, exc)
    return facts


def contact_sheet(video: Path, grid: tuple[int, int] = SHEET_GRID) -> tuple[bytes, list[float]]:
    """A JPEG grid of frames spread evenly over the video (left to right, then down) and their times in seconds."""
    import av.filter

    cols, rows = grid
    with _Open(video) as container:
        duration = _facts(container, video).duration_s
        times = [round(duration * (i + 0.5) / (cols * rows), 2) for i in range(cols * rows)]
        tiles = [_fit(frame, SHEET_SIDE) for frame in _frames_at(container, times)]
    graph = av.filter.Graph()  # FFmpeg's own `tile` filter lays the grid out
    chain = [graph.add_buffer(width=tiles[0].width, height=tiles[0].height, format=tiles[0].format,
                              time_base=Fraction(1, 25)),
             graph.add("tile", f"{cols}x{rows}:padding=4:margin=4"), graph.add("buffersink")]
    for a, b in itertools.pairwise(chain):
        a.link_to(b)
    graph.configure()
    for i, tile in enumerate(tiles):
        tile.pts = i
        graph.push(tile)
    graph.push(None)
    sheet = graph.pull()
    assert isinstance(sheet, av.VideoFrame)
    return _jpeg(sheet), times


def check() -> tuple[bool, str]:
    """(works, what for `videogen-mcp doctor`): PyAV's version and the codecs the sandbox and posters use."""
    try:
        import av
    except ImportError as exc:
        return False, f"PyAV cannot load ({exc}): no sandbox videos, media facts or posters; reinstall `av`"
    missing = [name for name in ("libx264", "aac", "mjpeg") if name not in av.codecs_available]
    version = f"PyAV {av.__version__}, FFmpeg {getattr(av, 'ffmpeg_version_info', '?')}"
    if missing:
        return False, f"{version} lacks the {', '.join(missing)} encoder(s): sandbox videos or posters fail"
    return True, f"{version}: H.264/AAC sandbox videos, media facts, JPEG posters"


# --- the request against the file ----------------------------------------------------------------------------------

_SHORT_SIDE = {"480p": 480, "540p": 540, "720p": 720, "768p": 768, "1080p": 1080, "1440p": 1440, "2160p": 2160,
               "4k": 2160}  # "2048p"/"4096p" name a long side on some gateways, a short one on others: not checked


def differences(asked: Mapping[str, Any], got: MediaFacts, *, resolution: bool = True) -> list[str]:
    """How the file differs from what was asked (duration, aspect ratio, resolution, audio), as short phrases such
    as "asked 10 s, got 5.0 s". `resolution=False` leaves the resolution out (the sandbox renders small previews)."""
    out = []
    duration = asked.get("duration")
    if isinstance(duration, int | float) and duration > 0 and abs(got.duration_s - duration) > max(0.5, duration / 20):
        out.append(f"asked {duration:g} s, got {got.duration_s:.1f} s")
    ratio = _ratio(asked.get("aspect_ratio"))
    if ratio and got.height and abs(got.width / got.height - ratio) / ratio > 0.03:
        out.append(f"asked {asked['aspect_ratio']}, got {got.width}x{got.height}")
    side = _SHORT_SIDE.get(str(asked.get("resolution") or "").lower())
    if resolution and side and abs(min(got.width, got.height) - side) > side / 10:
        out.append(f"asked {asked['resolution']}, got {got.width}x{got.height}")
    if asked.get("audio") is True and not got.has_audio:
        out.append("asked for audio, got a silent video")
    elif asked.get("audio") is False and got.has_audio:
        out.append("asked for no audio, got an audio track")
    return out


def _ratio(value: Any) -> float | None:
    w, _, h = str(value or "").partition(":")
    try:
        return float(w) / float(h) if float(h) > 0 else None
    except ValueError:
        return None  # nothing asked, or "adaptive"


# --- PyAV ----------------------------------------------------------------------------------------------------------


class _Open:
    """`av.open` whose failures are ProbeError, and which insists on a video stream."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> InputContainer:
        import av

        try:
            self.container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError) as exc:
            why = exc.strerror if isinstance(exc, av.FFmpegError | OSError) and exc.strerror else str(exc)
            raise ProbeError(f"{self.path.name} cannot be read as a video ({why})") from exc
        if not self.container.streams.video:
            self.container.close()
            raise ProbeError(f"{self.path.name} has no video stream")
        return self.container

    def __exit__(self, *exc: object) -> None:
        self.container.close()


def _facts(container: InputContainer, path: Path) -> MediaFacts:
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)  # the picture's own length, not the audio's
    else:
        duration = (container.duration or 0) / 1_000_000  # microseconds (av.time_base); WebM has no stream duration
    rate = stream.average_rate or stream.guessed_rate
    return MediaFacts(duration_s=round(duration, 3), width=stream.codec_context.width,
                      height=stream.codec_context.height, fps=round(float(rate), 3) if rate else None,
                      has_audio=bool(container.streams.audio), bytes=path.stat().st_size)


def _frames_at(container: InputContainer, times: list[float]) -> Iterator[VideoFrame]:
    """The frame on screen at each of `times` (ascending, seconds): the last one that starts at or before it. One
    time: seek to the keyframe before it and decode forward. Several: one pass over the packets finds the keyframes,
    and decoding seeks only when the keyframe before the next time lies beyond the frame already decoded."""
    stream = container.streams.video[0]
    base = stream.time_base or Fraction(1, 90_000)
    start = stream.start_time or 0
    keys: list[int] | None = None
    if len(times) > 1:
        keys = sorted(p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
    frames: Iterator[VideoFrame] = iter(())
    last: VideoFrame | None = None  # the last frame decoded that starts at or before the time asked
    ahead: VideoFrame | None = None  # the frame decoded after it, already past that time
    for t in times:
        target = start + int(t / base)
        key = target if keys is None else max((k for k in keys if k <= target), default=start)
        if last is None or (last.pts is not None and key > last.pts):
            container.seek(key, stream=stream, backward=True)
            frames, last, ahead = container.decode(stream), None, None
        while True:
            frame = ahead or next(frames, None)
            ahead = None
            if frame is None:
                break  # past the end: the last frame
            if last is not None and frame.pts is not None and frame.pts > target:
                ahead = frame
                break
            last = frame
        if last is None:
            raise ProbeError("the video has no decodable frame")
        yield last


def _fit(frame: VideoFrame, side: int) -> VideoFrame:
    """The frame scaled down (never up) to `side` px on its longer side, even sides, in MJPEG's full-range YUV."""
    scale = min(1.0, side / max(frame.width, frame.height))
    width, height = max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2)
    return frame.reformat(width=width, height=height, format="yuvj420p", interpolation="AREA")


def _jpeg(frame: VideoFrame) -> bytes:
    import av

    ctx = av.CodecContext.create("mjpeg", "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = frame.width, frame.height, "yuvj420p", Fraction(1, 25)
    ctx.qmin = ctx.qmax = JPEG_Q
    return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        files.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
