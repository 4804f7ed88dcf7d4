"""The sandbox renders the request: length, aspect ratio, sound, the prompt's words and a moving square, as an H.264 +
AAC MP4 that browsers play, in well under a second of CPU; and its gateway carries the clip in the task id."""

from __future__ import annotations

import io
import time

import av
import pytest

from providers import sandbox_font as font
from providers.sandbox_gateway import Job, clip_part
from providers.sandbox_video import ACCENT, FPS, INK, Clip, _Layout, render


def frames(data: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(data)) as container:
        return list(container.decode(video=0))


@pytest.mark.parametrize(("clip", "size"), [
    (Clip(5, (9, 16), "a paper boat", audio=True), (360, 640)),
    (Clip(10, (16, 9), "a paper boat"), (640, 360)),
    (Clip(4, (1, 1), ""), (360, 360)),
    (Clip(6, (21, 9), "wide"), (840, 360)),
])
def test_the_clip_has_the_asked_length_ratio_and_sound_in_codecs_browsers_play(clip: Clip, size: tuple[int, int]):
    data = render(clip)
    assert data.index(b"moov") < data.index(b"mdat")  # the index first: playable while it streams
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (video.width, video.height) == size and video.average_rate == FPS
        assert video.frames == clip.seconds * FPS and float(video.duration * video.time_base) == clip.seconds
        assert [a.codec_context.name for a in container.streams.audio] == (["aac"] if clip.audio else [])


def test_a_ten_second_clip_with_sound_takes_well_under_a_second_of_cpu():
    render(Clip(1, (16, 9), "warm-up"))  # PyAV's import and FFmpeg's first use are not the render
    started = time.process_time()
    data = render(Clip(10, (16, 9), "a paper boat drifting down a rainy street", audio=True))
    cpu = time.process_time() - started
    assert cpu < 1.0, f"{cpu:.2f} s of CPU"
    assert len(data) < 200_000


def test_the_prompts_words_are_drawn_in_the_font():
    clip = Clip(1, (16, 9), "Hello, boat 42!")
    first = frames(render(clip))[0]
    luma, stride = bytes(first.planes[0]), first.planes[0].line_size
    lay = _Layout(first.width, first.height)
    top = lay.margin + 2 * font.CELL_H * lay.small
    (line,) = font.wrap(clip.words, lay.chars(lay.big), 3)
    assert line == "HELLO, BOAT 42!"
    ink = blank = 0
    for i, char in enumerate(line):
        for row, pixels in enumerate(font.rows(char)):
            for col, pixel in enumerate(pixels):  # the middle of each font pixel's block
                x = lay.margin + (i * font.CELL_W + col) * lay.big + lay.big // 2
                y = top + row * lay.big + lay.big // 2
                value = luma[y * stride + x]
                if pixel == "#":
                    ink += 1
                    assert value > INK[0] - 40, (char, row, col, value)
                else:
                    blank += 1
                    assert value < 110, (char, row, col, value)
    assert ink > 100 and blank > 100


def test_the_square_moves_and_the_clock_runs():
    clip = Clip(2, (16, 9), "motion")
    decoded = frames(render(clip))
    lay = _Layout(decoded[0].width, decoded[0].height)

    def square_x(frame: av.VideoFrame) -> float:  # the orange square: low U on its row of the chroma plane
        plane = frame.planes[1]
        row = bytes(plane)[(lay.track_y + lay.square // 2) // 2 * plane.line_size:][: frame.width // 2]
        xs = [2 * x for x, u in enumerate(row) if u < (ACCENT[1] + 128) // 2]
        assert xs, "the square is on screen"
        return sum(xs) / len(xs)

    positions = [square_x(decoded[i]) for i in (0, 12, 24, 36)]  # 0, 0.5, 1 and 1.5 s
    assert positions == sorted(positions) and positions[-1] - positions[0] > decoded[0].width / 3
    clock_band = slice((lay.track_y - 2 * font.CELL_H * lay.small) * decoded[0].planes[0].line_size,
                       lay.track_y * decoded[0].planes[0].line_size)
    assert bytes(decoded[0].planes[0])[clock_band] != bytes(decoded[30].planes[0])[clock_band]


def test_the_sound_is_a_beep_each_second():
    with av.open(io.BytesIO(render(Clip(3, (16, 9), "beep", audio=True)))) as container:
        stream = container.streams.audio[0]
        samples = [s for f in container.decode(stream)  # mono float planes, each padded beyond its samples
                   for s in memoryview(bytes(f.planes[0])).cast("f")[: f.samples]]
    rate = stream.codec_context.sample_rate
    assert abs(len(samples) / rate - 3) < 0.1

    def loudness(at: float) -> float:
        return max(abs(s) for s in samples[int(at * rate):int((at + 0.05) * rate)])

    assert all(loudness(t) > 0.1 for t in (0.03, 1.03, 2.03)) and all(loudness(t) < 0.02 for t in (0.5, 1.5, 2.5))


def test_the_task_id_carries_the_clip_to_render():
    part = clip_part({"seconds": "10", "metadata": {"aspect_ratio": "9:16", "audio": True}},
                     "Café à Paris, a paper boat [FAIL] in the rain")
    assert part == "10s9x16a_cafe-a-paris-a-paper-boat-in-the-rain"
    job = Job.parse(f"sbx_1764684000000_8000_f_{part}_0123456789abcdef")
    assert job is not None and job.flags == "f"
    assert (job.seconds, job.ratio, job.audio) == (10, (9, 16), True)
    assert job.words == "cafe a paris a paper boat in the rain"
    long = clip_part({}, "one two three four five six seven eight nine ten eleven twelve thirteen")
    assert long == "5s16x9_one-two-three-four-five-six-seven-eight-nine-ten-eleven-"  # cut: "-" at the end
    cut = Job.parse(f"sbx_1_2__{long}_0123456789abcdef")
    assert cut is not None and cut.words.endswith("eleven...")
    assert clip_part({"seconds": "x", "metadata": {"aspect_ratio": "adaptive"}}, "") == "5s16x9_"
    before = Job.parse("sbx_1764684000000_8000__0123456789abcdef")  # an id made before ids carried the clip
    assert before is not None and (before.seconds, before.ratio, before.audio, before.words) == (5, (16, 9), False, "")


def test_words_wrap_into_the_lines_that_fit_and_a_cut_says_so():
    words = "a very long prompt about a lighthouse keeper who paints the sea every morning"
    assert font.wrap(words, 16, 5) == ["A VERY LONG", "PROMPT ABOUT A", "LIGHTHOUSE", "KEEPER WHO", "PAINTS THE..."]
    assert font.wrap("supercalifragilistic word", 10, 2) == ["SUPERCALIF", "RAGILIS..."]  # a word longer than a line
    assert font.wrap("Crème brûlée à la carte", 30, 1) == ["CREME BRULEE A LA CARTE"]  # accents dropped, not boxes
    box = font.rows("\u732b")  # a character the font lacks: a hollow box
    assert box == font.rows("~") != font.rows("O") and len(box) == font.HEIGHT and box[0] == "#####"
