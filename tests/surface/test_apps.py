"""MCP Apps on the wire: the two task tools link the player view, which is a listed, readable, self-contained HTML
document under the spec's default CSP; clients without Apps get the same results as clients with it.
(tests/browser plays it in a real browser inside the official host bridge.)"""

from __future__ import annotations

import re

import mcp.server.apps as sdk_apps
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp_types import Implementation

from server.surface import apps

pytestmark = pytest.mark.anyio
MODEL = "sandbox/kling-sim"


def apps_client(server, **kwargs) -> Client:
    """A client that says it renders MCP Apps, as Claude, ChatGPT or VS Code do."""
    return Client(server, extensions=[advertise(apps.EXTENSION_ID, {"mimeTypes": [apps.APP_MIME_TYPE]})],
                  client_info=Implementation(name="apps-host", version="1"), **kwargs)


def test_our_constants_are_the_sdks():
    assert (apps.EXTENSION_ID, apps.APP_MIME_TYPE) == (sdk_apps.EXTENSION_ID, sdk_apps.APP_MIME_TYPE)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_task_tools_link_the_player_and_only_they(server, mode):
    async with Client(server, mode=mode) as c:
        tools = {tool.name: tool for tool in (await c.list_tools()).tools}
    for name in ("generate_video", "get_video_task"):
        assert tools[name].meta == {"ui": {"resourceUri": "ui://videogen/player.html"}}, name
    assert not tools["list_video_models"].meta


async def test_the_server_advertises_the_extension(server):
    # The legacy `initialize` reply is filtered against the 2025-11-25 schema, which has no `extensions`; the
    # 2026-07-28 discovery keeps it. Hosts go by the tools' _meta.ui either way.
    async with apps_client(server, mode="auto") as c:
        assert apps.EXTENSION_ID in (c.server_capabilities.extensions or {})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_player_is_listed_and_reads_as_one_html_document(server, mode):
    async with apps_client(server, mode=mode) as c:
        listed = {str(r.uri): r for r in (await c.list_resources()).resources}
        read = await c.read_resource(apps.PLAYER_URI)
    entry = listed[apps.PLAYER_URI]
    assert entry.mime_type == "text/html;profile=mcp-app"
    (item,) = read.contents
    assert item.mime_type == "text/html;profile=mcp-app"
    assert item.meta == {"ui": {"prefersBorder": True}} == entry.meta  # no csp: the spec's default suits it
    html = item.text
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    for method in ("ui/initialize", "ui/notifications/initialized", "ui/notifications/tool-input",
                   "ui/notifications/tool-result", "resources/read", "ui/notifications/size-changed"):
        assert f'"{method}"' in html, method


def test_the_view_has_no_network_of_its_own():
    html = apps.player_html()
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts|sendBeacon)\s*\(", html)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no remote script, style or image"
    assert "@import" not in html and "url(" not in html
    assert "createObjectURL" not in html  # blob: media is blocked by the default CSP; data: URLs play


async def test_results_are_the_same_for_clients_with_and_without_apps(server):
    args = {"model": MODEL, "prompt": "a kite over a beach", "wait_seconds": 20}
    async with apps_client(server) as with_apps:
        seen = await with_apps.call_tool("generate_video", args)
    async with Client(server, client_info=Implementation(name="apps-host", version="1")) as without:
        plain = await without.call_tool("generate_video", {**args, "prompt": "a kite over a dune"})
    assert not seen.is_error and not plain.is_error
    assert [b.type for b in seen.content] == [b.type for b in plain.content]
    assert seen.structured_content.keys() == plain.structured_content.keys()
    assert seen.meta == plain.meta
