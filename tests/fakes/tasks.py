"""What every fake gateway shares, framework-free: a task's timeline and state machine, a recorded request and a
reply. tests/fakes/gateways.py answers with them; benchmarks/fakegw.py serves the same gateway on wall time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: Any  # parsed body, or None
    route: str  # submit | poll | content | models | file | other


@dataclass
class Reply:
    """One answer, framework-free, so the ASGI app and benchmarks/fakegw.py's bare listener send the same bytes."""

    status: int
    body: bytes
    media_type: str = "application/json"
    headers: dict[str, str] | None = None


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), headers=headers)


@dataclass
class Timeline:
    """How one task behaves, on the fake's clock: queued for `queued` s, running until `seconds`, then the end."""

    seconds: float = 0.0
    queued: float = 0.0
    progress: bool = True  # report progress while running (False: the field is absent)
    fail: str | None = None  # failure reason; None = succeed
    cancel: bool = False  # end as cancelled (new-api: FAILURE with a reason mentioning cancel)


@dataclass
class FakeTask:
    id: str
    model: str
    body: Any
    created: float  # fake clock, seconds
    timeline: Timeline
    upstream: dict[str, Any] = field(default_factory=dict)  # stock new-api: the vendor body its channel would build
    polls: list[float] = field(default_factory=list)  # fake-clock time of every status poll answered for it

    def state(self, now: float) -> tuple[str, int | None]:
        """("queued"|"running"|"succeeded"|"failed"|"cancelled", progress or None)."""
        t, elapsed = self.timeline, now - self.created
        if elapsed >= t.seconds:
            return ("cancelled" if t.cancel else "failed" if t.fail else "succeeded"), 100
        if elapsed < t.queued:
            return "queued", 0 if t.progress else None
        span = max(t.seconds - t.queued, 1e-9)
        return "running", (max(1, min(99, int(100 * (elapsed - t.queued) / span))) if t.progress else None)
