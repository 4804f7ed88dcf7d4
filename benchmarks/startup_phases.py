"""Diagnosis for cold start: wall time of each step of our start path, in a fresh interpreter (one JSON line out).

Mirrors what `videogen-mcp` does before it can answer tools/list: imports, settings, build_server, then the
lifespan (server.app.open_runtime: the HTTP client, the providers, the engine) and the tool definitions. Uses
server internals by name, so it is a diagnostic: the benchmark tolerates it failing.

    python -m benchmarks.startup_phases
"""

import json
import time

T0 = time.perf_counter()
marks: list[tuple[str, float]] = []
reference: list[list] = []


def mark(name: str) -> None:
    marks.append((name, time.perf_counter()))


def main() -> None:
    import anyio

    mark("import anyio")
    import mcp_types  # noqa: F401
    from mcp.server import Server  # noqa: F401
    from mcp.server.stdio import stdio_server  # noqa: F401

    mark("import mcp (mcp_types, mcp.server, stdio) [bare server: same]")
    import server.__main__  # noqa: F401
    from server.cli import main as cli

    mark("import server.cli.main (pydantic_settings, server.settings, providers.registry)")
    from server import app

    mark("import server.app (schemas, resources, tasks_ext)")
    settings = cli.load_settings()
    cli.setup_logging(settings)
    mark("Settings() + logging")
    app.build_server(settings, download_default=True)
    mark("build_server()")

    async def lifespan() -> None:
        async with app.open_runtime(settings, engine_delay=app.ENGINE_START_DELAY) as runtime:
            mark("event loop start + lifespan: open_runtime() (providers, catalogs; HTTP client and engine: later)")
            runtime.tools()
            mark("tools/list: tool_definitions()")
            await anyio.lowlevel.checkpoint()
            engine = await runtime.engine()
            mark("(after tools/list) first tool call: the engine starts (ledger, polling, sqlite3)")
            await engine.list(1)
            mark("(after tools/list) first ledger read")
            import httpcore2  # noqa: F401

            runtime.client.headers  # noqa: B018 - builds the client (TLS context, transports)
            mark("(after tools/list) the HTTP client, on its first request")

    anyio.run(lifespan)
    import ssl

    t0 = time.perf_counter()
    ssl.create_default_context()
    reference.append(["(reference, not on the path) one ssl.create_default_context()",
                      round((time.perf_counter() - t0) * 1000, 1)])


if __name__ == "__main__":
    try:
        main()
        error = None
    except Exception as exc:  # noqa: BLE001 - a renamed internal: report what was timed so far
        error = f"{type(exc).__name__}: {exc}"
    prev, out = T0, []
    for name, t in marks:
        out.append([name, round((t - prev) * 1000, 1)])
        prev = t
    print(json.dumps({"phases": out, "reference": reference, "error": error}))
