"""Streamable HTTP at /mcp: loopback by default with the SDK's Host/Origin checks, a bearer token beyond loopback."""

from __future__ import annotations

import hmac
import ipaddress
import sys
from typing import Any

from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings

from server.settings import Settings

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerToken:
    """ASGI guard: every HTTP request must carry `Authorization: Bearer <VIDEOGEN_HTTP_TOKEN>`."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b'{"error":"missing or wrong bearer token"}'})
                return
        await self.app(scope, receive, send)


def http_app(server: Server, settings: Settings, *, host: str, stateless: bool = False) -> Any:
    security = None
    if not is_loopback(host):
        if settings.http_token is None:
            from server.cli.common import CommandError

            raise CommandError(
                f"refusing to serve on {host} without a token: set VIDEOGEN_HTTP_TOKEN (clients then send "
                "'Authorization: Bearer <token>'), or bind to 127.0.0.1"
            )
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                             allowed_hosts=[f"{host}:*", "127.0.0.1:*", "localhost:*"],
                                             allowed_origins=[f"http://{host}:*", "http://127.0.0.1:*",
                                                              "http://localhost:*"])
    app = server.streamable_http_app(host=host, stateless_http=stateless, transport_security=security)
    if settings.http_token is not None:
        return BearerToken(app, settings.http_token.get_secret_value())
    return app


def serve_http(server: Server, settings: Settings, *, host: str, port: int, stateless: bool = False) -> None:
    import uvicorn

    app = http_app(server, settings, host=host, stateless=stateless)
    shown = f"[{host}]" if ":" in host else host
    print(f"videogen-mcp: serving MCP over streamable HTTP at http://{shown}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
