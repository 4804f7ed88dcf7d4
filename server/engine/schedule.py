"""When to check a task next: the adaptive poll schedule, jittered retry backoff, and the engine's timing knobs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from providers.base import TaskStatus

RETRY_AFTER_CAP = 60.0  # seconds: a gateway's Retry-After or poll hint is honoured up to this


@dataclass(frozen=True)
class Timing:
    """Every delay the engine uses. Defaults suit real gateways; tests and benchmarks shrink them."""

    poll_min: float = 2.0
    poll_max: float = 15.0
    submit_budget: float = 60.0  # how long pre-send submit failures (connect errors, 429/503) are retried
    retry_base: float = 0.5  # first submit-retry delay; doubles per attempt
    retry_cap: float = 8.0  # largest backoff step without a Retry-After
    retry_after_cap: float = RETRY_AFTER_CAP
    poll_deadline: float = 1800.0  # stop polling this long after creation or the last question about the task
    lease_ttl: float = 30.0  # a lease not renewed for this long may be taken over by another process
    follow_interval: float = 1.0  # how often a process re-reads a task another process is polling
    warn_after: int = 3  # consecutive failed polls before the task carries a warning
    shutdown_grace: float = 3.0  # on close, how long an in-flight submit may finish before it is interrupted
    tick_flush: float = 15.0  # a bare progress tick reaches the ledger (other processes) within this many seconds

    @classmethod
    def from_settings(cls, settings: object, **overrides: float) -> Timing:
        poll_min = float(getattr(settings, "poll_min_interval", cls.poll_min))
        poll_max = max(poll_min, float(getattr(settings, "poll_max_interval", cls.poll_max)))
        wait = float(getattr(settings, "default_wait", 40.0))
        base: dict[str, Any] = dict(poll_min=poll_min, poll_max=poll_max, submit_budget=max(wait, 60.0),
                    follow_interval=min(1.0, max(0.05, poll_min)))
        return cls(**{**base, **overrides})


def backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None,
            retry_after_cap: float = RETRY_AFTER_CAP, rng: random.Random | None = None) -> float:
    """Jittered exponential delay (75-100 % of min(base*2^attempt, cap)), never shorter than a capped Retry-After."""
    draw = (rng or random).random()
    delay = min(base * 2**attempt, cap) * (1 - 0.25 * draw)
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_cap))
    return delay


class PollSchedule:
    """The delay before the next status check of one task.

    Without progress: short at first, doubling (jittered) to a plateau of 0.65 x the max interval, and to the
    max once the job has run long. With progress: estimate the rate and ask just after the predicted completion
    (bounded by the max interval, or twice it once two readings agree on the end), which is what beats
    fixed-interval pollers on both request count and detection lag.
    """

    GROWTH = 2.0
    PLATEAU = 0.65  # of the max interval, while the job is young (~10 s at defaults: <= 15 checks for 2 min)
    STEADY_STRIDE = 2.0  # x the max interval, when consecutive progress readings agree on the end time

    def __init__(self, timing: Timing, *, started: float, rng: random.Random | None = None) -> None:
        self.t = timing
        self.started = started  # monotonic time the job was submitted (estimated for resumed tasks)
        self.rng = rng or random.Random()
        self.steps = 0  # checks without usable progress
        self.misses = 0  # predictions that came too early, or progress that did not move
        self.failures = 0
        self.anchor: tuple[float, int] | None = None  # (time, progress) the rate is measured from
        self.last: tuple[float, int] | None = None
        self.eta: float | None = None  # predicted end time from the last check

    def after_success(self, now: float, status: TaskStatus, progress: int | None,
                      poll_after: float | None = None) -> float:
        self.failures = 0
        delay = self._predict(now, progress)
        if delay is None:
            delay = self._grow(now)
        if poll_after:
            delay = max(delay, min(poll_after, self.t.retry_after_cap))
        return delay

    def after_failure(self, retry_after: float | None = None) -> float:
        """A failed check (timeout, 5xx, 429): back off from the min interval, honouring a capped Retry-After."""
        self.failures += 1
        return backoff(self.failures - 1, base=self.t.poll_min, cap=self.t.poll_max, retry_after=retry_after,
                       retry_after_cap=self.t.retry_after_cap, rng=self.rng)

    def _grow(self, now: float) -> float:
        plateau = self.t.poll_max * (1 if now - self.started > 16 * self.t.poll_max else self.PLATEAU)
        delay = min(self.t.poll_min * self.GROWTH**self.steps, plateau) * self.rng.uniform(0.9, 1.1)
        self.steps += 1
        return self._clamp(delay)

    def _predict(self, now: float, progress: int | None) -> float | None:
        if progress is None:
            return None
        if progress == 0:  # not started yet: the rate is measured from the last time it was still at zero
            self.anchor = self.last = (now, 0)
            self.eta = None
            return None
        if self.anchor is None:  # first sight is already under way (a resumed task): assume it started at submit
            self.anchor = (self.started, 0)
        elif self.anchor[1] == 0 and self.last is not None and self.last[1] > 0:
            # Two readings under way measure the rate better than one reading against a start time that is only
            # known to lie somewhere after the last zero (queueing would make the job look slower than it is).
            self.anchor = self.last
        # A stalled percentage (parked at 99 %, say) or an early guess must not turn into hammering the gateway.
        self.misses = self.misses + 1 if self.last is not None and progress <= self.last[1] else 0
        self.last = (now, progress)
        a_time, a_progress = self.anchor
        if progress >= 100:  # done computing, not yet reported done: it is a matter of moments
            return self._clamp(self.t.poll_min * self.GROWTH**self.misses)
        if progress <= a_progress or now <= a_time:
            return None
        remaining = (100 - progress) * (now - a_time) / (progress - a_progress)
        eta, previous = now + remaining, self.eta
        self.eta = eta
        # Two checks that agree on the end time earn a longer stride: fewer requests, same lag.
        steady = previous is not None and abs(eta - previous) <= max(0.05 * remaining, self.t.poll_min)
        delay = remaining * 1.02 + 0.1 * self.t.poll_min  # land just after the predicted end
        delay = max(delay, self.t.poll_min * self.GROWTH**self.misses)
        return min(max(delay, self.t.poll_min), self.t.poll_max * (self.STEADY_STRIDE if steady else 1))

    def _clamp(self, delay: float) -> float:
        return min(max(delay, self.t.poll_min), self.t.poll_max)
