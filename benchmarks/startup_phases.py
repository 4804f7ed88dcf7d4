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
    from server import cli

    mark("import server.cli (pydantic_settings, server.settings, providers.registry)")
    from server import app

    mark("import server.app (tools, engine, ledger, polling, media, schemas...)")
    settings = cli.load_settings()
    cli.setup_logging(settings)
    mark("Settings() + logging")
    app.build_server(settings, download_default=True)
    mark("build_server()")

    async def lifespan() -> None:
        import h11  # noqa: F401
        import httpcore2  # noqa: F401

        mark("lifespan: import httpcore2 + h11 (the first client's transport)")
        client = app.make_client(settings)
        mark("lifespan: make_client() (TLS context, transports, adapter imports)")
        providers = app.build_providers(settings, client)
        mark("lifespan: build_providers() (adapters, catalogs)")
        from server.engine import Engine

        async with Engine(settings=settings, providers=providers, client=client) as engine:
            mark("lifespan: Engine enter")
            runtime = app.Runtime(settings, client, providers, engine, True)
            runtime.tools()
            mark("tools/list: tool_definitions()")
            await anyio.lowlevel.checkpoint()
        await client.aclose()

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
