"""One server process of the multi-process test: start a job with the given key at the given instant, wait, print it.

Run as `python mp_worker.py GO_AT KEY`; configuration comes from the environment, as for the real server.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from providers.base import VideoRequest
from server.app import open_runtime
from server.settings import Settings


async def main(go_at: float, key: str) -> None:
    async with open_runtime(Settings()) as rt:
        provider = rt.providers["orcarouter"]
        request = VideoRequest(model="kling/kling-v2-6", prompt="one job, many processes", duration=5)
        provider.validate(request)
        await anyio.sleep(max(0.0, go_at - time.time()))  # all processes start the job at the same instant
        started = await (await rt.engine()).start(provider, request, idempotency_key=key)
        task = await (await rt.engine()).wait(started.task.task_id, 30)
        print(json.dumps({"reused": started.reused, **task.public()}), flush=True)


if __name__ == "__main__":
    anyio.run(main, float(sys.argv[1]), sys.argv[2])
