"""Streamable HTTP at /mcp: loopback by default with the SDK's Host/Origin checks; beyond loopback, bearer tokens
(one, or one per principal) or OAuth (server/cli/auth.py, oauth.py). The saved videos beside it at
/videos/{task_id}.mp4, behind the same checks, each only to its principal."""

from __future__ import annotations

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

from server.cli.auth import HttpAuth, StaticTokens, Unavailable, token_principals
from server.cli.callbacks import with_callbacks
from server.cli.common import CommandError
from server.runtime import Runtime
from server.settings import Settings
from server.surface.principal import principal_of
from server.surface.render import VIDEOS_PATH

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_auth(settings: Settings, *, host: str, port: int) -> HttpAuth | None:
    """The configured authentication (None: none, which only loopback may serve without); CommandError when the
    configuration is unusable. Tokens and OAuth are exclusive: a token's principal could be an OAuth subject."""
    try:
        principals = token_principals(settings)
        if settings.oauth_issuer is not None:
            if principals:
                raise ValueError("VIDEOGEN_OAUTH_ISSUER and bearer tokens (VIDEOGEN_HTTP_TOKEN, VIDEOGEN_HTTP_TOKENS) "
                                 "are exclusive: set one of them")
            from server.cli.oauth import oauth_auth  # pyjwt and its crypto load only in OAuth mode

            return oauth_auth(settings.oauth_issuer, settings.oauth_audience, resource_url(settings, host, port))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return HttpAuth(StaticTokens(principals)) if principals else None


async def describe_auth(settings: Settings) -> tuple[bool, str]:
    """For `doctor`: (usable, what `serve --http` would check), reaching the OAuth issuer when one is set."""
    try:
        auth = http_auth(settings, host="127.0.0.1", port=8000)
    except CommandError as exc:
        return False, str(exc)
    if auth is None:
        return True, "no authentication (loopback only)"
    if isinstance(auth.verifier, StaticTokens):
        return True, f"bearer tokens for {', '.join(token_principals(settings))}"
    from server.cli.oauth import JwtVerifier

    assert isinstance(auth.verifier, JwtVerifier)
    try:
        return True, f"OAuth, issuer {settings.oauth_issuer}: {await auth.verifier.probe()}"
    except Unavailable as exc:
        return False, f"OAuth: {exc}"


def resource_url(settings: Settings, host: str, port: int) -> str:
    """This server's /mcp URL as clients know it: the OAuth resource identifier and default audience."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/mcp"
    if host in ("0.0.0.0", "::", ""):
        raise ValueError(f"OAuth needs the URL clients reach this server at; bound to {host or 'every address'}, "
                         "set VIDEOGEN_PUBLIC_URL (for example https://videos.example.com)")
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/mcp"


def security_settings(host: str, settings: Settings) -> TransportSecuritySettings:
    """The Host/Origin checks: the SDK's loopback defaults, the bound host, and VIDEOGEN_PUBLIC_URL's origin (the
    name clients use behind a proxy or load balancer)."""
    names = dict.fromkeys([f"[{host}]" if ":" in host else host, "127.0.0.1", "localhost", "[::1]"])
    hosts, origins = [f"{name}:*" for name in names], [f"http://{name}:*" for name in names]
    public = urlsplit(settings.public_url or "")
    if public.hostname:
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
        # another principal's task is a 404 too; a replica that lacks the file fetches the same job's
        path = await (await rt.engine()).saved_copy(task_id, principal=principal_of(request))
        if path is None:
            return JSONResponse({"error": f"no saved video for task {task_id!r}"}, status_code=404)
        from server.media.download import video_mime

        mime = await anyio.to_thread.run_sync(video_mime, path)
        return FileResponse(path, media_type=mime, filename=f"{task_id}{path.suffix}",
                            content_disposition_type="inline")

    return Route(f"{VIDEOS_PATH}/{{name}}", video, methods=["GET", "HEAD"])


def http_app(server: Server, settings: Settings, *, host: str, port: int = 8000, stateless: bool = False) -> Any:
    auth = http_auth(settings, host=host, port=port)
    if auth is None and not is_loopback(host):
        raise CommandError(
            f"refusing to serve on {host} without authentication: set VIDEOGEN_HTTP_TOKEN (one client), "
            "VIDEOGEN_HTTP_TOKENS (principal:token pairs) or VIDEOGEN_OAUTH_ISSUER (clients then send "
            "'Authorization: Bearer <token>'), or bind to 127.0.0.1"
        )
    security = security_settings(host, settings)
    runtime = share_runtime(server)
    routes = [video_route(runtime, security), *(auth.routes if auth else [])]
    app: Any = server.streamable_http_app(host=host, stateless_http=stateless, transport_security=security,
                                          custom_starlette_routes=routes)
    if auth is not None:
        app = auth.guard(app)
    return with_callbacks(app, runtime)  # a gateway's callback carries its task's token, not ours


def serve_http(server: Server, settings: Settings, *, host: str, port: int, stateless: bool = False) -> None:
    import uvicorn

    app = http_app(server, settings, host=host, port=port, stateless=stateless)
    shown = f"[{host}]" if ":" in host else host
    print(f"videogen-mcp: serving MCP over streamable HTTP at http://{shown}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
