"""The embedded sandbox gateway: a tiny stateless ASGI app speaking new-api's dialect (Shape B, plus Shape A).

Stateless on purpose: the task id carries creation time, job length, flags and what to render (the clip's seconds,
aspect ratio, sound, and the prompt's words as a slug), and status is computed from wall time on each poll, so
tasks survive a server restart and several processes sharing one ledger. The video is rendered on the first
download of it (providers.sandbox_video, in a worker thread).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers import catalogs

DEFAULT_SECONDS = 8.0
SECONDS_HEADER = "X-Sandbox-Job-Seconds"  # the adapter's `seconds` option (VIDEOGEN_SANDBOX_SECONDS)
QUEUED_FRACTION = 0.1  # queued for the first 10% of the job
FAIL_AT = 0.6  # a [fail] job fails 60% of the way through
MARKERS = {"[fail]": "f", "[unknown]": "u", "[stuck]": "k"}  # [slow] triples the job length instead of a flag
# sbx_<created ms>_<job ms>_<flags>_<seconds>s<w>x<h>[a]_<words>_<tail>; ids made before the clip part still parse.
_ID = re.compile(r"^sbx_(\d{1,16})_(\d{1,12})_([fuk]*)_(?:(\d{1,3})s(\d{1,2})x(\d{1,2})(a?)_([a-z0-9-]{0,64})_)?"
                 r"([0-9a-f]{8,32})$")
SLUG_CHARS = 60  # the prompt's words kept in the id (the video shows them); a trailing "-" marks a cut


@dataclass(frozen=True)
class Job:
    """Everything about a sandbox task, decoded from its id."""

    task_id: str
    created_ms: int
    job_ms: int
    flags: str
    seconds: int = 5  # the clip to render
    ratio: tuple[int, int] = (16, 9)
    audio: bool = False
    slug: str = ""

    @classmethod
    def parse(cls, task_id: str) -> Job | None:
        match = _ID.match(task_id)
        if not match:
            return None
        known = int(match[1]), int(match[2]), match[3]
        if match[4] is None or not (int(match[4]) and int(match[5]) and int(match[6])):
            return cls(task_id, *known)
        return cls(task_id, *known, int(match[4]), (int(match[5]), int(match[6])), match[7] == "a", match[8])

    @property
    def words(self) -> str:
        """The prompt's words the video shows."""
        return self.slug.strip("-").replace("-", " ") + ("..." if self.slug.endswith("-") else "")

    def fraction(self, now_ms: int) -> float:
        if self.job_ms <= 0:
            return 1.0
        return max(0.0, (now_ms - self.created_ms) / self.job_ms)

    def state(self, now_ms: int) -> tuple[str, int]:
        """(new-api status, progress) at `now_ms`: QUEUED -> IN_PROGRESS -> SUCCESS | FAILURE, or UNKNOWN."""
        f = self.fraction(now_ms)
        if "f" in self.flags and f >= FAIL_AT:
            return "FAILURE", int(FAIL_AT * 100)
        if "k" in self.flags:
            return ("QUEUED", 0) if f < QUEUED_FRACTION else ("IN_PROGRESS", 50)
        if f >= 1.0:
            return "SUCCESS", 100
        if f < QUEUED_FRACTION:
            return "QUEUED", 0
        if "u" in self.flags:
            return "UNKNOWN", max(1, min(99, int(f * 100)))
        return "IN_PROGRESS", max(1, min(99, int(f * 100)))


