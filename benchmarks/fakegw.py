"""A purpose-built fake video gateway for the benchmarks: new-api routes (Shape A and B) and apimodels' route, on a
real loopback port, on bare asyncio (no framework) so its own cost stays out of the way.

Unlike tests/fakes (a fake clock, for exact tests), this one runs on wall time and records, per task, the wall time
(time.time()) at which the job became finished and every poll it served, which is what detection lag and request
counts are computed from.

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
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MARKER = re.compile(r"\[bench(?P<args>[^\]]*)\]")
ARG = re.compile(r"(\w)=([0-9.]+)")
SHAPE_A_STATUS = {"queued": "QUEUED", "running": "IN_PROGRESS", "succeeded": "SUCCESS"}
SHAPE_B_STATUS = {"queued": "queued", "running": "in_progress", "succeeded": "completed"}
APIMODELS_STATUS = {"queued": "pending", "running": "processing", "succeeded": "completed"}


@dataclass
class Job:
    id: str
    model: str
    created: float  # wall time of the submit
    seconds: float
    progress: bool
    queued: float  # fraction of the job spent queued (progress 0)
    label: str = ""  # the prompt after the marker, to find a job again
    polls: list[float] = field(default_factory=list)  # wall time of every poll served

    @property
    def finished_at(self) -> float:
        return self.created + self.seconds

    def state(self, now: float) -> tuple[str, int | None]:
        elapsed = now - self.created
        if elapsed >= self.seconds:
            return "succeeded", 100
        if elapsed < self.queued * self.seconds:
            return "queued", 0 if self.progress else None
        if not self.progress:
            return "running", None
        run = self.seconds * (1 - self.queued)
        return "running", max(1, min(99, int(100 * (elapsed - self.queued * self.seconds) / max(run, 1e-9))))


class Gateway:
    def __init__(self, default_seconds: float = 10.0) -> None:
        self.default_seconds = default_seconds
        self.jobs: dict[str, Job] = {}
        self.requests: dict[str, int] = {}
        self._n = 0

    # ---- state --------------------------------------------------------------------------------------------------
    def submit(self, body: Any) -> Job:
        prompt = _find_prompt(body) or ""
        seconds, progress, queued = self.default_seconds, True, 0.1
        match = MARKER.search(prompt)
        if match:
            args = dict(ARG.findall(match["args"]))
            seconds = float(args.get("d", seconds))
            progress = args.get("p", "1") != "0"
            queued = float(args.get("q", queued))
        self._n += 1
        job = Job(id=f"task_bench{self._n:08d}", model=str(body.get("model", "")) if isinstance(body, dict) else "",
                  created=time.time(), seconds=seconds, progress=progress, queued=queued,
                  label=MARKER.sub("", prompt).strip()[:80])
        self.jobs[job.id] = job
        return job

    def stats(self) -> dict[str, Any]:
        return {
            "tasks": {
                j.id: {"created": j.created, "finished_at": j.finished_at, "seconds": j.seconds,
                       "progress": j.progress, "label": j.label, "polls": j.polls}
                for j in self.jobs.values()
            },
            "requests": self.requests,
        }

    # ---- routing ------------------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, body: bytes) -> tuple[int, Any]:
        url = urlsplit(target)
        path = url.path
        now = time.time()
        if method == "POST" and path in ("/v1/video/generations", "/v1/videos", "/v1/videos/generations",
                                         "/api/v1/video/generations"):
            self._count("submit")
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return 400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
            job = self.submit(data)
            if path.startswith("/api/"):
                return 200, {"code": 200, "msg": "success", "data": {"taskId": job.id, "state": "pending"}}
            return 200, {"id": job.id, "task_id": job.id, "object": "video", "model": job.model, "status": "queued",
                         **({"progress": 0} if job.progress else {}), "created_at": int(job.created)}
        if method == "GET":
            if path == "/_stats":
                return 200, self.stats()
            if path == "/v1/models":
                self._count("models")
                return 200, {"object": "list", "data": []}
            for prefix, shape in (("/v1/video/generations/", "A"), ("/v1/videos/generations/", "A"),
                                  ("/v1/videos/", "B")):
                if path.startswith(prefix) and "/" not in path[len(prefix):]:
                    return self.poll(unquote(path[len(prefix):]), shape, now)
            if path == "/api/v1/video/generations":
                task_id = (parse_qs(url.query).get("task_id") or [""])[0]
                return self.poll(task_id, "apimodels", now)
        if method == "POST" and path == "/_reset":
            self.jobs.clear()
            self.requests.clear()
            return 200, {"ok": True}
        self._count("other")
        return 404, {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}

    def poll(self, task_id: str, shape: str, now: float) -> tuple[int, Any]:
        self._count("poll")
        job = self.jobs.get(task_id)
        if job is None:
            return 400, {"code": "task_not_exist", "message": "task_not_exist", "data": None}
        job.polls.append(now)
        state, progress = job.state(now)
        url = f"https://cdn.bench.invalid/{job.id}.mp4" if state == "succeeded" else ""
        if shape == "A":
            data: dict[str, Any] = {"task_id": job.id, "status": SHAPE_A_STATUS[state], "fail_reason": "",
                                    "result_url": url, "submit_time": int(job.created), "action": "generate"}
            if progress is not None:
                data["progress"] = f"{progress}%"
            return 200, {"code": "success", "message": "", "data": data}
        if shape == "B":
            obj: dict[str, Any] = {"id": job.id, "object": "video", "model": job.model,
                                   "status": SHAPE_B_STATUS[state], "created_at": int(job.created),
                                   "metadata": {"url": url} if url else {}}
            if progress is not None:
                obj["progress"] = progress
            return 200, obj
        data = {"taskId": job.id, "state": APIMODELS_STATUS[state], "model": job.model,
                "createTime": int(job.created * 1000)}
        if url:
            data["resultUrls"] = [url]
        if progress is not None:
            data["progress"] = progress
        return 200, {"code": 200, "msg": "success", "data": data}

    def _count(self, route: str) -> None:
        self.requests[route] = self.requests.get(route, 0) + 1


def _find_prompt(body: Any, depth: int = 0) -> str | None:
    """The first prompt-like string in a submit body, wherever the adapter put it."""
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


# ---- a minimal HTTP/1.1 server (keep-alive, Content-Length bodies) ------------------------------------------------
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
                status, payload = self.gateway.handle(method, target, body)
            except Exception as exc:  # noqa: BLE001 - never let the fake die mid-benchmark
                status, payload = 500, {"error": {"message": repr(exc), "type": "server_error"}}
            out = json.dumps(payload, separators=(",", ":")).encode()
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
            close = headers.get("connection", "").lower() == "close"
            assert self.transport is not None
            self.transport.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(out)}\r\n"
                f"connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode() + out
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
