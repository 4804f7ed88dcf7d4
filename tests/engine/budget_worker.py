"""One server process of the budget race: at GO_AT, two generate_video calls at once through the MCP surface (the
in-process SDK client on a real server build), then print each result's status and error as JSON lines.

Run as `python budget_worker.py GO_AT NAME`; configuration (gateway, budget) comes from the environment."""

from __future__ import annotations

import json
import sys
import time

import anyio
from mcp import Client

from server.app import build_server
from server.settings import Settings


async def main(go_at: float, name: str) -> None:
    results: list[dict] = []
    async with Client(build_server(Settings(), download_default=False)) as client:
        async def job(n: int) -> None:
            r = await client.call_tool("generate_video", {"model": "orcarouter/kling/kling-v2-6", "duration": 5,
                                                          "prompt": f"{name} job {n}", "wait_seconds": 0})
            results.append({"error": r.is_error, "text": r.content[0].text,
                            "task": None if r.is_error else r.structured_content})

        await client.list_tools()  # warm: the race is between the submits, not the start-ups
        await anyio.sleep(max(0.0, go_at - time.time()))
        async with anyio.create_task_group() as tg:
            for n in range(2):
                tg.start_soon(job, n)
    for result in results:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    anyio.run(main, float(sys.argv[1]), sys.argv[2])
