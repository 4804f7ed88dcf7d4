"""build_server(settings): wires the HTTP client, the providers and the task engine into a low-level MCP Server."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from importlib.metadata import PackageNotFoundError, version

import httpx2
import mcp_types as t
from mcp.server import Server

from providers import registry
from providers.base import Provider
from server import resources, tasks_ext, tools
from server.engine import Engine
from server.schemas import tool_definitions
from server.settings import Settings

log = logging.getLogger("videogen")
DISCOVERY_TTL = 600.0

INSTRUCTIONS = (
    "Video generation. list_video_models gives valid model ids and their options; generate_video starts one paid "
    "job and returns within wait_seconds with a task_id; follow it with get_video_task (free). Never call "
    "generate_video twice for the same video: pass idempotency_key to make retries safe."
)


def package_version() -> str:
    try:
        return version("videogen-mcp")
    except PackageNotFoundError:
        return "0.0.0"


@dataclass
class Runtime:
    """What every handler sees as its lifespan context."""

    settings: Settings
    client: httpx2.AsyncClient
    providers: dict[str, Provider]
    engine: Engine
    download_default: bool
    _discovered: dict[str, float] = field(default_factory=dict)
    _tools: list[t.Tool] | None = None

    def tools(self) -> list[t.Tool]:
        """Tool definitions from the catalogs, built once per process (schemas are data, not code)."""
        if self._tools is None:
            self._tools = tool_definitions(self.providers, self.settings.default_wait)
        return self._tools

    async def discover(self, provider: Provider) -> None:
        """Ask the gateway for models the catalog lacks, at most every DISCOVERY_TTL s; never fails the caller."""
        last = self._discovered.get(provider.id)
        if last is not None and time.monotonic() - last < DISCOVERY_TTL:
            return
        self._discovered[provider.id] = time.monotonic()
        try:
            await provider.discover()
        except Exception as exc:  # discovery is a nicety; the catalog still answers
            log.warning("model discovery on %s failed: %s", provider.id, exc)


class LazyClient:
    """The process's one httpx2.AsyncClient, built on first use: its TLS context and transports cost ~60 ms that
    `initialize` and `tools/list` do not need (cold start is what clients that spawn us feel)."""

    def __init__(self, factory: Callable[[], httpx2.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx2.AsyncClient | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._factory()
        return getattr(self._client, name)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def make_client(settings: Settings, extra_mounts: dict[str, httpx2.AsyncBaseTransport] | None = None
                ) -> httpx2.AsyncClient:
    mounts = registry.http_mounts(settings.gateways())
    mounts.update(extra_mounts or {})
    timeout = httpx2.Timeout(settings.http_timeout, connect=10.0, pool=30.0)
    # Few idle connections: httpcore walks (and probes) every pooled connection on each request, which made a poll
    # cost ~3x more CPU with 1,000 tasks in flight (benchmarks/). Polls are spread out; 10 kept alive serve them.
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=10)
    return httpx2.AsyncClient(timeout=timeout, limits=limits, mounts=mounts, follow_redirects=False,
                              headers={"User-Agent": f"videogen-mcp/{package_version()}"})


def build_providers(settings: Settings, client: httpx2.AsyncClient) -> dict[str, Provider]:
    return {pid: registry.build(pid, client, config) for pid, config in settings.gateways().items()}


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, download_default: bool = True,
    extra_mounts: dict[str, httpx2.AsyncBaseTransport] | None = None,
) -> AsyncIterator[Runtime]:
    """The single HTTP client, the providers and the engine, for one server process (or one CLI command)."""
    client = LazyClient(lambda: make_client(settings, extra_mounts))
    try:
        providers = build_providers(settings, client)  # type: ignore[arg-type]  # duck-typed AsyncClient
        async with Engine(settings=settings, providers=providers, client=client) as engine:
            yield Runtime(settings, client, providers, engine, download_default)  # type: ignore[arg-type]
    finally:
        await client.aclose()


def build_server(
    settings: Settings, *, download_default: bool | None = None,
    extra_mounts: dict[str, httpx2.AsyncBaseTransport] | None = None,
) -> Server:
    """One factory for every transport. `download_default`: None means the setting, else on (stdio) / off (HTTP)."""
    download = settings.download if settings.download is not None else (download_default is not False)

    @asynccontextmanager
    async def lifespan(_server: Server) -> AsyncIterator[Runtime]:
        async with open_runtime(settings, download_default=download, extra_mounts=extra_mounts) as runtime:
            yield runtime

    async def list_tools(ctx, params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
        return t.ListToolsResult(tools=ctx.lifespan_context.tools())

    server = Server(
        "videogen",
        version=package_version(),
        title="videogen-mcp",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=tools.call_tool,
        on_list_resources=resources.list_resources,
        on_list_resource_templates=resources.list_templates,
        on_read_resource=resources.read_resource,
    )
    tasks_ext.install(server)
    return server
