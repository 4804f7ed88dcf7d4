"""A model that reads images only inline (new-api's Veo adaptor ignores image URLs): an http(s) first frame is
fetched by the engine through the SSRF guard right before the submit and sent as a `data:` URI, or the job fails
before anything is sent; the provider itself refuses to put an image URL in such a body."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx2
import pytest
from fakes.gateways import fake_for
from fakes.loopback import serve_on_loopback
from fakes.requests import req
from mcp import Client
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.errors import InvalidRequest
from providers.registry import GatewayConfig, build
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
                                                    "first_frame_image": image_url, "wait_seconds": 10})


async def test_an_http_first_frame_reaches_veo_inline(tmp_path):
    origin, gw = ImageOrigin(), fake_for("infinityblue", api_key=KEY)  # stock new-api's Gemini rules
    with serve_on_loopback(origin.app) as images, gw.serve() as base_url:
        r = await generate(build_server(settings(tmp_path, base_url, allow_private=True)), f"{images}/frame.png")
    assert not r.is_error and r.structured_content["status"] != "failed", r.content[0].text
    assert gw.last_body["image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    (task,) = gw.tasks.values()
    assert task.upstream["instances"][0]["image"]["bytesBase64Encoded"] == base64.b64encode(PNG).decode()
    assert origin.hits == ["frame.png"]


async def test_a_private_address_is_refused_and_nothing_is_sent(tmp_path):
    origin, gw = ImageOrigin(), fake_for("infinityblue", api_key=KEY)
    with serve_on_loopback(origin.app) as images, gw.serve() as base_url:
        image_url = images.replace("127.0.0.1", "localhost") + "/frame.png"  # not the gateway's (trusted) host
        r = await generate(build_server(settings(tmp_path, base_url, allow_private=False)), image_url)
    task = r.structured_content
    assert task["status"] == "failed" and task["error"]["code"] == "unsafe_url", r.content[0].text
    assert "private or reserved address" in task["error"]["message"]
    assert "nothing was billed" in task["error"]["message"]
    assert gw.created == 0 and not gw.submits and origin.hits == []  # refused before connecting


@pytest.mark.parametrize(("name", "why"), [("huge.png", "larger than the 10 MB limit"),
                                           ("page.html", "is not a PNG, JPEG, WebP or GIF image")])
async def test_what_is_not_a_small_image_is_refused(name, why):
    origin = ImageOrigin()
    with serve_on_loopback(origin.app) as images:
        async with httpx2.AsyncClient() as client:
            with pytest.raises(MediaError, match=why):
                await fetch_image(client, f"{images}/{name}", max_bytes=MAX_INLINE_IMAGE_BYTES, allow_private=True)


async def test_the_provider_never_puts_an_image_url_in_an_inline_only_body():
    gw = fake_for("infinityblue", api_key=KEY)
    async with gw.client() as client:
        provider = build("infinityblue", client, GatewayConfig(gw.base_url, SecretStr(KEY)))
        request = req("veo_3_1", first_frame="https://img.example.com/a.png")
        provider.validate(request)  # the server can take it (it inlines the image before submitting) ...
        with pytest.raises(InvalidRequest, match="reads images only inline"):
            await provider.submit(request)  # ... but the body is never built with the URL
    assert gw.created == 0
