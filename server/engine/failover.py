"""Submitting along a route: the next gateway is tried only after one that provably created nothing, within the same
task record and with the same idempotency key; an ambiguous submit (sent, no usable answer) never moves on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from providers.errors import ProviderError
from server.engine.health import Health
from server.engine.routing import Attempt, Candidate, Route
from server.engine.submit import Outcome

Send = Callable[[Candidate, float | None], Awaitable[Outcome]]  # (candidate, retry budget or None) -> outcome
Trying = Callable[[Candidate, tuple[Attempt, ...]], Awaitable[None]]  # writes the next gateway's name durably


def moves_on(error: BaseException | None) -> bool:
    """Whether a submit that failed this way may go to the next gateway: only when the gateway provably created
    nothing (`sent=False`: connect errors, pool timeouts, 429/503 that took no action, model not routed, no quota,
    a 4xx refusal). An ambiguous one (sent, no usable answer) never does: a second gateway could bill twice."""
    return isinstance(error, ProviderError) and error.sent is False


async def submit_along(route: Route, send: Send, trying: Trying, health: Health
                       ) -> tuple[Candidate, Outcome, tuple[Attempt, ...]]:
    """(the gateway that settled it, its outcome, the gateways that refused before it). Every gateway but the last
    gets no retries (the next one is the better retry); the last gets the usual retry budget. `trying` runs before
    each gateway after the first, so the ledger names the gateway a job may be on before anything is sent to it."""
    tried: tuple[Attempt, ...] = ()
    for candidate in route.candidates:
        if tried:
            await trying(candidate, tried)
        last = candidate is route.candidates[-1]
        outcome = await send(candidate, None if last else 0.0)
        if outcome.kind == "accepted":
            health.succeeded(candidate.gateway, candidate.info.name)
            return candidate, outcome, tried
        if outcome.kind == "ambiguous":
            return candidate, outcome, tried
        health.failed(candidate.gateway, candidate.info.name, outcome.error)
        if last or not moves_on(outcome.error):
            return candidate, outcome, tried
        tried = (*tried, Attempt.of(candidate, outcome.error))
    raise AssertionError("a route has at least one candidate")


def changes(route: Route, candidate: Candidate, tried: tuple[Attempt, ...]) -> dict[str, Any]:
    """The ledger columns naming the gateway being tried (only a routed task has more than one to name)."""
    record = route.record(candidate, tried)
    if record is None:
        return {}
    out: dict[str, Any] = {"provider": candidate.gateway, "model": candidate.model_id,
                           "route_json": json.dumps(record)}
    if candidate.cost is not None:  # the estimate of the gateway actually tried (no dearer than the reserved one)
        out.update(cost_usd=candidate.cost.usd, cost_basis=candidate.cost.summary())
    return out


def failed_everywhere(route: Route, tried: tuple[Attempt, ...], message: str) -> str:
    """The failure text once the last gateway refused too: each earlier refusal, then the last one in full."""
    if not tried:
        return message
    before = " ".join(f"{a.gateway}: {a.message}" for a in tried)
    return f"No gateway took {route.asked}. {before} Then {message}"
