"""Seeing the result through the SDK's in-process Client: the poster (image block and videogen://posters/{id}), the
task's `media` read from the saved file, the text's note when the file differs from the request, the contact sheet,
and VIDEOGEN_PREVIEW=0."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import av
import pytest
from fakes.gateways import Timeline, fake_for
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_support import make_settings
from mcp_types import Implementation

from providers.sandbox_video import Clip, render
from server.app import build_server
from server.media import probe

pytestmark = pytest.mark.anyio
NAMED = Implementation(name="claude-code", version="2")  # a client that gets links and the poster
KEY = "sk-SENTINEL-PREVIEW-4242"


def image_size(jpeg: bytes, tmp_path: Path) -> tuple[int, int]:
    assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"
    path = tmp_path / "seen.jpg"
    path.write_bytes(jpeg)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    return frame.width, frame.height


async def test_a_finished_sandbox_job_carries_its_poster_and_the_files_media(server, tmp_path):
    async with Client(server, client_info=NAMED) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a paper boat", "duration": 10,
                                                 "aspect_ratio": "9:16", "wait_seconds": 20})
        task = r.structured_content
        assert task["status"] == "succeeded", r.content[0].text
        video = Path(task["local_path"])
        with av.open(str(video)) as container:  # the file itself, read independently of server.media.probe
            stream = container.streams.video[0]
            real = {"duration_s": float(stream.duration * stream.time_base), "width": stream.width,
                    "height": stream.height, "fps": float(stream.average_rate),
                    "has_audio": bool(container.streams.audio), "bytes": video.stat().st_size}
        assert task["media"] == real == {"duration_s": 10.0, "width": 360, "height": 640, "fps": 24.0,
                                         "has_audio": False, "bytes": video.stat().st_size}
        assert task["warning"] is None, "the sandbox renders what was asked (its 360p size is not a mismatch)"
        assert "The video: 10.0 s, 360x640, 24 fps, silent." in r.content[0].text

        [image] = [b for b in r.content if b.type == "image"]
        assert r.content[1] is image and image.mime_type == "image/jpeg"
        poster = base64.b64decode(image.data)
        assert len(poster) < 60_000 and image_size(poster, tmp_path) == (360, 640)
        assert poster == probe.poster_path(video).read_bytes()

        read = await c.read_resource(f"videogen://posters/{task['task_id']}")
        assert read.contents[0].mime_type == "image/jpeg" and base64.b64decode(read.contents[0].blob) == poster
        listed = {str(res.uri) for res in (await c.list_resources()).resources}
        assert f"videogen://posters/{task['task_id']}" in listed
        templates = (await c.list_resource_templates()).resource_templates
        assert "videogen://posters/{task_id}" in {tpl.uri_template for tpl in templates}

        again = await c.call_tool("get_video_task", {"task_id": task["task_id"]})
        assert [b.type for b in again.content] == ["text", "image", "resource_link", "resource_link"]


async def test_the_text_says_how_the_video_differs_from_the_request(tmp_path):
    """A gateway that returns a 5 s landscape clip with no sound for a 10 s portrait request with audio."""
    gw = fake_for("orcarouter", api_key=KEY, content=render(Clip(5, (16, 9), "not what you asked")))
    gw.script(Timeline(seconds=0))
    with gw.serve() as base_url:
        settings = make_settings(tmp_path, VIDEOGEN_SANDBOX=False, ORCAROUTER_API_KEY=KEY, ORCAROUTER_BASE_URL=base_url)
        async with Client(build_server(settings, download_default=True), client_info=NAMED) as c:
            r = await c.call_tool("generate_video", {"model": "orcarouter/kling/kling-v2-6", "prompt": "a harbour",
                                                     "duration": 10, "aspect_ratio": "9:16", "resolution": "1080p",
                                                     "audio": True, "wait_seconds": 20})
    task = r.structured_content
    assert task["status"] == "succeeded", r.content[0].text
    assert task["media"]["duration_s"] == 5.0 and (task["media"]["width"], task["media"]["height"]) == (640, 360)
    said = ("The video differs from the request: asked 10 s, got 5.0 s; asked 9:16, got 640x360; asked 1080p, got "
            "640x360; asked for audio, got a silent video.")
    assert task["warning"] == said and f"Note: {said}" in r.content[0].text
    assert KEY not in str(r.content) and KEY not in str(task)


async def test_a_contact_sheet_on_request(server, tmp_path):
    async with Client(server) as c:  # the SDK's default name: no poster, but the sheet it asks for
        r = await c.call_tool("generate_video", {"model": "sandbox/veo-sim", "prompt": "a kite", "duration": 4,
                                                 "wait_seconds": 20})
        task_id = r.structured_content["task_id"]
        assert [b.type for b in r.content] == ["text"]
        sheet = await c.call_tool("get_video_task", {"task_id": task_id, "contact_sheet": True})
        none = await c.call_tool("get_video_task", {"task_id": task_id, "contact_sheet": None})
    assert not sheet.is_error
    text, caption, image = sheet.content
    assert caption.text == "Contact sheet: 6 frames at 0.33, 1, 1.67, 2.33, 3, 3.67 s (left to right, then down)."
    assert image.type == "image" and image_size(base64.b64decode(image.data), tmp_path) == (3 * 320 + 16, 2 * 180 + 12)
    assert [b.type for b in none.content] == ["text"]


async def test_preview_off_sends_no_image_and_serves_no_poster(tmp_path):
    settings = make_settings(tmp_path, VIDEOGEN_PREVIEW=False)
    async with Client(build_server(settings, download_default=True), client_info=NAMED) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "fog", "wait_seconds": 20})
        task = r.structured_content
        assert task["status"] == "succeeded" and task["media"]["duration_s"] == 5.0  # facts are still read
        assert "image" not in [b.type for b in r.content]
        assert not probe.poster_path(Path(task["local_path"])).exists()
        with pytest.raises(MCPError, match=r"VIDEOGEN_PREVIEW=0"):
            await c.read_resource(f"videogen://posters/{task['task_id']}")
        sheet = await c.call_tool("get_video_task", {"task_id": task["task_id"], "contact_sheet": True})
    assert [b.type for b in sheet.content] == ["text", "text", "resource_link", "resource_link"]
    assert sheet.content[1].text == "No contact sheet: previews are off on this server (VIDEOGEN_PREVIEW=0)."


async def test_no_poster_before_the_video_is_saved(server):
    async with Client(server, client_info=NAMED) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "rain", "wait_seconds": 0})
        task_id = r.structured_content["task_id"]
        with pytest.raises(MCPError, match="no saved video with a poster frame yet"):
            await c.read_resource(f"videogen://posters/{task_id}")
        sheet = await c.call_tool("get_video_task", {"task_id": task_id, "contact_sheet": True})
    assert "image" not in [b.type for b in r.content + sheet.content]
    assert sheet.content[1].text == "No contact sheet: the task has not succeeded yet."


async def test_a_contact_sheet_that_takes_too_long_is_given_up_in_bounded_time(server, monkeypatch):
    from server.surface import preview

    async with Client(server) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "slow", "wait_seconds": 20})
        monkeypatch.setattr(preview, "SHEET_SECONDS", 0.2)
        monkeypatch.setattr(probe, "contact_sheet", lambda video: time.sleep(1.0))  # a clip that decodes slowly
        started = time.monotonic()
        sheet = await c.call_tool("get_video_task", {"task_id": r.structured_content["task_id"], "contact_sheet": True})
    assert time.monotonic() - started < 0.9
    assert sheet.content[-1].text == "No contact sheet: making it took over 0.2 s."
