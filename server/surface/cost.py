"""The price of a generate_video call before anything is sent: the estimate, the dry run, the cap and unpriced
rules, and the user's approval above VIDEOGEN_CONFIRM_ABOVE_USD where the client can ask (confirm.py). The budget
is reserved later, by the ledger, in the transaction that records the task."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as t
from mcp.server.context import ServerRequestContext

from providers import gateway_prices
from providers.base import Provider, VideoRequest
from providers.prices import Estimate, estimate
from server.engine import budget as limits_
from server.engine.budget import Budget, Limits
from server.surface import confirm
from server.surface.principal import principal_of
from server.surface.render import error_result

if TYPE_CHECKING:
    from server.runtime import Runtime

log = logging.getLogger("videogen")
HINT_TTL = 600.0  # seconds a gateway's /api/pricing answer (or its absence) is kept
HINT_WAIT = 2.0  # seconds list_video_models waits for it, beside its model discovery


@dataclass(frozen=True)
class Cleared:
    """The job may be recorded and sent: its estimate (recorded with the task) and the budget to reserve it in."""

    estimate: Estimate
    budget: Budget | None

    @property
    def cost(self) -> tuple[float | None, str]:
        return self.estimate.usd, self.estimate.summary()


def model_id(provider: Provider, request: VideoRequest) -> str:
    return f"{provider.id}/{request.model}"


def hint(rt: Runtime, provider: Provider, name: str) -> gateway_prices.GatewayPrice | None:
    """The gateway's own /api/pricing row for `name`, if one was read already (never fetched here)."""
    cached = rt.price_hints.get(provider.id)
    return cached[1].get(name) if cached else None


def _reads_pricing(provider: Provider) -> bool:
    from providers.newapi import NewApiProvider

    return isinstance(provider, NewApiProvider) and not provider.sandbox


async def refresh_hints(rt: Runtime, provider: Provider) -> None:
    """Read a new-api gateway's GET /api/pricing at most every HINT_TTL s; never fails the caller."""
    cached = rt.price_hints.get(provider.id)
    if not _reads_pricing(provider) or (cached and time.monotonic() - cached[0] < HINT_TTL):
        return
    rt.price_hints[provider.id] = (time.monotonic(), cached[1] if cached else {})  # one reader at a time
    base = getattr(getattr(provider, "http", None), "base_url", None)
    if base is None:
        return
    try:
        found = await gateway_prices.fetch(rt.client, base, timeout=HINT_WAIT * 5)
    except anyio.get_cancelled_exc_class():  # the listing stopped waiting: look again in a minute, not in ten
        rt.price_hints[provider.id] = (time.monotonic() - HINT_TTL + 60, cached[1] if cached else {})
        raise
    except Exception as exc:  # a hint: its absence changes nothing but the listing
        log.info("GET /api/pricing on %s failed: %r", provider.id, exc)
        return
    rt.price_hints[provider.id] = (time.monotonic(), found)


def assess(rt: Runtime, provider: Provider, request: VideoRequest, max_cost_usd: float | None
           ) -> tuple[str, Estimate, Limits]:
    """(model id, its estimate, the limits this call runs under)."""
    model = model_id(provider, request)
    return model, estimate(model, request, hint=hint(rt, provider, request.model)), Limits.from_settings(
        rt.settings, max_cost_usd)


async def check(ctx: ServerRequestContext, rt: Runtime, provider: Provider, request: VideoRequest, *,
                max_cost_usd: float | None, dry_run: bool) -> Cleared | t.CallToolResult | t.InputRequiredResult:
    """Estimate the job, then: the dry run's answer; a refusal (cap, unknown price, not approved); the question to
    the user (2026-07-28 input_required); or Cleared."""
    model, est, limits = assess(rt, provider, request, max_cost_usd)
    if dry_run:
        spent = await budget_spent(rt, limits.budget, principal_of(ctx.request))
        return dry_run_result(provider, request, est, limits, max_cost_usd, spent)
    if why := limits_.refusal(model, est, limits):
        return error_result(why)
    if limits_.needs_confirmation(est, limits):
        if confirm.can_ask(ctx):
            answer = await confirm.ask(ctx, approval_question(model, est), quote=f"{model}:{est.usd}")
            if isinstance(answer, t.InputRequiredResult):
                return answer
            if answer == "decline":
                return error_result(limits_.unconfirmed(model, est, limits, declined=True))
            if answer == "unavailable" and not limits_.confirmed_by_argument(est, max_cost_usd):
                return error_result(limits_.unconfirmed(model, est, limits))
        elif not limits_.confirmed_by_argument(est, max_cost_usd):
            return error_result(limits_.unconfirmed(model, est, limits))
    return Cleared(est, limits.budget)


