"""The generate progress bar moves between the engine's (deliberately few) polls."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fakes.served import clean_env

from server.cli.commands import Pace

SCRIPT = Path(sys.executable).parent / "videogen-mcp"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pace_moves_at_the_observed_rate_below_the_ceiling_and_never_backwards():
    clock = Clock()
    pace = Pace(clock)
    clock.now = 2.0
    assert pace.estimate() == 0  # nothing read yet
    pace.seen(25)  # 25 % after 2 s: 12.5 %/s
    clock.now = 4.0
    assert pace.estimate() == 50
    clock.now = 20.0
    assert pace.estimate() == Pace.CEILING  # slower than predicted: the bar waits below the end
    pace.seen(30)  # a lower reading lowers the rate, not the bar
    assert pace.estimate() == Pace.CEILING
    pace.seen(100)
    assert pace.estimate() == 100


def test_the_bar_advances_through_a_sandbox_job_at_default_poll_intervals(tmp_path):
    env = clean_env(tmp_path, VIDEOGEN_SANDBOX_SECONDS="4", TTY_COMPATIBLE="1", COLUMNS="100")
    done = subprocess.run([str(SCRIPT), "generate", "a kite"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shown = [int(p) for p in re.findall(r"(\d+)%", done.stderr)]
    between = {p for p in shown if 0 < p < 100}
    assert len(between) >= 5, f"the bar showed {sorted(set(shown))}"
    assert shown == sorted(shown) and shown[-1] == 100
