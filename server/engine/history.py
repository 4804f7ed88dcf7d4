"""How long jobs took here, per model (and duration and resolution): the `Expected` durations the poll schedule
centres its checks on. Read from the ledger with one query, so every process sharing it learns from every job;
cached in memory, refreshed at most every REFRESH seconds by the first poller that needs it, never by a tool call.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from typing import Any

import anyio

from server.engine.schedule import Expected
from server.ledger.store import Ledger, TaskRow

log = logging.getLogger(__name__)

Key = tuple[str, int | None, str | None]  # (model id, requested seconds, resolution)


def key_of(model: str, request_json: str) -> Key | None:
    """The job's kind: its model id plus the request's duration and resolution (what makes a job take longer);
    None for a job adopted from the gateway (no request of ours: its start is not known here)."""
    try:
        request = json.loads(request_json).get("request")
    except (ValueError, AttributeError):
        request = None
    if not isinstance(request, dict):
        return None
    duration, resolution = request.get("duration"), request.get("resolution")
    return (model, duration if isinstance(duration, int) else None,
            resolution.lower() if isinstance(resolution, str) else None)


def fit(seconds: list[float]) -> Expected | None:
    """A log-normal fit that a few odd jobs cannot drag: median and MAD of ln(seconds), widened for small samples."""
    logs = [math.log(s) for s in seconds if s > 0]
    if len(logs) < History.MIN_SAMPLES:
        return None
    centre = statistics.median(logs)
    mad = statistics.median(abs(x - centre) for x in logs) * 1.4826  # the standard deviation, for normal data
    sigma = min(max(mad, History.MIN_SIGMA), History.MAX_SIGMA) * (1 + 1 / math.sqrt(len(logs)))
    return Expected(median=math.exp(centre), sigma=sigma, samples=len(logs))


class History:
    """Durations of recent successful jobs by kind, shared through the ledger."""

    REFRESH = 300.0  # s: how stale this process's copy of other processes' jobs may get
    SINCE = 30 * 86400.0  # s: jobs older than this no longer say how fast the gateway is
    PER_KIND = 50  # the most recent jobs of a kind kept
    MIN_SAMPLES = 3
    MIN_SIGMA, MAX_SIGMA = 0.08, 1.0

    def __init__(self, ledger: Ledger, *, clock: Any = time.monotonic) -> None:
        self.ledger = ledger
        self.enabled = True  # False: every job polls on the default schedule (the benchmark's first-job figures)
        self.clock = clock
        self._seconds: dict[Key, list[float]] = {}  # newest first
        self._fetched: float | None = None
        self._loading: anyio.Event | None = None

    def expected(self, row: TaskRow) -> Expected | None:
        """The expected duration of the job in `row` (from the cache): its own kind, else any job of its model."""
        if not self.enabled:
            return None
        kind = key_of(row.model, row.request_json)
        found = fit(self._seconds.get(kind, [])) if kind is not None else None
        if found is not None:
            return found
        return fit([s for k, v in self._seconds.items() if k[0] == row.model for s in v])

    def record(self, row: TaskRow, seconds: float) -> None:
        """A success this process saw: counted at once (the ledger has it for the others)."""
        kind = key_of(row.model, row.request_json)
        if kind is None:
            return
        self._seconds[kind] = [seconds, *self._seconds.get(kind, [])][: self.PER_KIND]

    async def refresh(self) -> None:
        """Re-read the ledger when the copy is stale; concurrent callers share one read; a failure keeps the copy."""
        if not self.enabled or (self._fetched is not None and self.clock() - self._fetched < self.REFRESH):
            return
        if self._loading is not None:
            await self._loading.wait()
            return
        self._loading = anyio.Event()
        try:
            rows = await self.ledger.durations(self.ledger.now() - self.SINCE, limit=5000)
            seconds: dict[Key, list[float]] = {}
            for model, request_json, took in rows:  # newest first
                kind = key_of(model, request_json)
                if kind is not None and len(seconds.setdefault(kind, [])) < self.PER_KIND:
                    seconds[kind].append(took)
            self._seconds = seconds
        except Exception as exc:  # history only sharpens polling; without it the default schedule runs
            log.warning("could not read job durations from the ledger: %s", exc)
        finally:
            self._fetched = self.clock()
            self._loading.set()
            self._loading = None
