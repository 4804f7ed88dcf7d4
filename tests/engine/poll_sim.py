"""One job polled by a schedule on a simulated clock: the loop both schedule test files measure with."""

from __future__ import annotations

from collections.abc import Callable

from providers.base import TaskStatus
from server.engine.schedule import PollSchedule

State = Callable[[float], tuple[TaskStatus, int | None]]  # what the gateway answers at a moment before the end


def checks_until_end(sched: PollSchedule, seconds: float, state: State) -> tuple[int, float]:
    """(status checks until the end was seen, detection lag) for a job that ends at `seconds`."""
    now, checks = 0.0, 0
    delay = sched.after_success(0.0, *state(0.0))
    while True:
        now += delay
        checks += 1
        if now >= seconds:
            return checks, now - seconds
        delay = sched.after_success(now, *state(now))
