"""Stand-ins for the engine tests: a scripted pure-python gateway behind a Provider, a recording downloader,
ledger rows to plant, and the environment of a server subprocess."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

import server
from providers.base import Capabilities, ModelInfo, TaskSnapshot, TaskStatus, VideoRequest
from providers.errors import ProviderError, UpstreamError
from server.ledger.store import SUBMITTING, TaskRow, new_task_id
from server.ledger.owners import process_owner
from server.engine.submit import describe_request
from server.media.download import MediaError
from server.settings import Settings

from fakes.gateways import sample_mp4

FAST = dict(submit_budget=1.0, retry_base=0.01, retry_cap=0.05, lease_ttl=1.0, follow_interval=0.02,
            poll_deadline=30.0, shutdown_grace=0.5, warn_after=3, tick_flush=0.2)


def fast_settings(home: Path, **env: Any) -> Settings:
    values = {"VIDEOGEN_HOME": str(home), "VIDEOGEN_POLL_MIN_INTERVAL": 0.01, "VIDEOGEN_POLL_MAX_INTERVAL": 0.05,
              "VIDEOGEN_DEFAULT_WAIT": 1.0, "VIDEOGEN_ALLOW_PRIVATE_URLS": True, "VIDEOGEN_SANDBOX": False}
    values.update(env)
    return Settings(_env_file=None, **values)


def request(prompt: str = "a cat surfing", **kw: Any) -> VideoRequest:
    return VideoRequest(model="stub-1", prompt=prompt, **kw)


@dataclass
class Job:
    id: str
    key: str | None
    created: float
    seconds: float
    progress: bool
    fail: str | None = None


@dataclass
class StubGateway:
    """Jobs progress on the wall clock. `submit_plan` / `poll_plan` items are consumed one per call:

    None: behave; a ProviderError: raise it before creating anything; ("after", exc): create the job, then raise;
    "hang": create the job, then never answer.
    """

    seconds: float = 0.2
    progress: bool = True
    honour_keys: bool = False  # a gateway that dedupes by Idempotency-Key
    jobs: dict[str, Job] = field(default_factory=dict)
    submit_plan: list[Any] = field(default_factory=list)
    poll_plan: list[Any] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    infos: list[ModelInfo | None] = field(default_factory=list)  # the model each submit was handed (resolved once)
    polls: int = 0
    on_submit: Callable[[VideoRequest, str | None], None] | None = None
    fail_next: str | None = None

    @property
    def created(self) -> int:
        return len(self.jobs)

    def create(self, key: str | None) -> Job:
        if self.honour_keys and key is not None:
            for job in self.jobs.values():
                if job.key == key:
                    return job
        job = Job(f"up_{secrets.token_hex(6)}", key, time.time(), self.seconds, self.progress, self.fail_next)
        self.jobs[job.id] = job
        return job

    def snapshot(self, job: Job) -> TaskSnapshot:
        elapsed = time.time() - job.created
        if elapsed >= job.seconds:
            if job.fail:
                return TaskSnapshot(status=TaskStatus.FAILED, upstream_id=job.id, error_code="boom",
                                    error_message=job.fail)
            return TaskSnapshot(status=TaskStatus.SUCCEEDED, upstream_id=job.id, progress=100,
                                video_url=f"https://cdn.stub.test/{job.id}.mp4")
        progress = int(100 * elapsed / job.seconds) if job.progress else None
        return TaskSnapshot(status=TaskStatus.RUNNING, upstream_id=job.id, progress=progress)


class StubProvider:
    id = "stub"
    sandbox = False
    task_listing = False
    capabilities = Capabilities()  # no lookup by key, no content proxy

    def __init__(self, gateway: StubGateway, *, provider_id: str = "stub") -> None:
        self.gw = gateway
        self.id = provider_id

    def models(self) -> list[ModelInfo]:
        return [ModelInfo(name="stub-1")]

    def model(self, name: str) -> ModelInfo | None:
        return ModelInfo(name=name)

    def validate(self, request: VideoRequest, info: ModelInfo | None = None) -> ModelInfo:
        return info or ModelInfo(name=request.model)

    def build_submit(self, request: VideoRequest, info: ModelInfo | None = None) -> tuple[str, dict[str, Any]]:
        return "/submit", request.model_dump(mode="json")

    async def submit(self, request: VideoRequest, *, idempotency_key: str | None = None,
                     info: ModelInfo | None = None) -> TaskSnapshot:
        await anyio.sleep(0)
        self.gw.infos.append(info)
        if self.gw.on_submit is not None:
            self.gw.on_submit(request, idempotency_key)
        self.gw.keys.append(idempotency_key)
        step = self.gw.submit_plan.pop(0) if self.gw.submit_plan else None
        if isinstance(step, ProviderError):
            raise step
        job = self.gw.create(idempotency_key)
        if step == "hang":
            await anyio.sleep_forever()
        if isinstance(step, tuple):
            raise step[1]
        return TaskSnapshot(status=TaskStatus.QUEUED, upstream_id=job.id, progress=0)

    async def get(self, upstream_id: str) -> TaskSnapshot:
        self.gw.polls += 1
        await anyio.sleep(0)
        step = self.gw.poll_plan.pop(0) if self.gw.poll_plan else None
        if isinstance(step, BaseException):
            raise step
        return self.gw.snapshot(self.gw.jobs[upstream_id])

    def content_request(self, upstream_id: str) -> tuple[str, dict[str, str]] | None:
        return None

    async def discover(self) -> list[ModelInfo]:
        return []


class FindingProvider(StubProvider):
    """A gateway that can be asked "did you create a job for this idempotency key?"."""

    capabilities = Capabilities(find=True)

    async def find(self, idempotency_key: str) -> TaskSnapshot | None:
        for job in self.gw.jobs.values():
            if job.key == idempotency_key:
                return self.gw.snapshot(job)
        return None


def bad_gateway() -> UpstreamError:
    return UpstreamError("stub answered HTTP 502", status=502, sent=True)


class RecordingDownloader:
    """Stands in for server.media.download.download_video: records calls, can fail as `expired` a few times."""

    def __init__(self, *, expired: int = 0, fail: str | None = None, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, dict[str, str] | None]] = []
        self.expired = expired
        self.fail = fail
        self.delay = delay

    async def __call__(self, client: Any, url: str, *, dest_dir: Path, stem: str, headers: dict[str, str] | None,
                       **kw: Any) -> Path:
        self.calls.append((url, headers))
        if self.delay:
            await anyio.sleep(self.delay)
        if self.expired > 0:
            self.expired -= 1
            raise MediaError("expired", f"the video link {url} answered HTTP 403")
        if self.fail:
            raise MediaError("http", self.fail)
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / f"{stem}.mp4"
        path.write_bytes(sample_mp4())  # a real video: the poller reads its media facts and makes a poster
        return path


def make_row(**kw) -> TaskRow:
    now = time.time()
    fingerprint, request_json = describe_request("stub", request(kw.pop("prompt", "p")))
    values = dict(task_id=new_task_id(), provider="stub", model="stub/stub-1", fingerprint=fingerprint,
                  request_json=request_json, idempotency_key=None, state=SUBMITTING, progress=None, video_url=None,
                  local_path=None, expires_at=None, error_code=None, error_message=None, upstream_task_id=None,
                  download=True, download_state=None, sandbox=False, lease_owner=None, lease_expires=None,
                  warning=None, poll_failures=0, created_at=now, updated_at=now)
    values.update(kw)
    return TaskRow(**values)


def dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return process_owner().rsplit(":", 3)[0] + f":{proc.pid}:-:dead"


GATEWAY_KEY = "sk-orca-SENTINEL-777"
ROOT = Path(server.__file__).resolve().parent.parent  # the checkout, or site-packages when installed


def server_env(home: Path, base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("VIDEOGEN_")}
    env.update(VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX="0", ORCAROUTER_API_KEY=GATEWAY_KEY,
               ORCAROUTER_BASE_URL=base_url, VIDEOGEN_ALLOW_PRIVATE_URLS="1", VIDEOGEN_POLL_MIN_INTERVAL="0.05",
               VIDEOGEN_POLL_MAX_INTERVAL="0.2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])), **extra)
    return env
