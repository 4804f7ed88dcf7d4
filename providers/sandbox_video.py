"""The sandbox's video: a real H.264 + AAC MP4 of the requested length and aspect ratio showing the prompt's words, a
clock, a progress bar and a moving square (and a beep each second when audio was asked). Rendered with PyAV at a
preview size (short side 360 px): a 10 s clip takes about 0.3 s of CPU. Blocking: the gateway runs it in a thread."""

from __future__ import annotations

import math
import os
import tempfile
from array import array
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from providers import sandbox_font as font

FPS = 24
SHORT_SIDE = 360
SAMPLE_RATE = 48_000
# Colours as (Y, U, V), BT.601 limited range, which is what H.264 players assume without colour tags.
BACKGROUND = (42, 143, 121)  # deep blue
INK = (235, 128, 128)  # white
DIM = (150, 128, 128)  # grey
ACCENT = (152, 50, 188)  # orange


@dataclass(frozen=True)
class Clip:
    """What to render: length in seconds, aspect ratio (w, h), the prompt's words, and whether to add sound."""

    seconds: float
    ratio: tuple[int, int] = (16, 9)
    words: str = ""
    audio: bool = False

    def size(self, short_side: int = SHORT_SIDE) -> tuple[int, int]:
        w, h = self.ratio
        if w >= h:
            return _even(short_side * w / h), _even(short_side)
        return _even(short_side), _even(short_side * h / w)


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)  # 4:2:0 video needs even sides


def render(clip: Clip, *, short_side: int = SHORT_SIDE) -> bytes:
    """The clip as MP4 bytes (moov first, so it plays while it streams)."""
    import av  # PyAV: loaded on the first sandbox video, never at start-up

    width, height = clip.size(short_side)
    lay = _Layout(width, height)
    with tempfile.TemporaryDirectory(prefix="videogen-sandbox-") as tmp:
        path = os.path.join(tmp, "clip.mp4")  # +faststart rewrites the file, which a BytesIO cannot do
        with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=FPS, options={
                "preset": "ultrafast", "tune": "zerolatency", "crf": "26"})
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.thread_count = 1  # the CPU figure above is one core's; the machine may be busy with other work
            sound = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if clip.audio else None
            strides = tuple(p.line_size for p in av.VideoFrame(width, height, "yuv420p").planes)
            still = _still(clip, lay, Canvas(width, height, strides))
            for i in range(max(1, round(clip.seconds * FPS))):
                canvas = still.copy()
                _animate(canvas, lay, i / FPS, clip.seconds)
                frame = av.VideoFrame(width, height, "yuv420p")
                for plane, data in zip(frame.planes, canvas.planes, strict=True):
                    plane.update(bytes(data))
                frame.pts = i
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
            if sound is not None:
                _beeps(av, out, sound, clip.seconds)
        with open(path, "rb") as fh:
            return fh.read()


