"""Lease owners: who a lease names (host, pid, start time, a random part) and whether that process still lives."""

from __future__ import annotations

import os
import socket


def _proc_stat(pid: int) -> list[bytes] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), or None off Linux or when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_owner() -> str:
    """A lease owner id: host, pid, the pid's start time (pids get reused) and a random part (two Engines in one
    process are distinct owners)."""
    fields_ = _proc_stat(os.getpid())
    started = fields_[19].decode() if fields_ and len(fields_) > 19 else "-"
    return f"{socket.gethostname()}:{os.getpid()}:{started}:{os.urandom(4).hex()}"


def owner_alive(owner: str) -> bool:
    """False only when the owner provably died: same host, and its pid is gone, a zombie, or a newer process."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True
    pid, started = int(parts[1]), parts[2]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields_ = _proc_stat(pid)
    if fields_ is None or len(fields_) <= 19:
        return True
    if fields_[0] == b"Z":  # killed, not yet reaped by its parent
        return False
    return started == "-" or fields_[19].decode() == started
