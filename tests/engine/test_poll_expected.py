"""The poll schedule when history says how long similar jobs take (and when the gateway will call back), as pure
arithmetic on a simulated clock, against fixed-interval pollers on the same log-normal job lengths."""

from __future__ import annotations

import math
import random
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st
from poll_sim import checks_until_end

from providers.base import TaskStatus
from server.engine.history import fit
from server.engine.schedule import Expected, PollSchedule, Timing

DEFAULT = Timing(poll_min=2.0, poll_max=15.0)
SIGMA = 0.2  # spread of ln(job length): 90 % of jobs within -28 % .. +39 % of the median


def simulate(seconds: float, sched: PollSchedule, *, progress: bool, queued: float = 0.1) -> tuple[int, float]:
    """(status checks until the end was seen, detection lag); progress truncated to whole percent, as gateways do."""

    def state(now: float) -> tuple[TaskStatus, int | None]:
        if now < queued * seconds:
            return TaskStatus.QUEUED, (0 if progress else None)
        share = (now - queued * seconds) / ((1 - queued) * seconds)
        return TaskStatus.RUNNING, (max(1, min(99, int(100 * share))) if progress else None)

    return checks_until_end(sched, seconds, state)


def history(rng: random.Random, median: float, n: int = 20) -> Expected:
    expected = fit([median * math.exp(rng.gauss(0, SIGMA)) for _ in range(n)])
    assert expected is not None
    return expected


def figures(median: float, *, progress: bool, reps: int = 300) -> dict[str, tuple[float, float]]:
    """Median checks and lag: ours with a history of 20 earlier jobs, and fixed 10 s / 2 s pollers, same jobs."""
    rng = random.Random(median)
    ours, fixed10, fixed2 = [], [], []
    for i in range(reps):
        length = median * math.exp(rng.gauss(0, SIGMA))
        sched = PollSchedule(DEFAULT, started=0.0, rng=random.Random(i), expected=history(rng, median))
        ours.append(simulate(length, sched, progress=progress))
        for out, every in ((fixed10, 10.0), (fixed2, 2.0)):
            out.append((math.ceil(length / every), math.ceil(length / every) * every - length))
    return {name: (statistics.median(c for c, _ in runs), statistics.median(lag for _, lag in runs))
            for name, runs in (("ours", ours), ("fixed10", fixed10), ("fixed2", fixed2))}


def test_without_progress_history_beats_a_fixed_10_s_poller_on_checks_and_lag_at_every_length():
    for median in (30.0, 120.0, 600.0):
        f = figures(median, progress=False)
        assert f["ours"][0] < f["fixed10"][0], (median, f)
        assert f["ours"][1] < f["fixed10"][1], (median, f)


def test_with_progress_and_history_a_two_minute_job_takes_few_checks_and_little_lag():
    f = figures(120.0, progress=True)
    assert f["ours"][0] <= 8 and f["ours"][1] <= 1.0, f
    assert f["ours"][0] < f["fixed2"][0] / 7  # a 2 s poller gets about the same lag with ~60 checks


def test_checks_are_sparse_early_and_dense_near_the_expected_end():
    expected = Expected(median=600.0, sigma=SIGMA, samples=20)
    sched = PollSchedule(DEFAULT, started=0.0, expected=expected)
    now, times = 0.0, []
    while now < 700:
        now += sched.after_success(now, TaskStatus.RUNNING, None)
        times.append(now)
    opens = expected.quantile(PollSchedule.OPEN)
    early = [t for t in times if t <= opens]
    assert len(early) <= math.ceil(opens / (PollSchedule.FAR_STRIDE * DEFAULT.poll_max))
    assert any(abs(t - opens) < 1e-6 for t in times)  # one check lands where the earliest jobs ended
    gaps = [b - a for a, b in zip(times, times[1:]) if a >= opens]
    assert max(gaps) <= DEFAULT.poll_max * PollSchedule.DENSE + 1e-9


def test_a_job_slower_than_all_its_history_goes_back_to_the_max_interval():
    sched = PollSchedule(DEFAULT, started=0.0, expected=Expected(median=60.0, sigma=0.1, samples=10))
    now, delays = 0.0, []
    while now < 600:
        delay = sched.after_success(now, TaskStatus.RUNNING, None)
        delays.append(delay)
        now += delay
    assert delays[-1] == DEFAULT.poll_max
    assert len(delays) < 600 / 10  # fewer checks than a 10 s poller over the same ten minutes


def test_a_callback_leaves_only_safety_checks_after_the_slowest_similar_job():
    expected = Expected(median=120.0, sigma=SIGMA, samples=20)
    sched = PollSchedule(DEFAULT, started=0.0, expected=expected, callback=True)
    first = sched.after_success(0.0, TaskStatus.QUEUED, 0)
    assert first >= PollSchedule.SAFETY_MARGIN * expected.quantile(0.99) > 200
    assert sched.after_success(first, TaskStatus.RUNNING, 50) == PollSchedule.SAFETY * DEFAULT.poll_max
    plain = PollSchedule(DEFAULT, started=0.0, callback=True)  # no history: a safety check every 4 x max
    assert plain.after_success(0.0, TaskStatus.QUEUED, None) == PollSchedule.SAFETY * DEFAULT.poll_max


def test_fit_is_robust_and_needs_a_few_jobs():
    assert fit([10.0, 12.0]) is None
    expected = fit([100.0] * 9 + [5000.0])  # one job that sat in a queue for an hour
    assert expected is not None and 99 < expected.median < 101 and expected.sigma < 0.2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 120), st.one_of(st.none(), st.integers(0, 100)),
                          st.sampled_from([TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.UNKNOWN])),
                min_size=1, max_size=40),
       st.one_of(st.none(), st.builds(Expected, st.floats(0.5, 3600), st.floats(0.01, 2), st.integers(3, 50))),
       st.booleans(), st.floats(0, 40), st.one_of(st.none(), st.floats(0, 500)), st.floats(0.01, 5),
       st.floats(1, 20), st.integers(0, 2**32 - 1))
def test_every_delay_respects_the_bounds_and_the_hints(steps, expected, callback, floor, retry_after, lo, span,
                                                       seed):
    timing = Timing(poll_min=lo, poll_max=lo * span, retry_after_cap=60.0)
    sched = PollSchedule(timing, started=0.0, rng=random.Random(seed), expected=expected, callback=callback,
                         floor=floor)
    least = max(timing.poll_min, min(floor, timing.poll_max))  # never sooner than the gateway's docs ask
    most = timing.poll_max * max(PollSchedule.STEADY_STRIDE, PollSchedule.FAR_STRIDE)  # never past twice the max
    now = 0.0
    for i, (gap, pct, status) in enumerate(steps):
        now += gap
        delay = sched.after_success(now, status, pct)
        assert delay >= least - 1e-9
        if callback:
            assert delay >= PollSchedule.SAFETY * timing.poll_max - 1e-9
        else:
            assert delay <= most + 1e-9
        if i % 4 == 3:
            failed = sched.after_failure(retry_after)
            hint = min(retry_after, timing.retry_after_cap) if retry_after is not None else 0.0
            assert failed >= max(hint, min(floor, timing.poll_max)) - 1e-9  # never before a Retry-After
            assert failed <= max(hint, timing.poll_max) + 1e-9
