"""Streamable HTTP at /mcp: loopback by default with the SDK's Host/Origin checks, a bearer token beyond loopback;
the saved videos beside it at /videos/{task_id}.mp4, behind the same checks."""

from __future__ import annotations

import hmac
import ipaddress
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server import Server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from server.runtime import Runtime
from server.settings import Settings
from server.surface.render import VIDEOS_PATH

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


def security_settings(host: str, settings: Settings) -> TransportSecuritySettings:
    """The Host/Origin checks (the SDK's loopback defaults plus the bound host); beyond loopback, a token first."""
    if not is_loopback(host) and settings.http_token is None:
        from server.cli.common import CommandError

        raise CommandError(
            f"refusing to serve on {host} without a token: set VIDEOGEN_HTTP_TOKEN (clients then send "
            "'Authorization: Bearer <token>'), or bind to 127.0.0.1"
        )
    names = dict.fromkeys([f"[{host}]" if ":" in host else host, "127.0.0.1", "localhost", "[::1]"])
    hosts, origins = [f"{name}:*" for name in names], [f"http://{name}:*" for name in names]
    public = urlsplit(settings.public_url) if settings.public_url else None
    if public is not None and public.hostname:  # behind a load balancer: the origin clients really reach
        hosts += [public.netloc, f"{public.hostname}:*"]
        origins += [f"{public.scheme}://{public.netloc}", f"{public.scheme}://{public.hostname}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


def share_runtime(server: Server) -> Callable[[], Runtime | None]:
    """The running server's Runtime for routes beside /mcp: the SDK hands its lifespan state only to MCP handlers,
    so the lifespan is wrapped to keep a reference while it runs."""
    inner = server.lifespan
    current: list[Runtime] = []

    @asynccontextmanager
    async def lifespan(s: Server) -> AsyncIterator[Runtime]:
        async with inner(s) as runtime:
            current.append(runtime)
            try:
                yield runtime
            finally:
                current.remove(runtime)

    server.lifespan = lifespan
    return lambda: current[-1] if current else None


def video_route(runtime: Callable[[], Runtime | None], security: TransportSecuritySettings) -> Route:
    """GET /videos/{task_id}.mp4: the task's saved file, found through the ledger by task id (the URL never names
    a path), with Range requests (Starlette's FileResponse answers them with 206)."""
    guard = TransportSecurityMiddleware(security)

    async def video(request: Request) -> Response:
        if (refused := await guard.validate_request(request)) is not None:
            return refused
        rt = runtime()
        if rt is None:
            return JSONResponse({"error": "the server is starting or stopping"}, status_code=503)
        task_id = request.path_params["name"].partition(".")[0]
        path = await (await rt.engine()).saved_copy(task_id)  # (a replica that lacks it fetches the same job's)
        if path is None:
            return JSONResponse({"error": f"no saved video for task {task_id!r}"}, status_code=404)
        from server.media.download import video_mime

        mime = await anyio.to_thread.run_sync(video_mime, path)
        return FileResponse(path, media_type=mime, filename=f"{task_id}{path.suffix}",
                            content_disposition_type="inline")

    return Route(f"{VIDEOS_PATH}/{{name}}", video, methods=["GET", "HEAD"])


def http_app(server: Server, settings: Settings, *, host: str, stateless: bool = False) -> Any:
    security = security_settings(host, settings)
    app = server.streamable_http_app(host=host, stateless_http=stateless, transport_security=security,
                                     custom_starlette_routes=[video_route(share_runtime(server), security)])
    if settings.http_token is not None:
        return BearerToken(app, settings.http_token.get_secret_value())
    return app


def serve_http(server: Server, settings: Settings, *, host: str, port: int, stateless: bool = False) -> None:
    import uvicorn

    app = http_app(server, settings, host=host, stateless=stateless)
    shown = f"[{host}]" if ":" in host else host
    print(f"videogen-mcp: serving MCP over streamable HTTP at http://{shown}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
