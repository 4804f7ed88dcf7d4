"""`serve --http` for real (uvicorn on a loopback port, the SDK's HTTP client): a sandbox video's link in the result
opens from the server's own origin, with the token, in full and by Range; nothing is served without the token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import mcp_types as t
import pytest
from mcp import Client
from fakes.served import http_server, server_env
from mcp.client.streamable_http import streamable_http_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TOKEN = "test-token-videos-7781"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(tmp_path) -> Iterator[str]:
    with serve(tmp_path) as origin:
        yield origin


@contextmanager
def serve(home: Path, **extra: str) -> Iterator[str]:
    """A real `videogen-mcp serve --http` with a token on loopback; yields its origin."""
    with http_server(server_env(home, VIDEOGEN_HTTP_TOKEN=TOKEN, **extra)) as origin:
        yield origin


async def test_an_http_client_downloads_the_sandbox_video_from_the_link_in_the_result(served):
    async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
        async with Client(streamable_http_client(f"{served}/mcp", http_client=http), mode="legacy") as c:
            r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a paper boat",
                                                     "wait_seconds": 30})
            again = await c.call_tool("get_video_task", {"task_id": r.structured_content["task_id"]})
        task = r.structured_content
        assert task["status"] == "succeeded", r.content[0].text
        link = f"{served}/videos/{task['task_id']}.mp4"
        assert task["video_url"].startswith("http://sandbox.videogen.invalid/")  # the task object keeps the gateway's
        assert link in r.content[0].text and link in again.content[0].text
        assert "sandbox.videogen.invalid" not in r.content[0].text
        assert str(task["local_path"]) not in r.content[0].text  # the server's disk is not the client's
        saved = Path(task["local_path"]).read_bytes()

        whole = await http.get(link)
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
        assert whole.content == saved and saved[4:8] == b"ftyp"
        part = await http.get(link, headers={"Range": "bytes=4-11"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 4-11/{len(saved)}"
        assert part.content == saved[4:12]
        tail = await http.get(link, headers={"Range": "bytes=-16"})
        assert tail.status_code == 206 and tail.content == saved[-16:]
        head = await http.head(link)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(saved)) and not head.content
        beyond = await http.get(link, headers={"Range": f"bytes={len(saved)}-"})
        assert beyond.status_code == 416

        missing = await http.get(f"{served}/videos/vg_{'0' * 32}.mp4")
        assert missing.status_code == 404
        traversal = await http.get(f"{served}/videos/..%2F..%2Ftasks.sqlite3")
        assert traversal.status_code == 404 and b"SQLite" not in traversal.content
        rebound = await http.get(link, headers={"Host": "evil.example"})  # DNS rebinding: refused like /mcp
        assert rebound.status_code in (400, 403, 421)

    async with httpx2.AsyncClient(timeout=10) as anonymous:
        refused = await anonymous.get(link)
        wrong = await anonymous.get(link, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and wrong.status_code == 401
    assert saved[:64] not in refused.content


async def test_the_resource_link_names_the_served_video_for_clients_that_show_links(served):
    async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
        named = t.Implementation(name="inspector", version="1")
        async with Client(streamable_http_client(f"{served}/mcp", http_client=http), client_info=named) as c:
            r = await c.call_tool("generate_video", {"model": "sandbox/veo-sim", "prompt": "rain", "wait_seconds": 30})
        links = [b for b in r.content if isinstance(b, t.ResourceLink) and b.mime_type == "video/mp4"]
        assert r.structured_content["status"] == "succeeded", r.content[0].text
        assert [str(b.uri) for b in links] == [f"{served}/videos/{r.structured_content['task_id']}.mp4"]
        assert (await http.get(str(links[0].uri))).status_code == 200


async def test_behind_a_proxy_the_link_names_the_public_url(tmp_path):
    with serve(tmp_path, VIDEOGEN_PUBLIC_URL="https://videos.example/vg/") as origin:
        async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
            async with Client(streamable_http_client(f"{origin}/mcp", http_client=http)) as c:
                r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a kite",
                                                         "wait_seconds": 30})
            task_id = r.structured_content["task_id"]
            assert f"https://videos.example/vg/videos/{task_id}.mp4 " in r.content[0].text
            assert (await http.get(f"{origin}/videos/{task_id}.mp4")).status_code == 200  # the proxy's upstream
