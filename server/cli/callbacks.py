"""POST /callbacks/{task_id}/{token}: where a gateway that calls back (apimodels' `callback_url`) reports a finished
job to `serve --http`. Answered before any bearer-token check (the gateway holds the task's own token, not ours)
and without the browser Host/Origin checks (it is no browser). The body is never read: a valid token only makes the
engine read the task from the gateway at once (server.engine.callbacks), so a forged callback changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse

from server.engine.callbacks import CALLBACK_PATH
from server.runtime import Runtime

_TARGET = re.compile(CALLBACK_PATH + r"/(vg_[0-9a-f]{32})/([A-Za-z0-9_-]{16,64})/?")


def with_callbacks(app: Any, runtime: Callable[[], Runtime | None]) -> Any:
    """`app` with the callback route in front of it."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(CALLBACK_PATH + "/"):
            await app(scope, receive, send)
            return
        await (await answer(scope["method"], path, runtime))(scope, receive, send)

    return asgi


async def answer(method: str, path: str, runtime: Callable[[], Runtime | None]) -> JSONResponse:
    # One answer for a wrong token and an unknown task: the route tells a guesser nothing.
    unknown = JSONResponse({"error": "no such callback"}, status_code=404)
    target = _TARGET.fullmatch(path)
    if target is None:
        return unknown
    if method != "POST":
        return JSONResponse({"error": "callbacks are POST"}, status_code=405, headers={"Allow": "POST"})
    rt = runtime()
    if rt is None:
        return JSONResponse({"error": "the server is starting or stopping"}, status_code=503)
    engine = await rt.engine()
    if not await engine.called_back(target[1], target[2]):
        return unknown
    return JSONResponse({"ok": True})
