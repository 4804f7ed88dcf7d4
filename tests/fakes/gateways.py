"""Fake video gateways for all five wire protocols, as in-process ASGI apps (reusable by every test).

One configurable class, `FakeGateway`, speaks either the new-api dialect (OrcaRouter, OmniRouters, OctopusX,
InfinityBlue) or apimodels.app's; `fake_for(provider_id)` returns one set up with that gateway's documented shapes.

Import it as `from fakes.gateways import FakeGateway, Timeline, fake_for` (tests/conftest.py puts tests/ on sys.path).

Quick use:
    gw = fake_for("orcarouter", api_key="sk-test")           # or FakeGateway("newapi", generations_shape="A")
    async with gw.client() as client:                        # httpx2.AsyncClient routed to the fake in-process
        p = OrcaRouter(client, base_url=gw.base_url, api_key=SecretStr("sk-test"))
    gw.requests[-1].json                                      # the exact body the adapter sent
    gw.script(Timeline(seconds=2, fail="boom"))               # the next task takes 2 s and fails
    gw.inject(429, route="submit", retry_after=3)             # the next submit gets a 429 with Retry-After: 3
    gw.advance(5)                                             # move the fake clock (no real sleeping needed)
    with gw.serve() as base_url: ...                          # the same app on a real loopback port (uvicorn)
Mount it on a shared client instead: httpx2.AsyncClient(mounts={gw.base_url: gw.transport()}).
Without ASGI: gw.answer(gw.receive(method, path, query, headers, raw_body), base) -> Reply (what
benchmarks/fakegw.py's bare asyncio listener serves, on wall time).

Shapes (new-api dialect):
    submit_shape       "openai" {id,task_id,object,model,status,progress,created_at} | "task_id" {task_id} only
                       (OctopusX Seedance) | "queued" {task_id,status} (InfinityBlue)
    generations_shape  GET /v1/video/generations/{id}: "A" wrapped UPPERCASE + result_url | "A_legacy" URL in
                       fail_reason | "A_kling" URL only in data.data.task_result | "A_ark" URL only in
                       data.data.content | "simple" {code,data:{status lowercase,url}} | "flat" InfinityBlue's
                       unwrapped {task_id,status,url,...} | "missing" (404)
    videos_shape       GET /v1/videos/{id}: "B" OpenAI video object, metadata.url | "octopusx" B + top-level
                       video_url, status "processing", expires_at | "B_no_reason" B whose failed task carries no
                       error (new-api's Kling converter) | "not_implemented" (501) | "missing" (404)
Every result URL points at the fake itself (`/files/{id}.mp4`), as does `/v1/videos/{id}/content`; both serve
`content` (by default the package's small sample MP4).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal
from urllib.parse import parse_qs

import anyio
import httpx2
from starlette.requests import Request
from starlette.responses import Response

from fakes.callbacks import CallbackSender
from fakes.loopback import serve_on_loopback
from fakes.newapi_rules import Refusal, accept, vendor_request
from fakes.shapes import APIMODELS, task_body
from fakes.tasks import FakeTask, Recorded, Reply, Timeline, json_reply

Dialect = Literal["newapi", "apimodels"]
Route = Literal["submit", "poll", "content", "models", "pricing", "any"]


def sample_mp4() -> bytes:
    return resources.files("providers.assets").joinpath("sample.mp4").read_bytes()


@dataclass
class Injected:
    status: int
    route: Route
    times: int
    retry_after: str | None
    message: str
    in_body: bool  # apimodels: HTTP 200 with {"code": status}
    echo_key: bool  # put the received Authorization header in the message (redaction tests)
    raw: bytes | None  # answer with these bytes (text/html) instead of a JSON error body
    code: str | None  # the gateway's error code (default fake_<status>)
    task_envelope: bool  # new-api's task-route body {"code","message","data":null} instead of the OpenAI one


class FakeGateway:
    """A scripted in-process gateway (an ASGI app). All attributes may be changed between requests."""

    def __init__(
        self,
        dialect: Dialect = "newapi",
        *,
        name: str = "gateway",
        api_key: str | None = None,
        submit_shape: str = "openai",
        generations_shape: str = "A",
        videos_shape: str = "B",
        timeline: Timeline | None = None,
        content: bytes | None = None,
        delay: float = 0.0,
        stock: bool = False,
        serves: set[str] | None = None,
        extra_keys: tuple[str, ...] = (),
    ) -> None:
        self.dialect = dialect
        self.base_url = f"http://{name}.fake.test"
        self.api_key = api_key  # when set, any other Authorization gets 401
        self.submit_shape = submit_shape
        self.generations_shape = generations_shape
        self.videos_shape = videos_shape
        self.timeline = timeline or Timeline()  # default for tasks with no scripted timeline
        self.content = content if content is not None else sample_mp4()
        self.delay = delay  # seconds before every answer (timeout tests)
        # stock=True: submits go through new-api's own rules (fakes/newapi_rules.py): distributor, prompt, key
        # dropping, metadata round trip. `serves`: the models routed (None = any); `extra_keys`: top-level keys
        # this fork documents beyond TaskSubmitReq (OctopusX Seedance `content`).
        self.stock = stock
        self.serves = serves
        self.extra_keys = extra_keys
        self.out_of_quota = False  # True: submits get new-api's 403 insufficient_user_quota (billing pre-consume)
        self.requests: list[Recorded] = []
        self.tasks: dict[str, FakeTask] = {}
        self.models: list[dict[str, Any]] = [
            {"id": "fake-video-1", "object": "model", "owned_by": "fake", "supported_endpoint_types": ["openai-video"]},
            {"id": "fake-video-2", "object": "model", "architecture": {"output_modalities": ["video"]}},
            {"id": "gpt-4o-mini", "object": "model", "supported_endpoint_types": ["openai"]},
        ]
        # GET /api/pricing, served without login as stock new-api does (controller/pricing.go GetPricing: {success,
        # data: [model/pricing.go Pricing rows: model_name, quota_type, model_price, model_ratio, enable_groups...],
        # group_ratio, usable_group, ...}). None: the route is absent (404), as on a fork that removed it.
        self.pricing: dict[str, Any] | None = None
        self._script: list[Timeline] = []
        self._injected: list[Injected] = []
        self._offset = 0.0
        self.callbacks = CallbackSender(self.now, self._callback_body)  # apimodels: POSTs to each `callback_url`

    # ---- test API ---------------------------------------------------------------------------------------------
    @property
    def created(self) -> int:
        """How many tasks were created (paid jobs, on a real gateway)."""
        return len(self.tasks)

    @property
    def submits(self) -> list[Recorded]:
        return [r for r in self.requests if r.route == "submit"]

    @property
    def last_body(self) -> Any:
        return self.submits[-1].json if self.submits else None

    def script(self, *timelines: Timeline) -> None:
        """The next tasks take these timelines, in order; later ones take `self.timeline`."""
        self._script.extend(timelines)

    def inject(
        self,
        status: int,
        *,
        route: Route = "any",
        times: int = 1,
        retry_after: float | str | None = None,
        message: str | None = None,
        in_body: bool = False,
        echo_key: bool = False,
        raw: bytes | None = None,
        code: str | None = None,
        task_envelope: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with this error instead (before any task is created).

        `raw` sends those bytes as text/html with `status` (a proxy's error page; 200 + raw = a non-JSON success).
        `code` is the gateway's error code; `task_envelope` uses new-api's task-route error body.
        """
        self._injected.append(Injected(status, route, times, None if retry_after is None else str(retry_after),
                                       message or f"injected error {status}", in_body, echo_key, raw, code,
                                       task_envelope))

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def now(self) -> float:
        return time.time() + self._offset

    def transport(self) -> httpx2.ASGITransport:
        return httpx2.ASGITransport(app=self)

    def client(self, **kwargs: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(mounts={self.base_url: self.transport()}, **kwargs)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serve_on_loopback(self) as url:
            yield url

    def finish(self, task_id: str) -> None:
        """Make a task end now (whatever its timeline says)."""
        task = self.tasks[task_id]
        task.created = self.now() - task.timeline.seconds

    # ---- ASGI -------------------------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        recorded = self.receive(request.method, request.url.path, request.url.query,
                                {k.lower(): v for k, v in request.headers.items()}, await request.body())
        if self.delay:
            await anyio.sleep(self.delay)
        reply = self.answer(recorded, f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}")
        await Response(reply.body, reply.status, headers=reply.headers, media_type=reply.media_type)(scope, receive,
                                                                                                     send)

    # ---- the core, without a web framework (benchmarks/fakegw.py serves it on bare asyncio) -------------------
    def receive(self, method: str, path: str, query: str, headers: dict[str, str], raw: bytes) -> Recorded:
        """Parse and record one request (headers: lower-case names)."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = Recorded(method, path, {k: v[-1] for k, v in parse_qs(query).items()}, headers, body,
                            self._route(method, path))
        self._record(recorded)
        return recorded

    def _record(self, request: Recorded) -> None:
        self.requests.append(request)

    def _route(self, method: str, path: str) -> str:
        if path.startswith("/files/"):
            return "file"
        if path.endswith("/content"):
            return "content"
        if path.endswith("/models"):
            return "models"
        if path == "/api/pricing":
            return "pricing"
        if method == "POST":
            return "submit"
        return "poll" if method == "GET" else "other"

    def answer(self, request: Recorded, base: str) -> Reply:
        """The reply to a received request; `base` is the scheme://host its result URLs point at."""
        route, path, body = request.route, request.path, request.json
        injected = self._take_injection(route)
        if injected is not None:
            return self._injected_error(injected, request)
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}" and route not in (
                "file", "pricing"):
            return self._error(401, "Invalid token (request id: fake)", "invalid_api_key")
        if route == "file":
            task = self.tasks.get(path.removeprefix("/files/").removesuffix(".mp4"))
            return self._bytes(task)
        if self.dialect == "apimodels":
            return self._apimodels(request, route, path, body, base)
        return self._newapi(route, path, body, base)

    def _take_injection(self, route: str) -> Injected | None:
        for item in self._injected:
            if item.route in ("any", route):
                item.times -= 1
                if item.times <= 0:
                    self._injected.remove(item)
                return item
        return None

    def _injected_error(self, item: Injected, request: Recorded) -> Reply:
        message = item.message
        if item.echo_key:
            message += f" (you sent {request.headers.get('authorization', '')})"
        headers = {"Retry-After": item.retry_after} if item.retry_after is not None else None
        if item.raw is not None:
            return Reply(item.status, item.raw, "text/html", headers)
        if self.dialect == "apimodels":
            status = 200 if item.in_body else item.status
            return json_reply({"code": item.status, "msg": message, "data": None}, status, headers=headers)
        code = item.code or f"fake_{item.status}"
        if item.task_envelope:  # relay/relay_task.go respondTaskError
            return json_reply({"code": code, "message": message, "data": None}, item.status, headers=headers)
        return self._error(item.status, message, code, headers=headers)

    def _error(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Reply:
        if self.dialect == "apimodels":
            return json_reply({"code": status, "msg": message, "data": None}, status, headers=headers)
        return json_reply({"error": {"message": message, "type": "fake_api_error", "code": code, "param": ""}},
                     status, headers=headers)

    def _create(self, body: Any) -> FakeTask:
        model = body.get("model", "") if isinstance(body, dict) else ""
        task = FakeTask(f"task_{secrets.token_hex(16)}", str(model), body, self.now(), self._timeline_for(body))
        self.tasks[task.id] = task
        return task

    def _timeline_for(self, body: Any) -> Timeline:
        """How a new task behaves: the next scripted timeline, else the default (the benchmarks read the prompt)."""
        return self._script.pop(0) if self._script else self.timeline

    def _bytes(self, task: FakeTask | None) -> Reply:
        if task is None:
            return self._error(404, "task not found", "task_not_exist")
        if task.state(self.now())[0] != "succeeded":
            return self._error(400, "task is not finished", "task_not_finished")
        return Reply(200, self.content, "video/mp4", {"Cache-Control": "max-age=86400"})

    # ---- new-api dialect --------------------------------------------------------------------------------------
    def _newapi(self, route: str, path: str, body: Any, base: str) -> Reply:
        if route == "models":
            return json_reply({"object": "list", "data": self.models})
        if route == "pricing":
            return json_reply(self.pricing) if self.pricing is not None else self._error(404, "Not Found", "not_found")
        if route == "submit":
            if not isinstance(body, dict) or not body.get("model"):
                return self._error(400, "model is required", "invalid_request")
            upstream: dict[str, Any] = {}
            if not self._served(body["model"]):  # middleware/distributor.go, on every fork
                refusal = Refusal(503, "model_not_found", f"No available channel for model {body['model']}",
                                  task_envelope=False)
                return json_reply(refusal.body(), refusal.status)
            if self.out_of_quota:  # types/error.go ErrorCodeInsufficientUserQuota, raised before any channel call
                refusal = Refusal(403, "insufficient_user_quota", "user quota is not enough", task_envelope=False)
                return json_reply(refusal.body(), refusal.status)
            if self.stock:
                try:
                    upstream = vendor_request(accept(body, self._served, self.extra_keys))
                except Refusal as refusal:
                    return json_reply(refusal.body(), refusal.status)
            task = self._create(body)
            task.upstream = upstream
            if self.submit_shape == "task_id":
                return json_reply({"task_id": task.id})
            if self.submit_shape == "queued":
                return json_reply({"task_id": task.id, "status": "queued"})
            return json_reply({"id": task.id, "task_id": task.id, "object": "video", "model": task.model,
                          "status": "queued", "progress": 0, "created_at": int(task.created)})
        task_id = path.rstrip("/").split("/")[-2 if route == "content" else -1]
        task = self.tasks.get(task_id)
        if route == "content":
            return self._bytes(task)
        if route != "poll":
            return self._error(404, "no such route", "not_found")
        generations = path.startswith(("/v1/video/generations/", "/v1/videos/generations/"))
        shape = self.generations_shape if generations else self.videos_shape
        if shape == "missing":
            return self._error(404, "Invalid URL (GET)", "not_found")
        if shape == "not_implemented":
            return self._error(501, "not implemented for this channel", "not_implemented")
        if task is None:  # new-api: an unknown task id is 400 task_not_exist [providers.md §1]
            return json_reply({"code": "task_not_exist", "message": "task_not_exist", "data": None}, 400)
        now = self.now()
        task.polls.append(now)
        return json_reply(task_body(task, shape, *task.state(now), base))

    def _served(self, model: str) -> bool:
        """distributor.go: a model is routed when a channel lists it (OmniRouters' names may add a resolution)."""
        if self.serves is None:
            return True
        base = re.sub(r"-(720p|768p|1080p|2048p|4096p)$", "", model, flags=re.IGNORECASE)
        listed = {m.get("id") for m in self.models}
        return model in self.serves or base in self.serves or model in listed

    # ---- apimodels.app dialect --------------------------------------------------------------------------------
    def _apimodels(self, request: Recorded, route: str, path: str, body: Any, base: str) -> Reply:
        if path != "/api/v1/video/generations":
            return self._error(404, "Not Found", "not_found")
        if route == "submit":
            if not isinstance(body, dict) or not body.get("model"):
                return self._error(400, "model is required", "invalid_request")
            task = self._create(body)
            if isinstance(body.get("callback_url"), str):
                self.callbacks.watch(task.id, body["callback_url"])
            return json_reply({"code": 200, "msg": "success",
                          "data": {"taskId": task.id, "state": "pending", "model": f"kling-video/{task.model}"}})
        task = self.tasks.get(request.query.get("task_id", ""))
        if task is None:
            return self._error(404, "Task not found", "not_found")
        now = self.now()
        task.polls.append(now)
        return json_reply(self._apimodels_answer(task, now, base))  # a failed task is still code 200 [D]

    def _callback_body(self, task_id: str, now: float) -> Any | None:
        task = self.tasks.get(task_id)
        if task is None or task.state(now)[0] in ("queued", "running"):
            return None
        return self._apimodels_answer(task, now, self.base_url)

    def _apimodels_answer(self, task: FakeTask, now: float, base: str) -> dict[str, Any]:
        state, _ = task.state(now)
        data: dict[str, Any] = {"taskId": task.id, "state": APIMODELS[state], "model": f"kling-video/{task.model}",
                                "createTime": int(task.created * 1000)}
        if state == "succeeded":
            data["resultUrls"] = [f"{base}/files/{task.id}.mp4"]
            data["completeTime"] = int((task.created + task.timeline.seconds) * 1000)
        elif state in ("failed", "cancelled"):
            data["failMsg"] = task.timeline.fail or "task cancelled"
        return {"code": 200, "msg": "success", "data": data}


# How each real gateway answers, per its docs (providers.md §2-§6). The new-api forks run new-api's own submit
# rules (stock=True); OmniRouters' body is not stock new-api's (providers.md §12), so only its distributor is.
GATEWAY_SHAPES: dict[str, dict[str, Any]] = {
    "orcarouter": dict(dialect="newapi", submit_shape="openai", generations_shape="A", videos_shape="B", stock=True),
    "omnirouters": dict(dialect="newapi", submit_shape="openai", generations_shape="A", videos_shape="B"),
    "octopusx": dict(dialect="newapi", submit_shape="openai", generations_shape="simple", videos_shape="octopusx",
                     stock=True, extra_keys=("content",)),
    "infinityblue": dict(dialect="newapi", submit_shape="queued", generations_shape="flat", videos_shape="B",
                         stock=True),
    "apimodels": dict(dialect="apimodels"),
}


def fake_for(provider_id: str, **overrides: Any) -> FakeGateway:
    """A FakeGateway answering as `provider_id` does (one of GATEWAY_SHAPES), routing its catalog's models and
    the ones in its /v1/models list; overrides win."""
    from providers import catalogs
    from providers.registry import adapter_class

    shape = GATEWAY_SHAPES[provider_id]
    catalog = adapter_class(provider_id).catalog  # its own name, or a catalog shipped elsewhere (fakes/newfork)
    serves = {m.name for m in catalogs.load(catalog)} if shape["dialect"] == "newapi" else None
    return FakeGateway(name=provider_id, **{"serves": serves, **shape, **overrides})