def clip_part(body: dict[str, Any], prompt: str) -> str:
    """The id's description of the clip to render: '<seconds>s<w>x<h>[a]_<slug of the prompt's words>'."""
    from providers.sandbox_font import printable  # the font's table loads on the first job, not at start-up

    try:
        seconds = min(60, max(1, round(float(body.get("seconds") or 5))))  # a minute renders in ~2 s of CPU
    except (TypeError, ValueError):
        seconds = 5
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    w, _, h = str(metadata.get("aspect_ratio") or "16:9").partition(":")
    ratio = (int(w), int(h)) if w.isdigit() and h.isdigit() and 0 < int(w) < 100 and 0 < int(h) < 100 else (16, 9)
    for marker in (*MARKERS, "[slow]"):
        prompt = re.sub(re.escape(marker), " ", prompt, flags=re.IGNORECASE)
    slug = ""
    for word in re.findall(r"[a-z0-9]+", printable(prompt).lower()):
        if len(slug) + len(word) + 1 > SLUG_CHARS:
            slug = (slug or word[:SLUG_CHARS - 1]) + "-"
            break
        slug = f"{slug}-{word}" if slug else word
    return f"{seconds}s{ratio[0]}x{ratio[1]}{'a' if metadata.get('audio') is True else ''}_{slug}"


@lru_cache(maxsize=16)
def render_clip(seconds: int, ratio: tuple[int, int], words: str, audio: bool) -> bytes:
    """The MP4 for a job (blocking, a fraction of a second of CPU); the same job always renders the same file."""
    from providers.sandbox_video import Clip, render

    return render(Clip(seconds, ratio, words, audio))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status_code=status)


_SHAPE_B = {"QUEUED": "queued", "IN_PROGRESS": "in_progress", "SUCCESS": "completed", "FAILURE": "failed"}


