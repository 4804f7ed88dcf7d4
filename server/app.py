"""build_server(settings): wires the HTTP client, the providers and the task engine into a low-level MCP Server."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, cast

import anyio
import httpx2
import mcp_types as t
from mcp.server import Server

from providers import registry
from providers.base import Provider
from server.surface import resources
from server.surface import apps
from server.surface import confirm, tasks_ext
from server.runtime import Runtime
from server.settings import Settings

if TYPE_CHECKING:
    from server.engine.core import Engine

log = logging.getLogger("videogen")
# The MCP server starts its task engine (ledger, polling, downloads) on the first call that needs it, or this many
# seconds after start-up to resume earlier jobs: `initialize` and `tools/list` never wait for the engine's code.
ENGINE_START_DELAY = 1.0

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
    from server.engine.polling import POLLS_IN_FLIGHT  # built on first use: off the start-up path either way

    timeout = httpx2.Timeout(settings.http_timeout, connect=10.0, pool=30.0)
    # Few idle connections: httpcore walks (and probes) every pooled connection on each request, which made a poll
    # cost ~3x more CPU with 1,000 tasks in flight (benchmarks/). Polls are capped at the same number in flight.
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=POLLS_IN_FLIGHT)
    return httpx2.AsyncClient(timeout=timeout, limits=limits, mounts=mounts, follow_redirects=False,
                              headers={"User-Agent": f"videogen-mcp/{package_version()}"})


def freeze_start_up_heap() -> None:
    """Put everything built so far (modules, the SDK's and our schemas) out of the cyclic collector's reach, so its
    full collections scan only what the server makes while it runs: with 1,000 tasks in flight they paused the event
    loop for ~100 ms, now a fraction of that (benchmarks/). Once per process, right before serving; no collection
    first, which would cost start-up time (what is frozen is kept for the life of the process anyway)."""
    gc.freeze()


def build_providers(settings: Settings, client: httpx2.AsyncClient) -> dict[str, Provider]:
    return {pid: registry.build(pid, client, config) for pid, config in settings.gateways().items()}


class DeferredEngine:
    """The task engine, built and started on first need or `delay` s after start-up, whichever comes first."""

    def __init__(self, factory: Callable[[], Engine], delay: float) -> None:
        self._factory = factory
        self._delay = delay
        self._wanted = anyio.Event()
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._engine: Engine | None = None
        self._error: BaseException | None = None

    async def run(self) -> None:
        """Run in the runtime's task group until close()."""
        try:
            with anyio.move_on_after(self._delay):
                await self._wanted.wait()
            if self._stop.is_set():
                return
            engine = self._factory()
            async with engine:
                self._engine = engine
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # surfaced to every caller of get(), not lost in a background task
            log.exception("the task engine failed")
            self._error = exc
        finally:
            self._ready.set()

    async def get(self) -> Engine:
        self._wanted.set()
        await self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the task engine could not start: {self._error}") from self._error
        if self._engine is None:
            raise RuntimeError("the task engine is not running (the server is shutting down)")
        return self._engine

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, download_default: bool = True,
    extra_mounts: dict[str, httpx2.AsyncBaseTransport] | None = None, engine_delay: float = 0.0,
    callback_base: str | None = None,
) -> AsyncIterator[Runtime]:
    """The single HTTP client, the providers and the engine, for one server process (or one CLI command).
    `callback_base`: where gateways that call back reach this server (serve --http with a public URL)."""
    client = LazyClient(lambda: make_client(settings, extra_mounts))
    providers = build_providers(settings, client)  # type: ignore[arg-type]  # duck-typed AsyncClient

    def new_engine() -> Engine:
        from server.engine.core import Engine  # the engine's code (ledger, polling, sqlite3) loads off the start path

        return Engine(settings=settings, providers=providers, client=client, callback_base=callback_base)

    engine = DeferredEngine(new_engine, engine_delay)
    # Entered by hand and left with no exception, like Engine's own group: an error raised by the caller's block
    # propagates as itself, not wrapped in an ExceptionGroup.
    tg = anyio.create_task_group()
    await tg.__aenter__()
    try:
        tg.start_soon(engine.run)
        yield Runtime(settings, client, providers, engine.get, download_default)  # type: ignore[arg-type]
    finally:
        engine.close()
        try:
            await tg.__aexit__(None, None, None)  # waits for in-flight submits to land (Engine.aclose)
        finally:
            await client.aclose()


def build_server(
    settings: Settings, *, download_default: bool | None = None,
    extra_mounts: dict[str, httpx2.AsyncBaseTransport] | None = None, callback_base: str | None = None,
) -> Server:
    """One factory for every transport. `download_default`: used when the setting is unset (None means on)."""
    download = settings.download if settings.download is not None else (download_default is not False)

    @asynccontextmanager
    async def lifespan(_server: Server) -> AsyncIterator[Runtime]:
        async with open_runtime(settings, download_default=download, extra_mounts=extra_mounts,
                                engine_delay=ENGINE_START_DELAY, callback_base=callback_base) as runtime:
            yield runtime

    async def call_tool(ctx, params: t.CallToolRequestParams) -> t.CallToolResult:
        from server.surface.tools import call_tool  # the tools' code (validation, media) loads on the first call

        # a tasks-extension call answers with a plain CreateTaskResult dict, which the SDK sends as it is
        return cast(t.CallToolResult, await call_tool(ctx, params))

    async def list_tools(ctx, params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
        return t.ListToolsResult(tools=ctx.lifespan_context.tools())

    server = Server(
        "videogen",
        version=package_version(),
        title="videogen-mcp",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=resources.list_resources,
        on_list_resource_templates=resources.list_templates,
        on_read_resource=resources.read_resource,
    )
    tasks_ext.install(server)
    confirm.install(server)  # seals the 2026-07-28 requestState of a cost confirmation (built on the first call)
    apps.install(server)
    return server
