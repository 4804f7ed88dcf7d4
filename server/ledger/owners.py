"""Lease owners: who a lease names (host, pid, process start time, a random part) and whether that process lives.

Liveness comes from psutil, the same on Linux, macOS and Windows (on Windows `os.kill(pid, 0)` sends a Ctrl-C event
rather than testing for existence, and there is no /proc anywhere but Linux).
"""

from __future__ import annotations

import functools
import os
import socket

# Start times are written "t<seconds since the epoch>". Ledgers from before hold Linux clock ticks (all digits) or
# "-" there: for those only the pid's existence is checked, and a lease they hold simply runs out.
_PREFIX = "t"
_SLACK = 1.0  # seconds: a start time read twice may shift by rounding or a clock step; errs toward "alive"


def process_start(pid: int) -> tuple[bool, float | None]:
    """(whether the process runs, its start time in seconds since the epoch if readable). A zombie does not run."""
    import psutil  # off the start path: only a lease decision needs it

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped by its parent
            return False, None
        return True, proc.create_time()
    except psutil.NoSuchProcess:
        return False, None
    except psutil.Error:  # access denied and the like: it exists
        return True, None


@functools.cache
def host_id() -> str:
    """Whose pids a lease's pid is: the host name, plus on Linux the pid namespace (containers sharing a host name,
    as with host networking, do not share pids; the ledger may be shared across them)."""
    name = socket.gethostname()
    try:
        space = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return name
    return f"{name}/{space[5:-1]}" if space.startswith("pid:[") and space.endswith("]") else name


def process_owner() -> str:
    """A lease owner id: host, pid, the pid's start time (pids get reused) and a random part (two Engines in one
    process are distinct owners)."""
    _, started = process_start(os.getpid())
    stamp = f"{_PREFIX}{started:.3f}" if started is not None else "-"
    return f"{host_id()}:{os.getpid()}:{stamp}:{os.urandom(4).hex()}"


def owner_alive(owner: str) -> bool:
    """False only when the owner provably died: same host (and pid namespace), and its pid is gone, a zombie, or a
    newer process. Owners elsewhere (another machine, another container) hold their lease until it expires."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != host_id() or not parts[1].isdigit():
        return True
    return same_process(parts[2], *process_start(int(parts[1])))


def same_process(recorded: str, running: bool, started: float | None) -> bool:
    """Whether the process now at the lease's pid is the one whose start time the lease recorded. Unknown start
    times and old-format records count as the same: never take a live lease on a guess."""
    if not running:
        return False
    if started is None or not recorded.startswith(_PREFIX):
        return True
    try:
        return abs(float(recorded[len(_PREFIX):]) - started) <= _SLACK
    except ValueError:
        return True
