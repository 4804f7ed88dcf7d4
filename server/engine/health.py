"""Which gateways failed lately before anything was sent: a gateway that did is tried last on every route until its
cool-down ends, and recovers at its next success. Learnt from this process's own submits at once, and from the
ledger (every process sharing it, on this machine or, with PostgreSQL, any) at most every few seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from providers.errors import ProviderError, RateLimited

if TYPE_CHECKING:
    from server.ledger.store import Ledger, TaskRow

COOL_BASE = 30.0  # seconds a gateway stays back after an overload or an unreachable moment, doubling per repeat
COOL_MAX = 300.0
COOL_ACCOUNT = 600.0  # quota or key trouble: a person has to act, so retrying soon is pointless
REFRESH = 5.0  # seconds between two reads of the ledger

# error code -> (seconds, reason, per gateway model rather than per gateway, grows with repeats). Only pre-send
# failures that say something about the gateway; a refusal of the arguments (invalid_request) says nothing about it.
RULES: dict[str, tuple[float, str, bool, bool]] = {
    "rate_limited": (COOL_BASE, "rate limited", False, False),  # or its Retry-After
    "unavailable": (COOL_BASE, "overloaded", False, True),
    "transport": (COOL_BASE, "unreachable", False, True),
    "quota": (COOL_ACCOUNT, "out of quota", False, False),
    "auth": (COOL_ACCOUNT, "key refused", False, False),
    "model_not_available": (COOL_ACCOUNT, "does not serve the model", True, False),
}


@dataclass
class _Mark:
    at: float
    until: float
    reason: str
    failures: int = 1


@dataclass
class Health:
    """Per gateway, except "does not serve this model", which is per gateway model. Wall-clock times, so marks
    learnt from another process's rows compare with this one's."""

    clock: Callable[[], float] = time.time
    _marks: dict[tuple[str, str], _Mark] = field(default_factory=dict)
    _read_at: float = float("-inf")

    def pushed_back(self, gateway: str, model: str) -> str | None:
        now = self.clock()
        for key in ((gateway, ""), (gateway, model)):
            mark = self._marks.get(key)
            if mark is not None and mark.until > now:
                return mark.reason
        return None

    def failed(self, gateway: str, model: str, error: BaseException | None) -> None:
        if isinstance(error, ProviderError) and error.sent is False:
            retry = error.retry_after if isinstance(error, RateLimited) else None
            self._note(gateway, model, error.code, self.clock(), retry_after=retry)

    def succeeded(self, gateway: str, model: str, at: float | None = None) -> None:
        when = self.clock() if at is None else at
        for key in ((gateway, ""), (gateway, model)):
            mark = self._marks.get(key)
            if mark is not None and mark.at <= when:
                del self._marks[key]

    def _note(self, gateway: str, model: str, code: str, at: float, *, retry_after: float | None = None,
              repeat: bool = True) -> None:
        rule = RULES.get(code)
        if rule is None:
            return
        seconds, reason, per_model, grows = rule
        key = (gateway, model if per_model else "")
        previous = self._marks.get(key)
        if previous is not None and not repeat:  # read back from the ledger (maybe our own): never shortens a mark
            if previous.at < at:
                self._marks[key] = _Mark(at, max(previous.until, at + seconds), reason, previous.failures)
            return
        failures = previous.failures + 1 if previous is not None and grows else 1
        seconds = retry_after or (min(seconds * 2 ** (failures - 1), COOL_MAX) if grows else seconds)
        self._marks[key] = _Mark(at, at + seconds, reason, failures)

    async def refresh(self, ledger: Ledger) -> None:
        """Learn what every process sharing the ledger saw lately (at most every REFRESH s; one indexed read)."""
        now = self.clock()
        if now - self._read_at < REFRESH:
            return
        self._read_at = now
        self.learn(await ledger.recent(now - COOL_ACCOUNT))

    def learn(self, rows: Iterable[TaskRow]) -> None:
        """Replay the rows' outcomes in time order: a gateway that refused before sending, one that took a job."""
        events: list[tuple[float, str, str, str | None]] = []  # (when, gateway, model name, error code or None)
        for row in rows:
            name = row.model.partition("/")[2]
            if row.upstream_task_id:
                events.append((row.created_at, row.provider, name, None))
            elif row.state == "failed" and row.error_code:
                events.append((row.updated_at, row.provider, name, row.error_code))
            for tried in json.loads(row.route_json).get("tried", []) if row.route_json else []:
                events.append((tried.get("at", row.created_at), tried["gateway"], tried["model"].partition("/")[2],
                               tried["code"]))
        for at, gateway, name, code in sorted(events, key=lambda e: e[0]):
            if code is None:
                self.succeeded(gateway, name, at)
            else:
                self._note(gateway, name, code, at, repeat=False)
