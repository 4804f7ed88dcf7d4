"""When to check a task next: the adaptive poll schedule, jittered retry backoff, and the engine's timing knobs."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist
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


@dataclass(frozen=True)
class Expected:
    """How long similar jobs took here (submit -> seen succeeded), as a log-normal: median and spread of ln(s)."""

    median: float
    sigma: float
    samples: int

    def quantile(self, q: float) -> float:
        return self.median * math.exp(self.sigma * NormalDist().inv_cdf(q))


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

    With progress: estimate the rate and ask just after the predicted completion (bounded by the max interval, or
    twice it once two readings agree on the end). Without it, and with a history of similar jobs (`expected`): few
    checks while the end is unlikely (strides of up to twice the max interval that land one check where the
    earliest 30 % of those jobs had ended), then one every DENSE x the max interval while it is likely, growing
    back to the max once the job outlives its history. With neither: short at first, doubling (jittered) to a
    plateau of 0.65 x the max interval, and to the max once the job has run long. With a callback coming
    (`callback`), only slow safety checks. `floor`: the least interval the gateway's docs ask for (the configured
    max interval wins over it); a Retry-After on a failed check is honoured up to retry_after_cap.
    """

    GROWTH = 2.0
    PLATEAU = 0.65  # of the max interval, while the job is young (~10 s at defaults: <= 15 checks for 2 min)
    STEADY_STRIDE = 2.0  # x the max interval, when consecutive progress readings agree on the end time
    FAR_STRIDE = 2.0  # x the max interval, while history says the end is not near
    OPEN, CLOSE = 0.3, 0.995  # the quantiles of the expected duration between which checks are dense
    DENSE = 0.25  # x the max interval between checks while the end is likely (3.75 s: ~2 s of lag)
    SAFETY = 4.0  # x the max interval between safety checks when the gateway will call back
    SAFETY_MARGIN = 1.25  # the first safety check: this x the slowest similar job (99th percentile)

    def __init__(self, timing: Timing, *, started: float, rng: random.Random | None = None,
                 expected: Expected | None = None, callback: bool = False, floor: float = 0.0) -> None:
        self.t = timing
        self.floor = min(floor, timing.poll_max)
        self.started = started  # monotonic time the job was submitted (estimated for resumed tasks)
        self.rng = rng or random.Random()
        self.expected = expected
        self.callback = callback
        self.steps = 0  # checks without usable progress
        self.late = 0  # checks after the expected window closed
        self.misses = 0  # predictions that came too early, or progress that did not move
        self.failures = 0
        self.anchor: tuple[float, float] | None = None  # (time, progress) the rate is measured from
        self.last: tuple[float, int] | None = None
        self.eta: float | None = None  # predicted end time from the last check

    def after_success(self, now: float, status: TaskStatus, progress: int | None) -> float:
        self.failures = 0
        if self.callback:
            return max(self._safety(now), self.floor)
        predicted = self._predict(now, progress)
        if predicted is not None:
            delay = predicted
        else:
            delay = self._expect(now) if self.expected is not None else self._grow(now)
        return max(delay, self.floor)

    def after_failure(self, retry_after: float | None = None) -> float:
        """A failed check (timeout, 5xx, 429): back off from the min interval, honouring a capped Retry-After."""
        self.failures += 1
        delay = backoff(self.failures - 1, base=self.t.poll_min, cap=self.t.poll_max, retry_after=retry_after,
                        retry_after_cap=self.t.retry_after_cap, rng=self.rng)
        return max(delay, self.floor)

    def _grow(self, now: float) -> float:
        plateau = self.t.poll_max * (1 if now - self.started > 16 * self.t.poll_max else self.PLATEAU)
        delay = min(self.t.poll_min * self.GROWTH**self.steps, plateau) * self.rng.uniform(0.9, 1.1)
        self.steps += 1
        return self._clamp(delay)

    def _dense(self) -> float:
        return self._clamp(self.DENSE * self.t.poll_max)

    def _expect(self, now: float) -> float:
        assert self.expected is not None
        elapsed, dense = now - self.started, self._dense()
        opens = self.expected.quantile(self.OPEN)
        if elapsed + dense < opens:  # far from the end: even strides, the last one landing where it may come
            left = opens - elapsed
            return max(self.t.poll_min, left / math.ceil(left / (self.FAR_STRIDE * self.t.poll_max)))
        if elapsed < self.expected.quantile(self.CLOSE):
            return dense
        self.late += 1  # slower than every similar job: back to growing towards the max interval
        return self._clamp(dense * self.GROWTH ** (self.late / 2))

    def _safety(self, now: float) -> float:
        stride = self.SAFETY * self.t.poll_max
        if self.expected is None:
            return stride
        first = self.SAFETY_MARGIN * self.expected.quantile(0.99) - (now - self.started)
        return max(stride, first)

    def _predict(self, now: float, progress: int | None) -> float | None:
        if progress is None:
            return None
        if progress == 0:  # not started yet: the rate is measured from the last time it was still at zero
            self.anchor, self.last = (now, 0.0), (now, 0)
            self.eta = None
            return None
        # A reading of p means p..p+1 % done (gateways truncate): its middle is the unbiased guess.
        if self.anchor is None:  # first sight is already under way (a resumed task): assume it started at submit
            self.anchor = (self.started, 0.0)
        elif self.anchor[1] == 0 and self.last is not None and self.last[1] > 0:
            # Two readings under way measure the rate better than one reading against a start time that is only
            # known to lie somewhere after the last zero (queueing would make the job look slower than it is).
            self.anchor = (self.last[0], self.last[1] + 0.5)
        # A stalled percentage (parked at 99 %, say) or an early guess must not turn into hammering the gateway.
        self.misses = self.misses + 1 if self.last is not None and progress <= self.last[1] else 0
        self.last = (now, progress)
        a_time, a_progress = self.anchor
        if progress >= 100:  # done computing, not yet reported done: it is a matter of moments
            return self._clamp(self.t.poll_min * self.GROWTH**self.misses)
        done = progress + 0.5
        if done <= a_progress or now <= a_time:
            return None
        remaining = (100 - done) * (now - a_time) / (done - a_progress)
        eta, previous = now + remaining, self.eta
        self.eta = eta
        # Two checks that agree on the end time earn a longer stride: fewer requests, same lag.
        steady = previous is not None and abs(eta - previous) <= max(0.05 * remaining, self.t.poll_min)
        delay = remaining * 1.01 + 0.1 * self.t.poll_min  # land just after the predicted end
        delay = max(delay, self.t.poll_min * self.GROWTH**self.misses)
        return min(max(delay, self.t.poll_min), self.t.poll_max * (self.STEADY_STRIDE if steady else 1))

    def _clamp(self, delay: float) -> float:
        return min(max(delay, self.t.poll_min), self.t.poll_max)
