"""The Poller: checks an upstream task while holding its lease, records what it learns (schedule.py says
when), and downloads the finished video.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from providers.base import Provider, TaskSnapshot, TaskStatus
from server.ledger.store import Ledger, TaskRow
from providers.registry import SPECS
from server.engine import adopt
from server.engine.callbacks import Wakes
from server.engine.history import History
from server.engine.schedule import PollSchedule, Timing
from server.tasks import DEFAULT_PRINCIPAL

log = logging.getLogger(__name__)

_HEADER_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# --- the poller ----------------------------------------------------------------------------------------------------

Publish = Callable[[TaskRow], None]
POLLS_IN_FLIGHT = 10
_TICKS = frozenset({"progress", "warning", "poll_failures"})  # changes that are not worth an fsync
Downloader = Callable[..., Awaitable[Path]]
_FAILURE_NOTE = {
    TaskStatus.FAILED: "Nothing more will happen to this job; change the request if needed and submit again.",
    TaskStatus.CANCELLED: "The job was cancelled on the gateway; submit again if it is still wanted.",
}


def upstream_key(idempotency_key: str | None, task_id: str, principal: str = DEFAULT_PRINCIPAL) -> str:
    """The Idempotency-Key sent to the gateway: the agent's key when it is a safe header token, else a digest of it.
    Another principal's key is always a digest that includes the principal: every principal shares the gateway
    account, so the same key from two principals must not name one gateway job."""
    if idempotency_key is None:
        return task_id
    if principal != DEFAULT_PRINCIPAL:
        return "vgk_" + hashlib.sha256(f"{principal}\n{idempotency_key}".encode()).hexdigest()[:32]
    if _HEADER_SAFE.fullmatch(idempotency_key):
        return idempotency_key
    return "vgk_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def snapshot_changes(row: TaskRow, snap: TaskSnapshot) -> dict[str, Any]:
    """Ledger columns for what the gateway just said about the task."""
    status = snap.status
    progress = 100 if status is TaskStatus.SUCCEEDED else snap.progress
    if status.value == row.state and row.progress is not None:
        progress = row.progress if progress is None else max(progress, row.progress)  # no going backwards
    changes: dict[str, Any] = {"state": status.value, "progress": progress, "warning": None, "poll_failures": 0,
                               "error_code": None, "error_message": None}
    if snap.upstream_id and not row.upstream_task_id:
        changes["upstream_task_id"] = snap.upstream_id
    if snap.video_url:
        changes["video_url"] = snap.video_url
    if snap.expires_at is not None:
        changes["expires_at"] = snap.expires_at.timestamp()
    if status in _FAILURE_NOTE:
        said = f": {snap.error_message}" if snap.error_message else ""
        changes["error_code"] = snap.error_code or status.value
        changes["error_message"] = f"The gateway reports the job {status.value}{said}. {_FAILURE_NOTE[status]}"
    elif status is TaskStatus.UNKNOWN:
        changes["error_code"] = "upstream_unknown"
        changes["error_message"] = ("The gateway reports a status this server does not recognise; it is still being "
                                    "checked. Call get_video_task again later.")
    if status is TaskStatus.SUCCEEDED and row.download and row.download_state is None:
        changes["download_state"] = "pending"
    return changes


def documented_expiry(row: TaskRow, snap: TaskSnapshot, provider: Provider, now: float) -> float | None:
    """When the gateway says nothing, the link lifetime its docs give (e.g. Kling 30 d), counted from completion."""
    if snap.status is not TaskStatus.SUCCEEDED or snap.expires_at is not None or row.expires_at is not None:
        return None
    info = provider.model(row.model.partition("/")[2])
    return now + info.url_lifetime.total_seconds() if info is not None and info.url_lifetime else None


def _brief(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


class Poller:
    """Checks upstream tasks while holding their lease, records what it learns, and downloads finished videos."""

    def __init__(self, ledger: Ledger, owner: str, timing: Timing, *, client: Any, download: DownloadPlace,
                 downloader: Downloader, rng: random.Random) -> None:
        self.ledger, self.owner, self.t = ledger, owner, timing
        self.client, self.place, self.downloader, self.rng = client, download, downloader, rng
        self.check_timeout = 120.0  # an adapter that never answers must not freeze the task
        # The leases the last renewal found ours, and the monotonic time until which they surely still are: another
        # process may take a lease only once it expired, so until then a poll needs no ownership check.
        self.leases: frozenset[str] = frozenset()
        self.leases_sure_until = 0.0
        # Status checks in flight at once: the HTTP client's keep-alive pool (server.app.make_client), so polls that
        # fall due together reuse warm connections instead of opening and closing dozens, and the event loop gets a
        # turn between them.
        self._in_flight = anyio.CapacityLimiter(POLLS_IN_FLIGHT)
        self.history = History(ledger)  # how long similar jobs took: when to look
        self.wakes = Wakes()  # completion callbacks that arrived: look now

    def renewed(self, task_ids: frozenset[str], sure_until: float) -> None:
        self.leases, self.leases_sure_until = task_ids, sure_until

    async def run(self, row: TaskRow, provider: Provider, publish: Publish, deadline: Callable[[], float]) -> TaskRow:
        """Poll until the task settles, the deadline passes, or the lease is lost; return the last row seen."""
        if row.terminal:
            return await self.download(row, provider, publish) if row.download_state == "pending" else row
        clock = time.monotonic
        sure_until = clock() + self.t.lease_ttl / 2  # the lease was just acquired
        await self.history.refresh()  # at most every History.REFRESH s, shared by all pollers; never a tool call's
        spec = SPECS.get(provider.id)
        # Safety checks only while a callback can come: the gateway polled calls back (a failed-over job may have
        # gone to one that does not) and its callbacks have been reaching us.
        callback = (row.callback_digest is not None and spec is not None and bool(spec.callback_option)
                    and self.wakes.trusted(provider.id))
        sched = PollSchedule(self.t, started=clock() - max(0.0, self.ledger.now() - row.created_at), rng=self.rng,
                             expected=self.history.expected(row), callback=callback,
                             floor=spec.poll_interval if spec is not None else 0.0)
        woken = False
        # Just submitted (or seen by another process within one max interval): no need to ask at once. A resumed
        # task is asked at once.
        fresh = self.ledger.now() - row.updated_at < self.t.poll_max
        delay = sched.after_success(clock(), TaskStatus(row.state), row.progress) if fresh else 0.0
        failures = 0
        held: set[str] = set()  # columns changed in `row` (progress ticks) but not yet written to the ledger
        flush_by = clock() + self.t.tick_flush
        while True:
            left = deadline() - self.ledger.now()
            if left <= delay:
                woken = await self._pause(row, max(0.0, left), grid=False)
                if not woken:
                    if deadline() <= self.ledger.now():  # nobody extended it meanwhile
                        return await self._give_up(row, publish)
                    continue
            else:
                woken = await self._pause(row, delay)
            try:  # bounded by the HTTP client's timeouts (connect, read, pool): no cancel scope of its own per poll
                async with self._in_flight:
                    snap = await self._check(row, provider)
            except Exception as exc:  # transport, 5xx, 429, a confused adapter: never a failed task
                failures += 1
                delay = sched.after_failure(getattr(exc, "retry_after", None))
                if failures >= self.t.warn_after:
                    warning = f"The last {failures} status checks failed ({_brief(exc)}); still trying."
                    write = {k: getattr(row, k) for k in held} | {"warning": warning, "poll_failures": failures}
                    new = await self.ledger.update(row.task_id, owner=self.owner, durable=False, **write)
                    if new is None:
                        return row
                    row, held = new, set()
                    publish(row)
                continue
            failures = 0
            if snap is None:  # a lookup by idempotency key found nothing (yet)
                delay = sched.after_success(clock(), TaskStatus.UNKNOWN, None)
                continue
            changes = snapshot_changes(row, snap)
            if expires := documented_expiry(row, snap, provider, self.ledger.now()):
                changes["expires_at"] = expires
            delta = {k: v for k, v in changes.items() if getattr(row, k) != v}
            pending = held | delta.keys()  # what the ledger does not have yet
            ours = clock() < sure_until or (row.task_id in self.leases and clock() < self.leases_sure_until)
            if ours and pending <= _TICKS and (not pending or clock() < flush_by):
                # Nothing new, or a bare progress tick, while the lease is surely ours: no ledger work. A tick is
                # published here at once and reaches the ledger with the next change (or by flush_by).
                held = pending
                if delta:
                    row = replace(row, **delta, updated_at=self.ledger.now())
                    publish(row)
            else:
                write = {k: getattr(row, k) for k in held} | delta
                if write:
                    if replace(row, **write).settled:  # the lease goes in the same write: nothing more to do
                        write.update(lease_owner=None, lease_expires=None)
                    new = await self.ledger.update(row.task_id, owner=self.owner,
                                                   durable=not write.keys() <= _TICKS, **write)
                    flush_by = clock() + self.t.tick_flush
                else:  # nothing new and the lease not surely ours: make sure the task still is (a read, no write)
                    new = await self.ledger.get(row.task_id)
                    new = new if new is not None and new.lease_owner == self.owner else None
                if new is None:
                    return row  # another process took the task over
                held = set()
                if write:
                    row = new
                    publish(row)
            if row.terminal:
                if row.state == TaskStatus.SUCCEEDED.value:
                    self.history.record(row, self.ledger.now() - row.created_at)
                if callback and not woken:  # the safety check found the end: callbacks are not reaching us
                    self.wakes.missed(provider.id, row.task_id)
                self.wakes.forget(row.task_id)
                return await self.download(row, provider, publish) if row.download_state == "pending" else row
            delay = sched.after_success(clock(), snap.status, snap.progress)

    async def _pause(self, row: TaskRow, delay: float, *, grid: bool = True) -> bool:
        """Wait before the next check; True when the task's completion callback cut the wait short."""
        if row.callback_digest is not None:
            return await self.wakes.nap(row.task_id, delay, least=self.t.poll_min)
        await (self._sleep_on_grid(delay) if grid else anyio.sleep(delay))
        return False

    async def _sleep_on_grid(self, delay: float) -> None:
        """Sleep `delay` s, rounded up to a grid of poll_min/20 (100 ms by default) shared by every poller: polls
        falling due together then go out in one pass of the event loop, which costs about 15 % less CPU per request
        with 1,000 tasks in flight (benchmarks/) than waking once per request; on average it adds 50 ms."""
        if delay <= 0:
            return
        grid = self.t.poll_min / 20
        await anyio.sleep_until(math.ceil((anyio.current_time() + delay) / grid) * grid)

    async def _check(self, row: TaskRow, provider: Provider) -> TaskSnapshot | None:
        if row.upstream_task_id:
            return await provider.get(row.upstream_task_id)
        if provider.capabilities.find:  # the lookup by idempotency key first: exact, where the gateway kept the key
            found = await provider.find(upstream_key(row.idempotency_key, row.task_id, row.principal))
            if found is not None or not provider.task_listing:
                return found
        # the one listed job that matches, if exactly one does (the key was lost, or the gateway has no lookup)
        return await adopt.reconcile(self.ledger, provider, row) if provider.task_listing else None

    async def _give_up(self, row: TaskRow, publish: Publish) -> TaskRow:
        if not row.upstream_task_id:
            return row  # keep the submit's own explanation
        seen = row.state + (f" {row.progress}%" if row.progress is not None else "")
        message = (f"Stopped checking after {self.t.poll_deadline / 60:.0f} min without a final answer (last seen: "
                   f"{seen}). The job may still finish: call get_video_task to check again.")
        new = await self.ledger.update(row.task_id, owner=self.owner, progress=row.progress,
                                       state=TaskStatus.UNKNOWN.value, error_code="poll_timeout", error_message=message)
        if new is not None:
            publish(new)
        return new or row

    # -- downloads --------------------------------------------------------------------------------------------------
    async def download(self, row: TaskRow, provider: Provider, publish: Publish) -> TaskRow:
        """Save the finished video; a failure becomes a warning (the video_url still works), never a failed task."""
        try:
            row, path, problem = await self._fetch(row, provider, publish)
        except Exception as exc:  # a bug below must not leave the task "downloading" forever
            log.exception("download of %s failed", row.task_id)
            path, problem = None, _brief(exc)
        if path is not None:
            changes: dict[str, Any] = {"download_state": "done", "local_path": str(path)}
            changes.update(await self._examine(row, provider, path))
        else:
            changes = {"download_state": "failed", "warning": f"The video could not be saved locally ({problem}); "
                       "download it from video_url before the link expires."}
        new = await self.ledger.update(row.task_id, owner=self.owner, detail=f"download {changes['download_state']}",
                                       lease_owner=None, lease_expires=None, **changes)  # settled: lease released
        if new is not None:
            publish(new)
        return new or row

    async def _examine(self, row: TaskRow, provider: Provider, path: Path) -> dict[str, Any]:
        """The saved file's media facts (and its poster), and a warning when the file differs from the request."""
        from server.media import probe

        try:
            facts = await anyio.to_thread.run_sync(partial(probe.inspect, path, poster=self.place.posters))
        except probe.ProbeError as exc:
            return {"warning": f"The saved video could not be inspected ({exc}); it may be damaged."}
        except Exception:  # a bug of ours must not cost the download
            log.exception("inspecting %s failed", row.task_id)
            return {}
        changes: dict[str, Any] = {"media_json": json.dumps(facts.public())}
        asked = json.loads(row.request_json).get("request", {})
        if asked.get("duration") is None and (info := provider.model(row.model.partition("/")[2])) is not None:
            asked["duration"] = info.default_duration  # what the gateway was told to make
        if differs := probe.differences(asked, facts, resolution=not provider.sandbox):  # the sandbox renders 360p
            changes["warning"] = "The video differs from the request: " + "; ".join(differs) + "."
        return changes

    async def _fetch(self, row: TaskRow, provider: Provider, publish: Publish) -> tuple[TaskRow, Path | None, str]:
        from server.media.download import MediaError

        problem = "the gateway gave no video URL"
        proxy = (provider.content_request(row.upstream_task_id)
                 if provider.capabilities.content_proxy and row.upstream_task_id else None)
        if proxy is not None:  # the gateway's own content route: trusted host, authenticated, does not expire
            try:
                return row, await self._save(row, *proxy), ""
            except MediaError as exc:
                problem = str(exc)
        for refresh in range(3):
            if row.video_url:
                try:
                    return row, await self._save(row, row.video_url, None), ""
                except MediaError as exc:
                    problem = str(exc)
                    if not exc.expired:
                        break
            if refresh == 2 or not row.upstream_task_id:
                break
            try:  # an expired link: ask the gateway about the same task again (never regenerate)
                snap = await provider.get(row.upstream_task_id)
            except Exception as exc:
                return row, None, f"{problem}; asking for a fresh link failed: {_brief(exc)}"
            fresh: dict[str, Any] = {"video_url": snap.video_url or row.video_url}
            if snap.expires_at is not None:
                fresh["expires_at"] = snap.expires_at.timestamp()
            elif expires := documented_expiry(replace(row, expires_at=None), snap, provider, self.ledger.now()):
                fresh["expires_at"] = expires  # a fresh link lives its documented lifetime from now
            new = await self.ledger.update(row.task_id, owner=self.owner, **fresh)
            if new is None:
                break
            row = new
            publish(row)
        return row, None, problem

    async def _save(self, row: TaskRow, url: str, headers: dict[str, str] | None) -> Path:
        p = self.place
        return await self.downloader(self.client, url, dest_dir=p.dest_dir, stem=row.task_id, headers=headers,
                                     max_bytes=p.max_bytes, allow_private=p.allow_private,
                                     trusted_hosts=p.trusted_hosts)


@dataclass(frozen=True)
class DownloadPlace:
    """Where and how finished videos are saved (from settings)."""

    dest_dir: Path
    max_bytes: int
    allow_private: bool
    trusted_hosts: frozenset[str]
    posters: bool = True  # VIDEOGEN_PREVIEW: make a poster frame beside each saved video

    @classmethod
    def from_settings(cls, settings: Any, providers: Mapping[str, Provider],
                      trusted_hosts: frozenset[str] | None = None) -> DownloadPlace:
        """Trusted download hosts default to those the providers declare (each gateway's own host among them)."""
        if trusted_hosts is None:
            trusted_hosts = frozenset(host for p in providers.values() for host in p.capabilities.trusted_hosts)
        return cls(Path(settings.videos_dir), int(settings.max_download_mb * 1024 * 1024),
                   bool(settings.allow_private_urls), trusted_hosts, bool(getattr(settings, "preview", True)))


async def download_video(*args: Any, **kwargs: Any) -> Path:
    """The default Downloader: server.media.download's, imported on the first download (off the start-up path)."""
    from server.media.download import download_video as download

    return await download(*args, **kwargs)
