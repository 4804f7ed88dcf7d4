"""The shared fake gateway (tests/fakes) served for the benchmarks: new-api routes (Shape A and B) and apimodels'
route on one real loopback port, on wall time, behind a bare asyncio listener so the fake's own cost stays small.

Routes, the task state machine and every response body are tests/fakes' (FakeGateway); what is here is only what
the benchmarks need on top: a job's timeline read from its prompt, /_stats and /_reset, and the listener.

A job's behaviour rides in its prompt, so any adapter's request builder carries it untouched:
    "[bench d=12.5 p=1 q=0.1] ..."   d: job seconds (wall); p: 1 report progress %, 0 do not; q: queued fraction
Without a marker a job takes --seconds (default 10 s) with progress.

    python -m benchmarks.fakegw [--port N] [--seconds S]   # prints "PORT <n>" on stdout when listening
    GET /_stats                       -> {"tasks": {id: {...}}, "requests": {route: n}}
    POST /_reset                      -> forget every task and counter
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the shared fakes live with the tests

from fakes.gateways import FakeGateway  # noqa: E402
from fakes.tasks import Recorded, Reply, Timeline, json_reply  # noqa: E402

MARKER = re.compile(r"\[bench(?P<args>[^\]]*)\]")
ARG = re.compile(r"(\w)=([0-9.]+)")


class BenchDialect(FakeGateway):
    """FakeGateway on wall time (it never advances its clock), taking each job's timeline from its prompt marker and
    counting requests instead of keeping them (a scale run serves a few hundred thousand polls)."""

    def __init__(self, dialect: Any, default_seconds: float, counts: dict[str, int]) -> None:
        super().__init__(dialect, name="bench", generations_shape="A", videos_shape="B", content=b"")
        self.default_seconds = default_seconds
        self.counts = counts

    def _timeline_for(self, body: Any) -> Timeline:
        seconds, progress, queued = self.default_seconds, True, 0.1
        match = MARKER.search(_find_prompt(body) or "")
        if match:
            args = dict(ARG.findall(match["args"]))
            seconds = float(args.get("d", seconds))
            progress = args.get("p", "1") != "0"
            queued = float(args.get("q", queued))
        return Timeline(seconds=seconds, queued=queued * seconds, progress=progress)

    def _record(self, request: Recorded) -> None:
        self.counts[request.route] = self.counts.get(request.route, 0) + 1


class Gateway:
    """Both dialects on one port: /api/... is apimodels', every other path new-api's."""

    def __init__(self, default_seconds: float = 10.0) -> None:
        self.requests: dict[str, int] = {}
        self.newapi = BenchDialect("newapi", default_seconds, self.requests)
        self.apimodels = BenchDialect("apimodels", default_seconds, self.requests)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        url = urlsplit(target)
        if method == "GET" and url.path == "/_stats":
            return json_reply(self.stats())
        if method == "POST" and url.path == "/_reset":
            for dialect in (self.newapi, self.apimodels):
                dialect.tasks.clear()
            self.requests.clear()
            return json_reply({"ok": True})
        gateway = self.apimodels if url.path.startswith("/api/") else self.newapi
        request = gateway.receive(method, url.path, url.query, headers, body)
        return gateway.answer(request, f"http://{headers.get('host', '127.0.0.1')}")

    def stats(self) -> dict[str, Any]:
        tasks = {**self.newapi.tasks, **self.apimodels.tasks}
        return {
            "tasks": {
                t.id: {"created": t.created, "finished_at": t.created + t.timeline.seconds,
                       "seconds": t.timeline.seconds, "progress": t.timeline.progress, "polls": t.polls,
                       "label": MARKER.sub("", _find_prompt(t.body) or "").strip()[:80]}
                for t in tasks.values()
            },
            "requests": self.requests,
        }


def _find_prompt(body: Any, depth: int = 0) -> str | None:
    """The first string carrying a marker in a submit body, wherever the adapter put it."""
    if depth > 5:
        return None
    if isinstance(body, dict):
        for key in ("prompt", "text"):
            if isinstance(body.get(key), str) and "[bench" in body[key]:
                return body[key]
        values = list(body.values())
    elif isinstance(body, list):
        values = body
    else:
        return None
    for value in values:
        if isinstance(value, str) and "[bench" in value:
            return value
        found = _find_prompt(value, depth + 1)
        if found:
            return found
    return None


# ---- a minimal HTTP/1.1 listener (keep-alive, Content-Length bodies): far cheaper per request than uvicorn --------
class _Protocol(asyncio.Protocol):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1").split("\r\n")
            method, target, _ = (head[0].split(" ", 2) + ["", ""])[:3]
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < head_end + 4 + length:
                return
            body = self.buf[head_end + 4: head_end + 4 + length]
            self.buf = self.buf[head_end + 4 + length:]
            try:
                reply = self.gateway.handle(method, target, headers, body)
            except Exception as exc:  # noqa: BLE001 - never let the fake die mid-benchmark
                reply = json_reply({"error": {"message": repr(exc), "type": "server_error"}}, 500)
            close = headers.get("connection", "").lower() == "close"
            extra = "".join(f"{k}: {v}\r\n" for k, v in (reply.headers or {}).items())
            assert self.transport is not None
            self.transport.write(
                f"HTTP/1.1 {reply.status} {'OK' if reply.status < 400 else 'Error'}\r\n"
                f"content-type: {reply.media_type}\r\ncontent-length: {len(reply.body)}\r\n{extra}"
                f"connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode() + reply.body
            )
            if close:
                self.transport.close()
                return


async def start(gateway: Gateway, port: int = 0) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Protocol(gateway), "127.0.0.1", port, backlog=2048)


async def _main(port: int, seconds: float) -> None:
    gateway = Gateway(seconds)
    server = await start(gateway, port)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    try:
        asyncio.run(_main(args.port, args.seconds))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
