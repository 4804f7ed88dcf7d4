"""The task engine: write-before-submit, bounded submit, one poller per upstream task, waits, downloads.

The ledger is the truth; in-process events wake waiters; a lease per task keeps one poller across processes.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from providers.base import Provider, TaskSnapshot, TaskStatus, VideoRequest
from providers.registry import SPECS
from server.engine import adopt, callbacks, failover, inputs, routing, submit
from server.engine.health import Health
from server.engine.routing import Route
from server.ledger.store import (
    SUBMITTING, Ledger, LedgerConflict, LedgerError, TaskRow, lease_is_live, new_task_id,
)
from server.ledger.backend import open_ledger
from server.ledger.owners import process_owner
from server.engine.copies import Copies
from server.engine.polling import DownloadPlace, Poller, download_video, snapshot_changes, upstream_key
from server.engine.schedule import Timing
from server.engine.budget import Budget
from server.tasks import DEFAULT_PRINCIPAL, Task, TaskNotFound

log = logging.getLogger(__name__)
OnChange = Callable[[Task], Awaitable[None]]


@dataclass(frozen=True)
class Started:
    task: Task
    reused: bool  # True: an existing task was returned (same idempotency_key, or identical request in the window)
    reason: str = ""  # for the agent, when reused: why, and how to force a new job


class _Watch:
    """This process's view of one task: the latest row, an event fired on each change, and who is working on it."""

    __slots__ = ("asked", "changed", "driving", "row", "submitting", "task_id", "waiters")

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.row: TaskRow | None = None
        self.changed = anyio.Event()
        self.driving = False  # a driver (poller or follower) runs for it in this process
        self.submitting = False  # its submit is in flight in this process
        self.waiters = 0
        self.asked = 0.0  # wall time of the last question about it: polling goes on until asked + poll_deadline

    def poke(self) -> None:
        """Wake everything waiting on this task."""
        event, self.changed = self.changed, anyio.Event()
        event.set()

    def publish(self, row: TaskRow | None) -> None:
        old = self.row
        if row is None or (old is not None and row.updated_at < old.updated_at):
            return  # never replace news with an older read
        self.row = row
        if old is None or (old.updated_at, old.state) != (row.updated_at, row.state):
            self.poke()


def _callback_option(gateway: str) -> str | None:
    """The submit option a gateway calls back to (apimodels.app's `callback_url`), None when it has none."""
    spec = SPECS.get(gateway)
    return spec.callback_option if spec is not None else None