def build_app() -> Starlette:
    """A fresh gateway. Its only memory is an idempotency-key cache and the recent jobs' model and prompt (for the
    task listing), both per process and bounded; status always comes from the task id, not from memory."""
    seen: OrderedDict[str, str] = OrderedDict()
    made: OrderedDict[str, tuple[str, str]] = OrderedDict()  # task id -> (model, prompt), oldest first
    models = {m.name: m for m in catalogs.load("sandbox")}

    def new_id(prompt: str, job_seconds: float, key: str | None, clip: str) -> str:
        if key and key in seen:
            seen.move_to_end(key)
            return seen[key]
        flags = "".join(flag for marker, flag in MARKERS.items() if marker in prompt.lower())
        if "[slow]" in prompt.lower():
            job_seconds *= 3
        tail = hashlib.sha256(key.encode()).hexdigest()[:16] if key else secrets.token_hex(8)
        task_id = f"sbx_{_now_ms()}_{int(job_seconds * 1000)}_{flags}_{clip}_{tail}"
        if key:
            seen[key] = task_id
            while len(seen) > 4096:
                seen.popitem(last=False)
        return task_id

    def video_object(job: Job, base: str, model: str = "sandbox") -> dict[str, Any]:
        status, progress = job.state(_now_ms())
        done = status in ("SUCCESS", "FAILURE")
        body: dict[str, Any] = {
            "id": job.task_id, "task_id": job.task_id, "object": "video", "model": model,
            "status": _SHAPE_B.get(status, "unknown"), "progress": progress,
            "created_at": job.created_ms // 1000,
            "completed_at": (job.created_ms + int(job.job_ms * (FAIL_AT if status == "FAILURE" else 1))) // 1000
            if done else None,
            "seconds": str(job.seconds),
            "error": None, "metadata": {"sandbox": True},
        }
        if status == "SUCCESS":
            body["metadata"]["url"] = body["video_url"] = f"{base}/v1/videos/{job.task_id}/content"
        if status == "FAILURE":
            body["error"] = {
                "code": "sandbox_failure",
                "message": "Simulated failure: the prompt contains the [fail] marker (sandbox, nothing was charged).",
            }
        return body

    async def submit(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The body is not JSON.", "invalid_json")
        if not isinstance(body, dict) or body.get("model") not in models:
            return _error(400, f"Unknown sandbox model; use one of {', '.join(models)}.", "model_not_found")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(400, "prompt is required", "invalid_request")
        try:
            job_seconds = max(0.0, float(request.headers.get(SECONDS_HEADER, DEFAULT_SECONDS)))
        except ValueError:
            job_seconds = DEFAULT_SECONDS
        task_id = new_id(prompt, job_seconds, request.headers.get("Idempotency-Key"), clip_part(body, prompt))
        job = Job.parse(task_id)
        assert job is not None
        made[task_id] = (body["model"], prompt)
        while len(made) > 4096:
            made.popitem(last=False)
        return JSONResponse({  # like new-api: a submit always answers "queued" [seed 000]
            "id": task_id, "task_id": task_id, "object": "video", "model": body["model"], "status": "queued",
            "progress": 0, "created_at": job.created_ms // 1000,
        })

    def lookup(request: Request) -> Job | Response:
        job = Job.parse(request.path_params["task_id"])
        if job is None:  # new-api answers an unknown task with 400 task_not_exist [providers.md §1]
            return JSONResponse({"code": "task_not_exist", "message": "task_not_exist", "data": None}, 400)
        return job

    async def get_video(request: Request) -> Response:
        job = lookup(request)
        return job if isinstance(job, Response) else JSONResponse(video_object(job, str(request.base_url).rstrip("/")))

    async def get_generation(request: Request) -> Response:
        job = lookup(request)
        if isinstance(job, Response):
            return job
        obj = video_object(job, str(request.base_url).rstrip("/"))
        status, progress = job.state(_now_ms())
        data = {
            "task_id": job.task_id, "status": status, "progress": f"{progress}%",
            "fail_reason": (obj["error"] or {}).get("message", ""), "result_url": obj.get("video_url", ""),
            "submit_time": obj["created_at"], "finish_time": obj["completed_at"] or 0,
        }
        return JSONResponse({"code": "success", "message": "", "data": data})

    async def content(request: Request) -> Response:
        job = lookup(request)
        if isinstance(job, Response):
            return job
        if job.state(_now_ms())[0] != "SUCCESS":
            return _error(400, "The task has not succeeded; there is no video yet.", "task_not_finished")
        video = await anyio.to_thread.run_sync(render_clip, job.seconds, job.ratio, job.words, job.audio)
        return Response(video, media_type="video/mp4", headers={"Cache-Control": "max-age=86400"})

    async def by_key(request: Request) -> Response:
        """GET /v1/videos?idempotency_key=K: the task this process created for K (a sandbox-only lookup).
        GET /v1/videos?since=T: the jobs this process created since unix time T, with model and prompt. The
        listing is ours, not a real gateway's (none of the new-api forks lists tasks to an API key): it lets the
        engine's reconciliation of `unknown` tasks run over real HTTP."""
        if "idempotency_key" not in request.query_params:
            return listing(request)
        task_id = seen.get(request.query_params.get("idempotency_key", ""))
        job = Job.parse(task_id) if task_id else None
        if job is None:
            return _error(404, "No task was created with this idempotency key.", "not_found")
        return JSONResponse(video_object(job, str(request.base_url).rstrip("/")))

    def listing(request: Request) -> Response:
        try:
            since_ms = int(float(request.query_params.get("since", "0")) * 1000)
        except ValueError:
            return _error(400, "since must be a unix time in seconds.", "invalid_request")
        base = str(request.base_url).rstrip("/")
        rows = []
        for task_id, (model, prompt) in made.items():
            job = Job.parse(task_id)
            if job is not None and job.created_ms >= since_ms:
                rows.append(video_object(job, base, model) | {"prompt": prompt})
        return JSONResponse({"object": "list", "data": rows})

    async def list_models(request: Request) -> Response:
        rows = [{"id": name, "object": "model", "owned_by": "sandbox", "supported_endpoint_types": ["openai-video"]}
                for name in models]
        return JSONResponse({"object": "list", "data": rows})

    return Starlette(routes=[
        Route("/v1/videos", submit, methods=["POST"]),
        Route("/v1/videos", by_key, methods=["GET"]),
        Route("/v1/video/generations", submit, methods=["POST"]),
        Route("/v1/videos/{task_id}", get_video, methods=["GET"]),
        Route("/v1/videos/{task_id}/content", content, methods=["GET"]),
        Route("/v1/video/generations/{task_id}", get_generation, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
    ])
