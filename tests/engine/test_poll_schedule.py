"""The adaptive poll schedule and the retry backoff, as pure arithmetic on a simulated clock."""

from __future__ import annotations

import random
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st
from poll_sim import checks_until_end

from providers.base import TaskStatus
from server.engine.schedule import PollSchedule, Timing, backoff

DEFAULT = Timing(poll_min=2.0, poll_max=15.0)


def simulate(seconds: float, *, progress: bool, queued: float = 5.0, timing: Timing = DEFAULT,
             seed: int = 0, quantum: int = 1) -> tuple[int, float]:
    """(status checks until the end was seen, detection lag) for one job polled by the schedule."""
    sched = PollSchedule(timing, started=0.0, rng=random.Random(seed))

    def state(now: float) -> tuple[TaskStatus, int | None]:
        if now < queued:
            return TaskStatus.QUEUED, (0 if progress else None)
        pct = int(100 * (now - queued) / (seconds - queued)) // quantum * quantum
        return TaskStatus.RUNNING, (pct if progress else None)

    return checks_until_end(sched, seconds, state)


def figures(seconds: float, progress: bool, **kw) -> tuple[float, float]:
    runs = [simulate(seconds * random.Random(i).uniform(0.9, 1.1), progress=progress, seed=i, **kw)
            for i in range(200)]
    return statistics.median(c for c, _ in runs), statistics.median(lag for _, lag in runs)


def test_two_minute_job_with_progress_meets_the_benchmark_targets():
    checks, lag = figures(120, progress=True)
    assert checks <= 9 and lag <= 2.0  # targets: <= 10 upstream polls (the submit is one), lag <= 2 s
    fixed = 120 / 2  # a 2 s fixed-interval poller: 60 checks for about 1 s of lag
    assert checks < fixed / 6


def test_two_minute_job_without_progress_meets_the_benchmark_targets():
    checks, lag = figures(120, progress=False)
    assert checks <= 14 and lag <= 6.0  # targets: <= 15 polls, lag <= 6 s


def test_short_and_long_jobs_stay_reasonable():
    checks, lag = figures(30, progress=True)
    assert checks <= 6 and lag <= 2.0
    checks, lag = figures(600, progress=True)
    assert checks <= 32 and lag <= 5.0  # a fixed 20 s poller: 30 checks, 10 s lag
    checks, lag = figures(600, progress=False)
    assert checks <= 55 and lag <= 8.0


def test_coarse_progress_still_works():
    checks, lag = figures(120, progress=True, quantum=10)
    assert checks <= 14 and lag <= 6.0


def test_accelerated_timing_scales():
    fast = Timing(poll_min=0.02, poll_max=0.15)
    checks, lag = figures(1.2, progress=True, timing=fast, queued=0.05)
    assert checks <= 9 and lag <= 0.02


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=1, max_size=40),
       st.lists(st.floats(0.001, 50), min_size=1, max_size=40), st.integers(0, 2**32 - 1),
       st.floats(0.01, 5), st.floats(1, 20))
def test_delays_stay_within_bounds(progresses, gaps, seed, lo, span):
    timing = Timing(poll_min=lo, poll_max=lo * span)
    sched = PollSchedule(timing, started=0.0, rng=random.Random(seed))
    now = 0.0
    for i, pct in enumerate(progresses):
        now += gaps[i % len(gaps)]
        delay = sched.after_success(now, TaskStatus.RUNNING, pct)
        assert timing.poll_min <= delay <= timing.poll_max * PollSchedule.STEADY_STRIDE + 1e-9
        if i % 5 == 4:
            failed = sched.after_failure(None)
            assert 0.75 * timing.poll_min - 1e-9 <= failed <= timing.poll_max + 1e-9


def test_a_percentage_parked_at_99_does_not_hammer_the_gateway():
    sched = PollSchedule(DEFAULT, started=0.0, rng=random.Random(1))
    now, checks = 0.0, 0
    delay = sched.after_success(0.0, TaskStatus.RUNNING, 0)
    for pct in (50, 99):
        now += delay
        delay = sched.after_success(now, TaskStatus.RUNNING, pct)
    while now < 160:  # parked at 99 % for ~155 s (a fixed 2 s poller: ~78 checks)
        now += delay
        checks += 1
        delay = sched.after_success(now, TaskStatus.RUNNING, 99)
    assert checks <= 16 and delay == DEFAULT.poll_max


def test_poll_hints_are_honoured_and_capped():
    timing = Timing(poll_min=0.1, poll_max=1.0, retry_after_cap=5.0)
    sched = PollSchedule(timing, started=0.0, floor=0.5)  # the gateway's docs: "poll every 0.5 s or slower"
    assert sched.after_success(0.1, TaskStatus.QUEUED, None) == 0.5
    assert sched.after_failure(4.0) == 4.0  # a Retry-After on a failed check
    assert sched.after_failure(3600) == 5.0  # ... up to retry_after_cap
    # The configured max interval wins over what a gateway's docs ask for.
    assert PollSchedule(timing, started=0.0, floor=30.0).after_success(0.1, TaskStatus.QUEUED, None) == 1.0


def test_backoff_is_jittered_exponential_and_respects_retry_after():
    rng = random.Random(3)
    for attempt in range(8):
        cap = min(0.5 * 2**attempt, 8.0)
        delay = backoff(attempt, base=0.5, cap=8.0, rng=rng)
        assert 0.75 * cap <= delay <= cap
    assert backoff(0, base=0.5, cap=8, retry_after=30, retry_after_cap=60) == 30
    assert backoff(0, base=0.5, cap=8, retry_after=3000, retry_after_cap=60) == 60


def test_timing_comes_from_settings():
    class S:
        poll_min_interval, poll_max_interval, default_wait = 0.05, 0.01, 40.0

    t = Timing.from_settings(S(), lease_ttl=5.0)
    assert t.poll_min == 0.05 and t.poll_max == 0.05 and t.submit_budget == 60.0 and t.lease_ttl == 5.0
    assert t.follow_interval == 0.05
