"""Our stdio MCP server exactly as `videogen-mcp` runs it (server.cli.main.serve), plus an event-loop ticker beside it.

The ticker sleeps TICK seconds in a loop and records how late each wake-up was (wall time, overshoot); when stdin
closes and the server returns, the samples are written to $BENCH_TICKER_OUT as JSON. Nothing else differs from the
real server: same settings, logging, factory and transport.
"""

from __future__ import annotations

import json
import os
import time

import anyio

TICK = 0.02


async def ticker(samples: list[tuple[float, float]]) -> None:
    clock = time.perf_counter
    while True:
        t0 = clock()
        await anyio.sleep(TICK)
        samples.append((time.time(), clock() - t0 - TICK))


def main() -> None:
    from mcp.server.stdio import stdio_server

    from server.app import build_server, freeze_start_up_heap
    from server.cli.main import load_settings, setup_logging

    settings = load_settings()
    setup_logging(settings)
    server = build_server(settings, download_default=True)
    freeze_start_up_heap()
    samples: list[tuple[float, float]] = []

    async def run() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker, samples)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
            tg.cancel_scope.cancel()

    try:
        anyio.run(run)
    finally:
        out = os.environ.get("BENCH_TICKER_OUT")
        if out:
            with open(out, "w") as f:
                json.dump(samples, f)


if __name__ == "__main__":
    main()