class Canvas:
    """One YUV 4:2:0 picture: three byte planes laid out with the strides PyAV's frames use."""

    def __init__(self, width: int, height: int, strides: tuple[int, ...]) -> None:
        self.w, self.h, self.strides = width, height, strides
        self.planes = [bytearray(strides[0] * height), bytearray(strides[1] * (height // 2)),
                       bytearray(strides[2] * (height // 2))]

    def copy(self) -> Canvas:
        other = Canvas.__new__(Canvas)
        other.w, other.h, other.strides = self.w, self.h, self.strides
        other.planes = [bytearray(p) for p in self.planes]
        return other

    def fill(self, color: tuple[int, int, int]) -> None:
        for plane, value in zip(self.planes, color, strict=True):
            plane[:] = bytes([value]) * len(plane)

    def rect(self, x: int, y: int, w: int, h: int, color: tuple[int, int, int]) -> None:
        x0, y0, x1, y1 = max(0, x), max(0, y), min(self.w, x + w), min(self.h, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        self._span(0, x0, y0, x1, y1, color[0])
        for i in (1, 2):  # chroma: half resolution both ways
            self._span(i, x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2, color[i])

    def _span(self, i: int, x0: int, y0: int, x1: int, y1: int, value: int) -> None:
        plane, stride, run = self.planes[i], self.strides[i], bytes([value]) * (x1 - x0)
        for row in range(y0, y1):
            plane[row * stride + x0: row * stride + x1] = run

    def text(self, x: int, y: int, line: str, scale: int, color: tuple[int, int, int]) -> None:
        for i, char in enumerate(line):
            left = x + i * font.CELL_W * scale
            for row, col, length in font.runs(char):
                self.rect(left + col * scale, y + row * scale, length * scale, scale, color)


class _Layout:
    """Where things go, in proportion to the short side."""

    def __init__(self, width: int, height: int) -> None:
        s = min(width, height)
        self.w, self.h = width, height
        self.margin = s // 12
        self.small, self.big = max(1, s // 180), max(2, s // 120)  # text scales: title and clock, prompt
        self.square = s // 9
        self.bar = max(2, s // 60)
        self.bar_y = height - self.margin - self.bar
        self.track_y = self.bar_y - s // 20 - self.square

    def chars(self, scale: int) -> int:
        return max(1, (self.w - 2 * self.margin) // (font.CELL_W * scale))


def _still(clip: Clip, lay: _Layout, c: Canvas) -> Canvas:
    """What does not move: background, title, the prompt's words, the empty progress bar."""
    c.fill(BACKGROUND)
    for row in range(c.h):  # a soft vertical gradient, lighter at the top
        c.planes[0][row * c.strides[0]: row * c.strides[0] + c.w] = bytes([BACKGROUND[0] + 18 - 36 * row // c.h]) * c.w
    title = f"SANDBOX {clip.ratio[0]}:{clip.ratio[1]} {clip.seconds:g} S" + (" AUDIO" if clip.audio else "")
    c.text(lay.margin, lay.margin, font.wrap(title, lay.chars(lay.small), 1)[0], lay.small, DIM)
    top, line_h = lay.margin + 2 * font.CELL_H * lay.small, (font.CELL_H + 2) * lay.big
    room = max(1, (lay.track_y - 2 * font.CELL_H * lay.small - top) // line_h)
    for n, line in enumerate(font.wrap(clip.words or "(no prompt words)", lay.chars(lay.big), room)):
        c.text(lay.margin, top + n * line_h, line, lay.big, INK)
    c.rect(lay.margin, lay.bar_y, c.w - 2 * lay.margin, lay.bar, DIM)
    return c


def _animate(c: Canvas, lay: _Layout, t: float, seconds: float) -> None:
    """What moves at time t: the square (there and back every 4 s), the progress bar and the clock."""
    phase = (t / 2.0) % 2
    span = c.w - 2 * lay.margin - lay.square
    c.rect(lay.margin + int(span * (phase if phase <= 1 else 2 - phase)), lay.track_y, lay.square, lay.square, ACCENT)
    c.rect(lay.margin, lay.bar_y, int((c.w - 2 * lay.margin) * min(1.0, t / seconds)) if seconds > 0 else 0, lay.bar,
           ACCENT)
    clock = f"{int(t // 60)}:{t % 60:04.1f}"
    c.text(c.w - lay.margin - len(clock) * font.CELL_W * lay.small, lay.track_y - 2 * font.CELL_H * lay.small,
           clock, lay.small, INK)


def _beeps(av: Any, out: Any, stream: Any, seconds: float) -> None:
    """A 0.12 s 880 Hz beep at each whole second, silence between: one second is computed, then repeated."""
    beep = int(0.12 * SAMPLE_RATE)
    second = array("f", (0.3 * math.sin(2 * math.pi * 880 * n / SAMPLE_RATE) if n < beep else 0.0
                         for n in range(SAMPLE_RATE)))
    total = int(seconds * SAMPLE_RATE)
    samples = (second * (total // SAMPLE_RATE + 1))[:total]
    size = 1024  # samples per AAC frame
    for start in range(0, total, size):
        chunk = samples[start:start + size]
        chunk.extend([0.0] * (size - len(chunk)))
        frame = av.AudioFrame(format="flt", layout="mono", samples=size)
        frame.planes[0].update(chunk.tobytes())
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
