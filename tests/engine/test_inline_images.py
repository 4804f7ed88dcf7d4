"""A model that reads images only inline (new-api's Veo adaptor ignores image URLs): an http(s) first frame is
fetched by the server through the SSRF guard and sent as a `data:` URI, or refused before anything is sent."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx2
import pytest
from fakes.gateways import fake_for
from fakes.loopback import serve_on_loopback
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.validate import MAX_INLINE_IMAGE_BYTES
from server.app import build_server
from server.media.download import MediaError, fetch_image
from server.settings import Settings

pytestmark = pytest.mark.anyio
KEY = "sk-inline-test-7731"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


class ImageOrigin:
    """A loopback web server with a few images (and things that are not), counting what it was asked."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.app = Starlette(routes=[Route("/{name}", self.serve)])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits.append(name)
        if name == "frame.png":
            return Response(PNG, media_type="image/png")
        if name == "huge.png":
            return Response(PNG + bytes(MAX_INLINE_IMAGE_BYTES), media_type="image/png")
        return Response(b"<html>not an image</html>", media_type="text/html")


def settings(home: Path, base_url: str, *, allow_private: bool) -> Settings:
    return Settings(_env_file=None, VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX=False, VIDEOGEN_DEDUPE_WINDOW=0,
                    VIDEOGEN_ALLOW_PRIVATE_URLS=allow_private, INFINITYBLUE_API_KEY=KEY,
                    INFINITYBLUE_BASE_URL=base_url)


async def generate(server, image_url: str):
    async with Client(server) as c:
        return await c.call_tool("generate_video", {"model": "infinityblue/veo_3_1", "prompt": "a lighthouse",
                                                    "first_frame_image": image_url, "wait_seconds": 0})


async def test_an_http_first_frame_reaches_veo_inline(tmp_path):
    origin, gw = ImageOrigin(), fake_for("infinityblue", api_key=KEY)  # stock new-api's Gemini rules
    with serve_on_loopback(origin.app) as images, gw.serve() as base_url:
        r = await generate(build_server(settings(tmp_path, base_url, allow_private=True)), f"{images}/frame.png")
    assert not r.is_error, r.content[0].text
    assert gw.last_body["image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    (task,) = gw.tasks.values()
    assert task.upstream["instances"][0]["image"]["bytesBase64Encoded"] == base64.b64encode(PNG).decode()
    assert origin.hits == ["frame.png"]


async def test_a_private_address_is_refused_and_nothing_is_sent(tmp_path):
    origin, gw = ImageOrigin(), fake_for("infinityblue", api_key=KEY)
    with serve_on_loopback(origin.app) as images, gw.serve() as base_url:
        image_url = images.replace("127.0.0.1", "localhost") + "/frame.png"  # not the gateway's (trusted) host
        r = await generate(build_server(settings(tmp_path, base_url, allow_private=False)), image_url)
    assert r.is_error and "private or reserved address" in r.content[0].text
    assert "Nothing was sent" in r.content[0].text
    assert gw.created == 0 and not gw.submits and origin.hits == []  # refused before connecting


@pytest.mark.parametrize(("name", "why"), [("huge.png", "larger than the 10 MB limit"),
                                           ("page.html", "is not a PNG, JPEG, WebP or GIF image")])
async def test_what_is_not_a_small_image_is_refused(name, why):
    origin = ImageOrigin()
    with serve_on_loopback(origin.app) as images:
        async with httpx2.AsyncClient() as client:
            with pytest.raises(MediaError, match=why):
                await fetch_image(client, f"{images}/{name}", max_bytes=MAX_INLINE_IMAGE_BYTES, allow_private=True)
