"""download_video over real TCP: a uvicorn origin on 127.0.0.1 in a thread (stalls, lies, endless bodies, pinning)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import anyio
import httpx2
import pytest
import uvicorn
from media_fakes import parts_left, tree, video_bytes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.media import netguard
from server.media.download import MediaError, download_video

pytestmark = pytest.mark.anyio
VIDEO = video_bytes()
SEEN_HOSTS: list[str] = []


async def _video(request: Request) -> Response:
    SEEN_HOSTS.append(request.headers["host"])
    return Response(VIDEO, media_type="video/mp4")


async def _stall(request: Request) -> StreamingResponse:
    async def body():
        yield VIDEO[:100]
        await asyncio.sleep(30)  # headers and a first chunk, then nothing
        yield VIDEO[100:]

    return StreamingResponse(body(), media_type="video/mp4")


async def _endless(request: Request) -> StreamingResponse:
    async def body():
        yield VIDEO
        while True:
            await asyncio.sleep(0)  # lets the server notice the client hung up
            yield b"\x00" * 65536

    return StreamingResponse(body(), media_type="video/mp4", headers={"content-length": "1000"}
                             if request.query_params.get("lie") else None)


async def _short(request: Request) -> StreamingResponse:
    async def body():
        yield VIDEO  # announces more than it sends, then the server drops the connection

    return StreamingResponse(body(), headers={"content-length": str(len(VIDEO) + 5000)})


APP = Starlette(routes=[Route("/video.mp4", _video), Route("/stall", _stall), Route("/endless", _endless),
                        Route("/short", _short)])


@pytest.fixture(scope="module")
def base_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(APP, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)


async def test_real_download_with_allow_private(base_url, tmp_path):
    async with httpx2.AsyncClient(timeout=5) as client:
        path = await download_video(client, f"{base_url}/video.mp4", dest_dir=tmp_path, stem="real", allow_private=True)
    assert path.read_bytes() == VIDEO and tree(tmp_path) == {"real.mp4"}


async def test_loopback_needs_trust_or_allow_private(base_url, tmp_path):
    async with httpx2.AsyncClient(timeout=5) as client:
        with pytest.raises(MediaError) as info:
            await download_video(client, f"{base_url}/video.mp4", dest_dir=tmp_path, stem="real")
        assert info.value.code == "unsafe_url"
        path = await download_video(client, f"{base_url}/video.mp4", dest_dir=tmp_path, stem="real",
                                    trusted_hosts=frozenset({"127.0.0.1"}))
    assert path.exists()


async def test_stalled_body_times_out(base_url, tmp_path):
    started = time.monotonic()
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(5, read=0.5)) as client:
        with pytest.raises(MediaError) as info:
            await download_video(client, f"{base_url}/stall", dest_dir=tmp_path, stem="s", allow_private=True)
    assert info.value.code == "http" and "timed out" in str(info.value)
    assert time.monotonic() - started < 5 and tree(tmp_path) == set()


@pytest.mark.parametrize("query", ["", "?lie=1"])
async def test_endless_body_stops_at_the_cap(base_url, tmp_path, query):
    async with httpx2.AsyncClient(timeout=5) as client:
        with pytest.raises(MediaError) as info:
            await download_video(client, f"{base_url}/endless{query}", dest_dir=tmp_path, stem="e",
                                 max_bytes=1_000_000, allow_private=True)
    # the lying Content-Length (1000) makes h11 stop reading early: a truncated body is refused too
    assert info.value.code == ("http" if query else "too_large") and tree(tmp_path) == set()


async def test_connection_dropped_before_the_announced_length(base_url, tmp_path):
    async with httpx2.AsyncClient(timeout=5) as client:
        with pytest.raises(MediaError) as info:
            await download_video(client, f"{base_url}/short", dest_dir=tmp_path, stem="t", allow_private=True)
    assert info.value.code == "http" and not parts_left(tmp_path)


async def test_cancelled_download_leaves_nothing(base_url, tmp_path):
    async with httpx2.AsyncClient(timeout=5) as client:
        with anyio.move_on_after(0.5):
            await download_video(client, f"{base_url}/stall", dest_dir=tmp_path, stem="c", allow_private=True)
    assert tree(tmp_path) == set()


async def test_pinned_connection_uses_the_checked_address(base_url, tmp_path, monkeypatch):
    # "video.invalid" cannot resolve here: success proves the client connected to the vetted address, not DNS.
    monkeypatch.setattr(netguard, "is_public_address", lambda ip: True)
    port = base_url.rsplit(":", 1)[1]

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    SEEN_HOSTS.clear()
    async with httpx2.AsyncClient(timeout=5) as client:
        path = await download_video(client, f"http://video.invalid:{port}/video.mp4", dest_dir=tmp_path, stem="p",
                                    resolver=resolver)
    assert path.exists() and SEEN_HOSTS == [f"video.invalid:{port}"]


async def test_stale_part_files_of_the_task_are_cleared_on_its_next_download(base_url, tmp_path):
    stale, fresh, other = (tmp_path / ".real.dead1.part", tmp_path / ".real.live1.part", tmp_path / ".x.dead2.part")
    for part in (stale, fresh, other):
        part.write_bytes(b"")
    old = time.time() - 3600
    for part in (stale, other):
        os.utime(part, (old, old))
    async with httpx2.AsyncClient() as client:
        await download_video(client, f"{base_url}/video.mp4", dest_dir=tmp_path, stem="real", allow_private=True)
    assert not stale.exists() and fresh.exists() and other.exists()  # only this task's, only dead ones
