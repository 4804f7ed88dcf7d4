"""The MCP surface through the SDK's in-process Client, in both protocol eras, on the keyless sandbox."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation

from server.surface.schemas import GENERATE_OUTPUT_SCHEMA
from server.tasks import TASK_OUTPUT_SCHEMA

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
MODEL = "sandbox/kling-sim"


@pytest.mark.parametrize("mode", MODES)
async def test_lists_three_tools_with_schemas_built_from_the_catalogs(server, mode):
    async with Client(server, mode=mode) as c:
        tools = {tl.name: tl for tl in (await c.list_tools()).tools}
    assert set(tools) == {"generate_video", "get_video_task", "list_video_models"}
    gv = tools["generate_video"]
    assert MODEL in gv.input_schema["properties"]["model"]["enum"]
    assert gv.input_schema["additionalProperties"] is False
    assert gv.output_schema == GENERATE_OUTPUT_SCHEMA  # the task, or a dry run
    assert tools["get_video_task"].output_schema == TASK_OUTPUT_SCHEMA
    # read-only is left out (false by default: smaller tools/list); destructive must be said, it defaults to true
    assert not gv.annotations.read_only_hint and gv.annotations.destructive_hint is False
    assert gv.annotations.open_world_hint is True
    assert "paid" in gv.description
    assert tools["get_video_task"].annotations.read_only_hint is True
    assert tools["list_video_models"].annotations.idempotent_hint is True


@pytest.mark.parametrize("mode", MODES)
async def test_list_video_models_gives_ids_and_constraints(server, mode):
    async with Client(server, mode=mode) as c:
        r = await c.call_tool("list_video_models", {})
    assert not r.is_error
    models = {m["id"]: m for m in r.structured_content["models"]}
    kling = models[MODEL]
    assert kling["provider"] == "sandbox" and kling["sandbox"] is True
    assert kling["durations"] == [5, 10] and "16:9" in kling["aspect_ratios"]
    assert kling["inputs"]["first_frame"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_generate_on_sandbox_reports_progress_and_delivers_an_mp4(server, settings, mode):
    events: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append((progress, total, message))

    async with Client(server, mode=mode, client_info=Implementation(name="claude-code", version="2")) as c:
        r = await c.call_tool("generate_video", {"model": MODEL, "prompt": "a red fox in snow", "wait_seconds": 20},
                              progress_callback=on_progress)
        await anyio.sleep(0.1)  # over JSON-RPC, notifications race the result
        task = r.structured_content
        assert not r.is_error, r.content[0].text
        assert task["status"] == "succeeded" and task["sandbox"] is True
        assert task["video_url"] and task["task_id"].startswith("vg_")
        local = Path(task["local_path"])
        assert local.is_file() and local.read_bytes()[4:8] == b"ftyp"
        assert local.parent == settings.videos_dir
        assert "sandbox" in r.content[0].text and "succeeded" in r.content[0].text
        assert task["expires_at"], "the sandbox documents a 1-day link lifetime"
        assert "link works until" in r.content[0].text
        links = [b for b in r.content if b.type == "resource_link"]
        assert links[0].mime_type == "video/mp4" and links[0].uri == f"videogen://videos/{task['task_id']}"

        video = await c.read_resource(links[0].uri)
        assert base64.b64decode(video.contents[0].blob) == local.read_bytes()
        assert video.contents[0].mime_type == "video/mp4"
        record = await c.read_resource(f"videogen://tasks/{task['task_id']}")
        assert json.loads(record.contents[0].text)["status"] == "succeeded"
        listing = await c.read_resource("videogen://tasks")
        assert [t["task_id"] for t in json.loads(listing.contents[0].text)["tasks"]] == [task["task_id"]]

    values = [e[0] for e in events]
    assert values == sorted(values) and len(set(values)) == len(values), "progress must strictly rise"
    assert values[-1] == 100 and events[-1][1] == 100
    assert all(e[2] for e in events), "every notification carries a message"


@pytest.mark.parametrize("mode", MODES)
async def test_short_wait_returns_a_handle_that_get_video_task_completes(tmp_path, mode):
    from server.app import build_server
    from mcp_support import make_settings

    server = build_server(make_settings(tmp_path, VIDEOGEN_SANDBOX_SECONDS=3.0), download_default=False)
    async with Client(server, mode=mode) as c:
        t0 = time.monotonic()
        r = await c.call_tool("generate_video", {"model": MODEL, "prompt": "slow boat", "wait_seconds": 0.5})
        elapsed = time.monotonic() - t0
        task = r.structured_content
        assert elapsed < 2.0, elapsed
        assert task["status"] in ("queued", "running") and not r.is_error
        assert "get_video_task" in r.content[0].text
        r = await c.call_tool("get_video_task", {"task_id": task["task_id"], "wait_seconds": 15})
        assert r.structured_content["status"] == "succeeded"
        assert r.structured_content["local_path"] is None  # downloads off for this server


@pytest.mark.parametrize("mode", MODES)
async def test_cancelled_call_leaves_the_job_running_and_reachable(tmp_path, mode):
    from server.app import build_server
    from mcp_support import make_settings

    server = build_server(make_settings(tmp_path, VIDEOGEN_SANDBOX_SECONDS=2.0), download_default=False)
    async with Client(server, mode=mode) as c:
        with anyio.move_on_after(0.5) as scope:
            await c.call_tool("generate_video", {"model": MODEL, "prompt": "cancel me", "wait_seconds": 30})
        assert scope.cancelled_caught
        listing = json.loads((await c.read_resource("videogen://tasks")).contents[0].text)["tasks"]
        assert len(listing) == 1
        r = await c.call_tool("get_video_task", {"task_id": listing[0]["task_id"], "wait_seconds": 15})
        assert r.structured_content["status"] == "succeeded"


@pytest.mark.parametrize("mode", MODES)
async def test_failed_job_is_a_task_not_a_tool_error(server, mode):
    async with Client(server, mode=mode) as c:
        r = await c.call_tool("generate_video", {"model": MODEL, "prompt": "please [fail]", "wait_seconds": 20})
    assert not r.is_error
    assert r.structured_content["status"] == "failed"
    assert r.structured_content["error"]["code"]
    assert "failed" in r.content[0].text


@pytest.mark.parametrize(
    ("arguments", "expect"),
    [
        ({"model": "sandbox/nope", "prompt": "x"}, "Unknown model"),
        ({"model": "nowhere/x", "prompt": "x"}, "provider one of: sandbox"),
        ({"model": MODEL, "prompt": "x", "duration": 7}, "5 or 10"),
        ({"model": MODEL, "prompt": "x", "aspect_ratio": "4:3"}, "16:9"),
        ({"model": MODEL, "prompt": "x", "colour": "red"}, "colour"),
        ({"model": MODEL, "prompt": "x", "first_frame_image": "ftp://example.com/a.png"}, "first_frame_image"),
        ({"model": MODEL, "prompt": "x", "first_frame_image": "/etc/passwd"}, "outside"),
        ({"model": MODEL}, "prompt"),
        ({"model": MODEL, "prompt": "x", "wait_seconds": -1}, "wait_seconds"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_invalid_calls_are_tool_errors_that_say_what_is_allowed(server, mode, arguments, expect):
    async with Client(server, mode=mode) as c:
        r = await c.call_tool("generate_video", arguments)
        assert r.is_error
        assert expect in r.content[0].text
        listing = json.loads((await c.read_resource("videogen://tasks")).contents[0].text)["tasks"]
    assert listing == [], "an invalid call must not create (or send) a task"


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_a_jsonrpc_invalid_params_error(server, mode):
    async with Client(server, mode=mode) as c:
        with pytest.raises(MCPError) as info:
            await c.call_tool("make_movie", {})
    assert info.value.error.code == -32602


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_task_id_is_a_tool_error(server, mode):
    async with Client(server, mode=mode) as c:
        for wait in (None, 0, 2):  # with a wait it used to escape the waiting task group as "internal error"
            r = await c.call_tool("get_video_task", {"task_id": "vg_missing", "wait_seconds": wait})
            assert r.is_error and "not found" in r.content[0].text, r.content[0].text


async def test_same_idempotency_key_returns_the_same_task(server):
    args = {"model": MODEL, "prompt": "once", "idempotency_key": "k-1", "wait_seconds": 0}
    async with Client(server) as c:
        first = (await c.call_tool("generate_video", args)).structured_content
        again = await c.call_tool("generate_video", args)
    assert again.structured_content["task_id"] == first["task_id"]


async def test_local_image_becomes_an_inline_first_frame(server, settings):
    png = settings.home / "frame.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    async with Client(server) as c:
        r = await c.call_tool("generate_video", {"model": MODEL, "prompt": "animate", "first_frame_image": str(png),
                                                 "wait_seconds": 20})
    assert not r.is_error, r.content[0].text
    assert r.structured_content["status"] == "succeeded"