def approval_question(model: str, est: Estimate) -> str:
    return (f"Start a paid video job on {model}, estimated at ${est.usd:.2f}? ({est.basis}; {est.source}"
            + (f", as of {est.as_of}" if est.as_of else "") + ")")


async def budget_spent(rt: Runtime, budget: Budget | None, principal: str) -> float | None:
    """What the principal's tasks in the period have reserved so far (a read; the reservation itself happens in
    Ledger.create): each principal has its own budget."""
    if budget is None:
        return None
    rows = await (await rt.engine()).ledger.spend(budget.since(time.time()), principal)
    return float(sum(r["usd"] for r in rows))


def dry_run_result(provider: Provider, request: VideoRequest, est: Estimate, limits: Limits,
                   max_cost_usd: float | None, spent: float | None = None) -> t.CallToolResult:
    text, structured = dry_run(provider, request, est, limits, max_cost_usd, spent)
    return t.CallToolResult(content=[t.TextContent(text=text)], structured_content=structured)


def dry_run(provider: Provider, request: VideoRequest, est: Estimate, limits: Limits,
            max_cost_usd: float | None, spent: float | None = None) -> tuple[str, dict[str, Any]]:
    """What would be sent (the gateway body, never the key), what it would cost, and whether it would be allowed."""
    model = model_id(provider, request)
    path, body = provider.build_submit(request)
    http = getattr(provider, "http", None)
    budget = limits.budget
    refused = limits_.refusal(model, est, limits)
    if refused is None and budget is not None and spent is not None and est.usd is not None and (
            spent + est.usd > budget.limit_usd + 1e-9):
        refused = limits_.over_budget(est, budget, spent, time.time())
    if refused is not None:
        would = "be refused: " + refused.removeprefix("Refused: ").replace(" " + limits_.NOTHING_SENT, "")
    elif limits_.needs_confirmation(est, limits):
        would = (f"need the user's approval (above VIDEOGEN_CONFIRM_ABOVE_USD ${limits.confirm_above:g}): a client "
                 "that can ask will ask; others pass max_cost_usd at or above the estimate"
                 + (", as this call does" if limits_.confirmed_by_argument(est, max_cost_usd) else ""))
    else:
        would = "be sent" + (f"; the budget has ${budget.limit_usd - spent:.4f} left {budget.label}"
                             if budget is not None and spent is not None else "")
    structured = {
        "dry_run": True,
        "model": model,
        "estimate": est.public(),
        "request": _digested(request.model_dump(mode="json", exclude_defaults=True)),
        "send": {"method": "POST", "url": http.url(path) if http is not None else path, "body": _digested(body)},
        "would": would,
    }
    price = (f"estimated ${est.usd:.4f}: {est.basis} ({est.source}, as of {est.as_of})" if est.usd is not None
             else f"no USD estimate: {est.basis}")
    text = (f"Dry run for {model}: nothing was sent and no task was created. {price}. It would {would.rstrip('.')}. "
            "The body that would be POSTed is in structuredContent.send.")
    return text, structured


_SECRET_NAME = re.compile(r"(?i)(^|[_-])(api[_-]?key|token|secret|password|authorization)$")  # as engine/submit


def _digested(value: Any) -> Any:
    """Inline images as a digest (they may be megabytes), as the ledger records them; secret-looking keys hidden."""
    if isinstance(value, str) and value.startswith("data:"):
        head = value[5:].split(",", 1)[0]
        return f"data:{head};sha256={hashlib.sha256(value.encode()).hexdigest()};bytes={len(value)}"
    if isinstance(value, dict):
        return {k: "[redacted]" if _SECRET_NAME.search(str(k)) else _digested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_digested(v) for v in value]
    return value


def over_budget(est: Estimate, budget: Budget, spent: float, now: float) -> t.CallToolResult:
    return error_result(limits_.over_budget(est, budget, spent, now))
