"""MCP Apps (`io.modelcontextprotocol/ui`): the inline player that Apps hosts render for the two task tools.

The view is a static HTML file shipped in this package (player.html), read on the first `resources/read` of it.
Clients without Apps see the same tool results as ever: only tools/list (`_meta.ui`) and resources/list differ.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server

# The SDK's mcp.server.apps has these constants, but importing it loads the MCPServer layer onto the start path;
# tests/surface/test_apps.py checks that they agree.
EXTENSION_ID = "io.modelcontextprotocol/ui"
APP_MIME_TYPE = "text/html;profile=mcp-app"

PLAYER_URI = "ui://videogen/player.html"
TOOL_META: dict[str, Any] = {"ui": {"resourceUri": PLAYER_URI}}  # on generate_video and get_video_task
# No `csp`: the spec's default (no network; images and media from data: only) is all the view needs.
RESOURCE_META: dict[str, Any] = {"ui": {"prefersBorder": True}}

PLAYER_RESOURCE = t.Resource(uri=PLAYER_URI, name="player", title="Video player (MCP Apps view)",
                             mime_type=APP_MIME_TYPE, _meta=RESOURCE_META)


@cache
def player_html() -> str:
    return resources.files("server.surface").joinpath("player.html").read_text(encoding="utf-8")


async def read_player() -> t.ReadResourceResult:
    html = await anyio.to_thread.run_sync(player_html)
    return t.ReadResourceResult(contents=[
        t.TextResourceContents(uri=PLAYER_URI, mime_type=APP_MIME_TYPE, text=html, _meta=RESOURCE_META)
    ])


def install(server: Server) -> None:
    """Advertise the extension (hosts decide on the tools' `_meta.ui`, but some look for the capability too)."""
    server.extensions[EXTENSION_ID] = {}
