"""Media facts, posters and contact sheets (server.media.probe) on real H.264 files made here with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from providers.sandbox_video import Clip, render
from server.media import probe
from server.media.probe import MediaFacts, differences


@pytest.fixture(scope="module")
def portrait(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "vg_portrait.mp4"
    path.write_bytes(render(Clip(5, (9, 16), "a paper boat", audio=True)))
    return path


def numbered(path: Path, frames: int, gop: int) -> Path:
    """A 24 fps clip whose frame i is a flat grey of luma 16 + 4 i (so a decoded frame says which one it is)."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24, options={"preset": "ultrafast", "crf": "1", "g": str(gop),
                                                             "keyint_min": str(gop), "sc_threshold": "0"})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame(64, 64, "yuv420p")
            for plane, value in zip(frame.planes, (16 + 4 * i, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def index_of(frame: av.VideoFrame) -> int:
    luma = bytes(frame.planes[0])[frame.planes[0].line_size * 32 + 32]  # the middle pixel
    return round((luma - 16) / 4)


def decoded_jpeg(data: bytes, tmp_path: Path) -> av.VideoFrame:
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"  # a whole JPEG
    path = tmp_path / "image.jpg"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def test_facts_are_read_from_the_file(portrait: Path):
    facts = probe.inspect(portrait, poster=False)
    assert facts == MediaFacts(duration_s=5.0, width=360, height=640, fps=24.0, has_audio=True,
                               bytes=portrait.stat().st_size)
    assert not probe.poster_path(portrait).exists()
    assert facts.public() == {"duration_s": 5.0, "width": 360, "height": 640, "fps": 24.0, "has_audio": True,
                              "bytes": portrait.stat().st_size}


def test_the_poster_is_a_small_jpeg_beside_the_video(portrait: Path, tmp_path: Path):
    probe.inspect(portrait, poster=True)
    path = probe.poster_path(portrait)
    assert path == portrait.with_name("vg_portrait.poster.jpg")
    data = path.read_bytes()
    assert len(data) < 60_000
    image = decoded_jpeg(data, tmp_path)
    assert (image.width, image.height) == (360, 640)  # never scaled up; 640 px is the longer side's cap
    assert not list(portrait.parent.glob("*.part"))


def test_the_poster_of_a_large_video_is_640_px_wide(tmp_path: Path):
    video = tmp_path / "vg_big.mp4"
    video.write_bytes(render(Clip(1, (16, 9), "big"), short_side=720))
    assert probe.inspect(video, poster=True).width == 1280
    image = decoded_jpeg(probe.poster_path(video).read_bytes(), tmp_path)
    assert (image.width, image.height) == (640, 360)


@pytest.mark.parametrize("gop", [6, 250])  # keyframes every 0.25 s, or only the first: both paths of the seek plan
def test_frames_are_the_ones_on_screen_at_each_time(tmp_path: Path, gop: int):
    video = numbered(tmp_path / "numbered.mp4", 48, gop)
    times = [0.0, 0.3, 0.31, 1.0, 1.5, 1.96]
    with probe._Open(video) as container:
        got = [index_of(frame) for frame in probe._frames_at(container, times)]
    assert got == [0, 7, 7, 24, 36, 47]  # the frame on screen: 0.3 s is 7.2 frames in, so frame 7 still shows
    with probe._Open(video) as container:  # one time: a straight seek
        assert [index_of(f) for f in probe._frames_at(container, [1.25])] == [30]
    with probe._Open(video) as container:  # past the end: the last frame
        assert [index_of(f) for f in probe._frames_at(container, [1.9, 5.0])] == [45, 47]


def test_the_contact_sheet_shows_six_frames_spread_over_the_video(portrait: Path, tmp_path: Path):
    data, times = probe.contact_sheet(portrait)
    assert times == [0.42, 1.25, 2.08, 2.92, 3.75, 4.58]
    sheet = decoded_jpeg(data, tmp_path)
    tile_w, tile_h = 180, 320  # 360x640 scaled to 320 px on the longer side
    assert (sheet.width, sheet.height) == (3 * tile_w + 4 * 4, 2 * tile_h + 3 * 4)  # 3x2 tiles, 4 px gaps
    luma, stride = bytes(sheet.planes[0]), sheet.planes[0].line_size

    def tile(i: int) -> bytes:  # the band the moving square crosses, in tile i
        x0, y0 = 4 + (i % 3) * (tile_w + 4), 4 + (i // 3) * (tile_h + 4)
        return b"".join(luma[(y0 + y) * stride + x0:(y0 + y) * stride + x0 + tile_w] for y in range(250, 300))

    assert len({tile(i) for i in range(6)}) == 6  # six different moments, not one frame six times


def test_a_file_that_is_not_a_video_is_a_probe_error(tmp_path: Path):
    bad = tmp_path / "vg_bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 512)
    with pytest.raises(probe.ProbeError, match="vg_bad.mp4 cannot be read as a video"):
        probe.inspect(bad, poster=True)
    audio_only = tmp_path / "vg_audio.m4a"
    with av.open(str(audio_only), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(4096))
        frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(probe.ProbeError, match="has no video stream"):
        probe.inspect(audio_only, poster=False)


FIVE_S_PORTRAIT = MediaFacts(duration_s=5.04, width=720, height=1280, fps=24.0, has_audio=False, bytes=1)


@pytest.mark.parametrize(("asked", "said"), [
    ({"duration": 5, "aspect_ratio": "9:16", "resolution": "720p", "audio": False}, []),  # 40 ms over: fine
    ({"duration": 10}, ["asked 10 s, got 5.0 s"]),
    ({"aspect_ratio": "16:9"}, ["asked 16:9, got 720x1280"]),
    ({"aspect_ratio": "adaptive", "resolution": "4096p"}, []),  # nothing to compare against
    ({"resolution": "1080p"}, ["asked 1080p, got 720x1280"]),
    ({"audio": True}, ["asked for audio, got a silent video"]),
    ({"duration": 10, "audio": True, "aspect_ratio": "1:1"},
     ["asked 10 s, got 5.0 s", "asked 1:1, got 720x1280", "asked for audio, got a silent video"]),
])
def test_differences_name_what_the_file_does_not_match(asked: dict, said: list[str]):
    assert differences(asked, FIVE_S_PORTRAIT) == said


def test_differences_can_leave_the_resolution_out_and_see_unasked_audio():
    facts = MediaFacts(duration_s=8.0, width=640, height=360, fps=24.0, has_audio=True, bytes=1)
    assert differences({"resolution": "1080p", "duration": 8}, facts, resolution=False) == []
    assert differences({"audio": False}, facts) == ["asked for no audio, got an audio track"]


def test_a_poster_that_cannot_be_written_leaves_the_facts(portrait: Path, tmp_path: Path, caplog):
    video = tmp_path / "vg_blocked.mp4"
    video.write_bytes(portrait.read_bytes())
    probe.poster_path(video).mkdir()  # a folder where the poster should go: the rename into place fails
    facts = probe.inspect(video, poster=True)
    assert facts.duration_s == 5.0 and facts.bytes == video.stat().st_size
    assert "no poster for vg_blocked.mp4" in caplog.text
    assert not list(tmp_path.glob("*.part"))