class Engine:
    """Owns the ledger, the pollers and the background submits. Use as `async with Engine(...) as engine`.

    All long-running work (submits, polls, downloads) runs in the engine's own task group, never in a tool call's
    scope, so a cancelled or timed-out call never cancels or forgets a paid job.
    """

    def __init__(self, settings: Any, providers: Mapping[str, Provider], client: Any, *, ledger: Ledger | None = None,
                 timing: Timing | None = None, owner: str | None = None,
                 downloader: Callable[..., Awaitable[Path]] | None = None, trusted_hosts: frozenset[str] | None = None,
                 rng: random.Random | None = None, recover_on_start: bool = True,
                 callback_base: str | None = None) -> None:
        self.settings = settings
        self.callback_base = callback_base  # where gateways that call back reach this server (serve --http only)
        self.providers = providers
        self.ledger = ledger or open_ledger(settings)
        self.timing = timing or Timing.from_settings(settings)
        self.owner = owner or process_owner()
        self.rng = rng or random.Random()
        self.health = Health()  # which gateways failed before sending lately (routes put them last)
        self._recover_on_start = recover_on_start
        self._client = client  # the shared HTTP client (input images a model reads only inline are fetched with it)
        self._ledger_failed = False  # the ledger could not be opened at start (its callers hear why)
        self._watches: dict[str, _Watch] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        place = DownloadPlace.from_settings(settings, providers, trusted_hosts)
        self._poller = Poller(self.ledger, self.owner, self.timing, client=client, download=place,
                              downloader=downloader or download_video, rng=self.rng)
        self._copies = Copies(self._poller)
        self.history = self._poller.history  # how long jobs took here (`enabled = False`: the default schedule)

    # -- lifecycle --------------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        # The ledger is opened first. A damaged file is then said once, by whoever needs the ledger next (the CLI's
        # one line, a tool's isError): no recovery starts on it, and closing does not repeat it in the log.
        try:
            await self.ledger.list(1)
        except LedgerError:
            self._ledger_failed = True
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._keep_leases)
        if self._recover_on_start and not self._ledger_failed:
            self._spawn(self.recover)
        if self.ledger.shared:
            self._tg.start_soon(self._sweep)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        tg, self._tg = self._tg, None
        if tg is None:
            return
        with anyio.move_on_after(self.timing.shutdown_grace, shield=True):  # let in-flight submits land first
            while any(w.submitting for w in self._watches.values()):
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)
        with anyio.CancelScope(shield=True):
            try:
                await self.ledger.release(self.owner)  # let another process take over at once
            except LedgerError as exc:  # a damaged file: its one-line message says what to do, no traceback
                if not self._ledger_failed:
                    log.error("could not release task leases: %s", exc)
            except Exception:
                log.exception("could not release task leases")
        self.ledger.close()

    def _spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> bool:
        if self._tg is None:
            return False
        self._tg.start_soon(self._guarded, fn, *args)
        return True

    @staticmethod
    async def _guarded(fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        try:
            await fn(*args)
        except LedgerError as exc:  # a damaged ledger file: one line naming it and what to do
            log.error("background task %s failed: %s", getattr(fn, "__name__", fn), exc)
        except Exception:  # one task's bug must not take down the others in the group
            log.exception("background task %s failed", getattr(fn, "__name__", fn))

    async def _keep_leases(self) -> None:
        while True:
            await anyio.sleep(self.timing.lease_ttl / 3)
            if any(w.driving or w.submitting for w in self._watches.values()):
                try:
                    renewed = time.monotonic()
                    held = await self.ledger.renew(self.owner, self.timing.lease_ttl)
                    self._poller.renewed(held, renewed + self.timing.lease_ttl / 2)
                except Exception:
                    log.exception("could not renew task leases")

    async def _sweep(self) -> None:
        """On a ledger shared with other machines: every lease_ttl/3, take up what a dead replica left (its leases
        lapsed, or its process is gone from this host), so its tasks finish without anyone asking again."""
        while True:
            await anyio.sleep(self.timing.lease_ttl / 3)
            try:
                await self.recover(since=self.ledger.now() - self.timing.poll_deadline)
            except Exception:
                log.exception("could not look for abandoned tasks")

    # -- the public API ---------------------------------------------------------------------------------------------
    async def start(self, target: Route | Provider, request: VideoRequest, *, idempotency_key: str | None = None,
                    download: bool = True, cost: tuple[float | None, str] | None = None,
                    budget: Budget | None = None, principal: str = DEFAULT_PRINCIPAL) -> Started:
        """Record the task (state `submitting`) durably, then submit in the background; return at once.

        `target`: the route chosen at the tool boundary (routing.choose, which validated the request against it), or
        a provider to pin (the request names its model). Dedupe, within `principal`'s own tasks: same
        idempotency_key -> that task; no key and an identical request (same gateway, or same canonical model, and
        parameters) within the window -> that task.
        `cost`: (estimated USD or None, basis) on the first gateway, recorded with the task; with `budget` it is
        reserved in the same transaction (against `principal`'s own spend), or BudgetExceeded is raised and nothing
        is recorded or sent.
        """
        if self._tg is None:
            raise RuntimeError("the engine is not running; use `async with Engine(...)`")
        route = target if isinstance(target, Route) else routing.pinned(target, request)
        first = route.candidates[0]
        fingerprint, request_json = submit.describe_request(route.key, request)
        record = route.record(first)
        now, task_id, digest, callback = self.ledger.now(), new_task_id(), None, None
        if self.callback_base and any(_callback_option(c.gateway) for c in route.candidates):
            callback, digest = callbacks.mint(self.callback_base, task_id)  # the ledger keeps only the digest
        row = TaskRow(
            task_id=task_id, provider=first.gateway, model=first.model_id,
            fingerprint=fingerprint, request_json=request_json, idempotency_key=idempotency_key, state=SUBMITTING,
            progress=None, video_url=None, local_path=None, expires_at=None, error_code=None, error_message=None,
            upstream_task_id=None, download=download, download_state=None, sandbox=bool(first.provider.sandbox),
            lease_owner=self.owner, lease_expires=now + self.timing.lease_ttl, warning=None, poll_failures=0,
            created_at=now, updated_at=now, cost_usd=cost[0] if cost else None, cost_basis=cost[1] if cost else None,
            route_json=None if record is None else json.dumps(record), callback_digest=digest, principal=principal)
        limit = (budget.limit_usd, budget.since(now)) if budget is not None else None
        watch = self._watch(row.task_id)
        watch.submitting = True  # set before the row exists anywhere, so nothing mistakes it for an orphan
        # Shielded: once recorded, the job must reach the background submit whatever happens to the caller.
        with anyio.CancelScope(shield=True):
            try:
                stored, reused = await self.ledger.create(row, dedupe_window=float(self.settings.dedupe_window),
                                                          budget=limit)
            except BaseException:
                watch.submitting = False
                self._forget(watch)
                raise
            if not reused:
                watch.publish(stored)
                if not self._spawn(self._submit, watch, route, request,
                                   upstream_key(idempotency_key, row.task_id, principal), callback):
                    await self._record(watch, submit.interrupted_changes(stored))
        if reused:
            watch.submitting = False
            self._forget(watch)
            watch = self._ensure(stored, asked=True)
            reason = submit.reuse_reason(stored, fingerprint, idempotency_key, self.ledger.now())
            return Started(self._view(watch.row or stored), True, reason)
        return Started(self._view(stored), False)

    async def get(self, task_id: str, *, principal: str | None = None) -> Task | None:
        """The task as the ledger knows it (no upstream call); resumes its poller if it is still going. With
        `principal`, another principal's task is as absent as a task that never was (so are the other methods')."""
        row = await self.ledger.get(task_id)
        if row is None or not _visible(row, principal):
            return None
        return self._view(self._ensure(row, asked=True).row or row)

    async def wait(self, task_id: str, timeout: float, on_change: OnChange | None = None, *,
                   principal: str | None = None) -> Task:
        """Wait up to `timeout` s for the task to end (and its download to finish).

        Makes sure exactly one poller runs for the task (across processes: the lease). Calls `on_change` with the
        current state, then on every status/progress change, in order. Cancelling the caller stops only the
        waiting. timeout=0 returns the current state (and resumes the poller of a task still going).
        """
        watch = self._watches.get(task_id)
        row = watch.row if watch is not None else None
        if row is None:
            row = await self.ledger.get(task_id)
        if row is None or not _visible(row, principal):
            raise TaskNotFound(f"No task {task_id!r} in the ledger.")
        watch = self._ensure(row, asked=True)
        if timeout <= 0:
            return self._view(watch.row or row)
        watch.waiters += 1
        try:
            delivered: tuple[Any, ...] | None = None
            with anyio.move_on_after(timeout):
                while True:
                    changed, current = watch.changed, watch.row or row
                    if on_change is not None:
                        view = self._view(current)
                        key = (view.status, view.progress, view.error, view.warning, view.video_url, view.local_path)
                        if key != delivered:
                            delivered = key
                            await self._notify(on_change, view)
                    if self._done(current):
                        break
                    if not watch.driving:  # e.g. it outlived the poll deadline: asking again resumes it
                        self._ensure(current, asked=True)
                    await changed.wait()
        finally:
            watch.waiters -= 1
            self._forget(watch)
        return self._view(watch.row or row)

    async def called_back(self, task_id: str, token: str) -> bool:
        """A gateway's completion callback: with the task's token, its poller reads the task from the gateway now."""
        row = await self.ledger.get(task_id)
        if row is None or not callbacks.matches(row.callback_digest, token):
            return False
        self._poller.wakes.wake(task_id, row.provider)
        self._ensure(row, asked=False)
        return True

    async def adopt(self, provider: Provider, upstream_id: str, *, task_id: str | None = None,
                    download: bool = True, principal: str | None = None) -> Task:
        """Follow the gateway's own job `upstream_id` from now on, like any task (see adopt.follow)."""
        row = await adopt.follow(self.ledger, provider, upstream_id, task_id=task_id, download=download,
                                 timeout=self._poller.check_timeout, changes_for=snapshot_changes,
                                 principal=principal)
        return self._view(self._ensure(row, asked=True).row or row)

    async def list(self, limit: int = 50, *, principal: str | None = None) -> list[Task]:
        """Most recent tasks first (only `principal`'s when given; all of them for the operator's CLI)."""
        return [self._view(row) for row in await self.ledger.list(limit, principal=principal)]

    async def recover(self, *, resume: bool = True, since: float | None = None) -> dict[str, int]:
        """After a restart: settle orphaned submits honestly, and (optionally) resume polling unfinished tasks that
        no other live process holds. `since`: only tasks created since then (the periodic sweep)."""
        counts = {"orphans": 0, "resumed": 0}
        for row in await self.ledger.unsettled(since=since):
            now = self.ledger.now()
            if row.lease_owner != self.owner and lease_is_live(row, now):
                continue  # another live process works on it and keeps the ledger current
            if row.state == SUBMITTING:
                watch = self._watch(row.task_id)
                if watch.driving or watch.submitting or lease_is_live(row, now):  # (ours: in flight here)
                    self._forget(watch)
                    continue  # being submitted or settled right now, here or by a live process
                watch.driving = True  # keeps this process's driver off the row meanwhile
                try:
                    leased = await self.ledger.acquire(row.task_id, self.owner, self.timing.lease_ttl)
                    if leased is not None and leased.state == SUBMITTING:
                        await self._settle_orphan(watch, leased)
                        counts["orphans"] += 1
                finally:
                    with anyio.CancelScope(shield=True):
                        await self.ledger.release(self.owner, row.task_id)
                    watch.driving = False
                    if resume and watch.row is not None:  # a job found again goes on being polled (waiters may
                        self._ensure(watch.row, asked=False)  # have come meanwhile and found us driving)
                    else:
                        self._forget(watch)
            elif resume and now - row.created_at < self.timing.poll_deadline and not self._done(row):
                self._ensure(row, asked=False)
                counts["resumed"] += 1
        return counts

    # -- submitting -------------------------------------------------------------------------------------------------
    async def _submit(self, watch: _Watch, route: Route, request: VideoRequest, key: str,
                      callback: str | None = None) -> None:
        candidate = route.candidates[0]
        try:
            async def send(to: routing.Candidate, budget: float | None) -> submit.Outcome:
                return await self._send(to, request, key, budget, callback)

            async def trying(to: routing.Candidate, tried: tuple[failover.Attempt, ...]) -> None:
                await self._record(watch, failover.changes(route, to, tried),
                                   detail=f"trying {to.gateway} (the gateways before it created nothing)")

            candidate, outcome, tried = await failover.submit_along(route, send, trying, self.health)
            provider, changes = candidate.provider, failover.changes(route, candidate, tried)
            if outcome.kind == "accepted":
                await self._accept(watch, outcome.snapshot, "submitted", changes)
            elif outcome.kind != "ambiguous":
                failed = submit.failure_changes(outcome, self.timing.submit_budget)
                failed["error_message"] = failover.failed_everywhere(route, tried, failed["error_message"])
                await self._record(watch, {**changes, **failed})
            elif found := await submit.find(provider, key, self._poller.check_timeout):
                await self._accept(watch, found, "reconciled by idempotency key", changes)
            else:
                await self._record(watch, {**changes, **submit.ambiguous_changes(provider, outcome.error,
                                                                                 watch.task_id)})
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):  # shutting down mid-submit: say so, never leave it "submitting"
                await self._record(watch, submit.interrupted_changes(watch.row))
            raise
        except Exception as exc:
            log.exception("submit bookkeeping failed for %s", watch.task_id)
            current = self.providers.get(watch.row.provider) if watch.row is not None else None
            with anyio.CancelScope(shield=True):
                await self._record(watch, submit.ambiguous_changes(current or candidate.provider, exc, watch.task_id))
        finally:
            watch.submitting = False
            watch.poke()
            if watch.row is not None:
                self._ensure(watch.row, asked=False)
            self._forget(watch)

    async def _send(self, candidate: routing.Candidate, request: VideoRequest, key: str,
                    budget: float | None, callback: str | None = None) -> submit.Outcome:
        """Submit to one gateway of the route, images its model reads only inline fetched first (a refused one:
        nothing sent); a gateway that calls back gets the task's callback URL (its token only in this process)."""
        from server.media.download import MediaError

        request = candidate.request(request)
        if callback and (option := _callback_option(candidate.gateway)):
            request = request.model_copy(update={"options": {**request.options, option: callback}})
        try:
            request = await inputs.inline_images(request, candidate.info, client=self._client,
                                                 allow_private=bool(self.settings.allow_private_urls))
        except MediaError as exc:
            return submit.Outcome("rejected", error=exc, attempts=0)
        timeout = float(self.settings.http_timeout) + 30
        return await submit.send(candidate.provider, request, key, self.timing, rng=self.rng, attempt_timeout=timeout,
                                 budget=budget, info=candidate.info)

    async def _accept(self, watch: _Watch, snap: TaskSnapshot | None, detail: str,
                      extra: dict[str, Any] | None = None) -> None:
        assert watch.row is not None and snap is not None
        changes = {**(extra or {}), **snapshot_changes(watch.row, snap)}
        changes.update(lease_owner=self.owner, lease_expires=self.ledger.now() + self.timing.lease_ttl)
        if snap.status is TaskStatus.UNKNOWN:  # accepted, just not described yet
            changes.update(state=TaskStatus.QUEUED.value, error_code=None, error_message=None)
        try:
            await self._record(watch, changes, detail=detail)
        except LedgerConflict:  # the gateway named a job another of our tasks already tracks
            await self._record(watch, {
                "state": "unknown", "error_code": "duplicate_upstream",
                "error_message": f"The gateway answered with job {snap.upstream_id}, which another task of this server "
                                 "already follows; this task adds nothing. Use the other task (see `tasks`)."})

    async def _record(self, watch: _Watch, changes: dict[str, Any], *, detail: str | None = None) -> None:
        # Unconditional: the submit's outcome is the best knowledge there is, whoever holds the lease now.
        watch.publish(await self.ledger.update(watch.task_id, detail=detail, **changes))

    async def _settle_orphan(self, watch: _Watch, row: TaskRow) -> None:
        """A `submitting` row whose submitter is gone: adopt the job if the gateway can find it, else say unknown."""
        watch.publish(row)
        provider = self.providers.get(row.provider)
        key = upstream_key(row.idempotency_key, row.task_id, row.principal)
        found = await submit.find(provider, key, self._poller.check_timeout)
        if found is not None:
            await self._accept(watch, found, "reconciled by idempotency key after a restart")
        else:
            await self._record(watch, submit.interrupted_changes(row))

    # -- drivers: one per task per process --------------------------------------------------------------------------
    def _watch(self, task_id: str) -> _Watch:
        watch = self._watches.get(task_id)
        if watch is None:
            watch = self._watches[task_id] = _Watch(task_id)
        return watch

    def _forget(self, watch: _Watch) -> None:
        if not (watch.driving or watch.submitting or watch.waiters) and self._watches.get(watch.task_id) is watch:
            del self._watches[watch.task_id]

    def _ensure(self, row: TaskRow, *, asked: bool) -> _Watch:
        """The task's watch, with a driver started if something may still happen to it."""
        watch = self._watch(row.task_id)
        watch.publish(row)
        if asked:
            watch.asked = self.ledger.now()
        current = watch.row or row
        if not (watch.driving or watch.submitting or self._done(current)) and self._tg is not None:
            watch.driving = True
            self._spawn(self._drive, watch)
        else:
            self._forget(watch)
        return watch

    def _done(self, row: TaskRow) -> bool:
        """Nothing more can happen to it from this process (waiters may return)."""
        if row.settled:
            return True
        provider = self.providers.get(row.provider)
        if provider is None:
            return True  # its gateway is not configured here
        if row.state == SUBMITTING or row.upstream_task_id:
            return False
        return not (submit.can_find(provider) or provider.task_listing)  # unknown, no job id, no way to find it

    def _deadline(self, watch: _Watch, row: TaskRow) -> float:
        return max(row.created_at, watch.asked) + self.timing.poll_deadline

    async def _drive(self, watch: _Watch) -> None:
        """Poll the task while holding its lease; else follow the process that holds it, and take over if it dies."""
        t = self.timing
        try:
            while self._tg is not None:
                if watch.submitting:
                    await watch.changed.wait()
                    continue
                row = await self.ledger.get(watch.task_id)
                watch.publish(row)
                if row is None or self._done(row) or self.ledger.now() >= self._deadline(watch, row):
                    return
                if lease_is_live(row, self.ledger.now()) and row.lease_owner != self.owner:
                    if watch.waiters == 0:
                        return  # nobody here to tell; the holder keeps the ledger current
                    await anyio.sleep(t.follow_interval)
                    continue
                leased = await self.ledger.acquire(watch.task_id, self.owner, t.lease_ttl)
                if leased is None:
                    continue
                last = None
                try:
                    if leased.state == SUBMITTING:  # its submitter died (we got the lease): settle it honestly
                        await self._settle_orphan(watch, leased)
                        continue
                    last = await self._poller.run(leased, self.providers[leased.provider], watch.publish,
                                                  partial(self._deadline, watch, leased))
                finally:
                    if last is None or last.lease_owner == self.owner:  # (settling writes release it themselves)
                        with anyio.CancelScope(shield=True):
                            await self.ledger.release(self.owner, watch.task_id)
                if last.settled:
                    return
                await anyio.sleep(min(t.follow_interval, t.poll_min))  # lease lost or deadline: look again shortly
        finally:
            watch.driving = False
            self._forget(watch)

    async def saved_copy(self, task_id: str, *, principal: str | None = None) -> Path | None:
        """This machine's copy of the task's video (None for another principal's task, as for none). On a ledger
        shared by replicas, one that lacks it (another machine saved it) fetches the same job's video again into its
        own videos folder."""
        row = await self.ledger.get(task_id)
        if row is None or not _visible(row, principal):
            return None
        return await self._copies.get(row, self.providers.get(row.provider), fetch=self.ledger.shared)

    # -- views ------------------------------------------------------------------------------------------------------
    def _view(self, row: TaskRow) -> Task:
        task = row.to_task()
        if row.provider not in self.providers and not row.settled:
            task = task.model_copy(update={"warning": f"The {row.provider} gateway is not configured in this server, "
                                           "so this task cannot be checked; set its API key and restart."})
        return self._copies.seen_here(task, row) if self.ledger.shared else task

    @staticmethod
    async def _notify(on_change: OnChange, task: Task) -> None:
        try:
            await on_change(task)
        except Exception:  # a broken progress channel must not end the wait
            log.warning("on_change callback failed for %s", task.task_id, exc_info=True)


def _visible(row: TaskRow, principal: str | None) -> bool:
    return principal is None or row.principal == principal
