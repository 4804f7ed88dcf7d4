"""Spending limits: the per-job cap, the shared budget per period, the unpriced-job rule, and the words of each
refusal (the estimate, what is left, what to do). Pure; the budget itself is reserved by the ledger, atomically, in
the transaction that records the task (`Ledger.create(..., budget=...)`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from providers.prices import Estimate

Period = Literal["day", "week", "month"]
NOTHING_SENT = "Nothing was sent; no cost."


@dataclass(frozen=True)
class Budget:
    """`limit_usd` of estimated spend per calendar `period` (UTC), across every process sharing the ledger."""

    limit_usd: float
    period: Period = "day"

    def since(self, now: float) -> float:
        """When the current period began (a Unix time)."""
        moment = datetime.fromtimestamp(now, UTC)
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.period == "week":
            start -= timedelta(days=start.weekday())  # Monday
        elif self.period == "month":
            start = start.replace(day=1)
        return start.timestamp()

    def resets(self, now: float) -> datetime:
        start = datetime.fromtimestamp(self.since(now), UTC)
        if self.period == "day":
            return start + timedelta(days=1)
        if self.period == "week":
            return start + timedelta(days=7)
        return (start + timedelta(days=32)).replace(day=1)

    @property
    def label(self) -> str:
        return {"day": "today (UTC)", "week": "this week (UTC, from Monday)", "month": "this month (UTC)"}[self.period]


@dataclass(frozen=True)
class Limits:
    """What one call may spend: the caller's `max_cost_usd`, else the server's default cap; the shared budget."""

    cap: float | None = None
    cap_from: str = ""  # "max_cost_usd" or "VIDEOGEN_MAX_COST_USD"
    budget: Budget | None = None
    allow_unpriced: bool = False
    confirm_above: float | None = None

    @classmethod
    def from_settings(cls, settings: Any, max_cost_usd: float | None) -> Limits:
        cap, cap_from = max_cost_usd, "max_cost_usd"
        if cap is None and settings.max_cost_usd is not None:
            cap, cap_from = settings.max_cost_usd, "VIDEOGEN_MAX_COST_USD"
        budget = Budget(settings.budget_usd, settings.budget_period) if settings.budget_usd is not None else None
        return cls(cap, cap_from if cap is not None else "", budget, settings.allow_unpriced,
                   settings.confirm_above_usd)

    @property
    def guarded(self) -> bool:
        """Whether anything limits spending (then a job of unknown price needs VIDEOGEN_ALLOW_UNPRICED=1)."""
        return self.cap is not None or self.budget is not None or self.confirm_above is not None


def refusal(model: str, est: Estimate, limits: Limits) -> str | None:
    """Why this job may not be sent under the cap and the unpriced rule (None: it may, budget permitting)."""
    if est.usd is None:
        if not limits.guarded or limits.allow_unpriced:
            return None
        why = (f"{limits.cap_from} ${limits.cap:g}" if limits.cap is not None else
               f"a budget of ${limits.budget.limit_usd:g} per {limits.budget.period}" if limits.budget is not None
               else f"confirmation above ${limits.confirm_above:g}")
        return (f"Refused: the price of {model} is not known ({est.basis}), and spending is limited ({why}), so it "
                f"cannot be checked. {NOTHING_SENT} Pick a priced model (list_video_models shows `price`), or have "
                "the server run with VIDEOGEN_ALLOW_UNPRICED=1 to allow jobs of unknown price.")
    if limits.cap is not None and est.usd > limits.cap + 1e-9:
        how = ("pass a larger max_cost_usd if the user agrees" if limits.cap_from == "max_cost_usd" else
               f"pass max_cost_usd >= {est.usd:g} if the user agrees (it overrides VIDEOGEN_MAX_COST_USD)")
        return (f"Refused: estimated ${est.usd:.4f} ({est.basis}) is above {limits.cap_from} ${limits.cap:g}. "
                f"{NOTHING_SENT} Choose a shorter duration, a cheaper mode or model, or {how}.")
    return None


def over_budget(est: Estimate, budget: Budget, spent: float, now: float) -> str:
    left = max(0.0, budget.limit_usd - spent)
    resets = budget.resets(now).strftime("%Y-%m-%d %H:%M UTC")
    what = (f"estimated ${est.usd:.4f} ({est.basis}) is more than the budget has left" if est.usd is not None else
            f"a job of unknown price ({est.basis}) needs budget left, and none is")
    return (f"Refused: {what}: ${spent:.4f} of "
            f"${budget.limit_usd:g} is already reserved {budget.label} by the processes sharing this ledger, "
            f"${left:.4f} left. {NOTHING_SENT} Choose a cheaper job, wait until the budget resets at {resets}, or "
            "raise VIDEOGEN_BUDGET_USD.")


def needs_confirmation(est: Estimate, limits: Limits) -> bool:
    """Above VIDEOGEN_CONFIRM_ABOVE_USD the user should say yes first. A job of unknown price never gets this far
    unless VIDEOGEN_ALLOW_UNPRICED=1 let it (refusal), which is the operator's yes."""
    return limits.confirm_above is not None and est.usd is not None and est.usd > limits.confirm_above + 1e-9


def confirmed_by_argument(est: Estimate, max_cost_usd: float | None) -> bool:
    """A client that cannot ask the user confirms by passing max_cost_usd at or above the estimate."""
    return est.usd is not None and max_cost_usd is not None and est.usd <= max_cost_usd + 1e-9


def unconfirmed(model: str, est: Estimate, limits: Limits, *, declined: bool = False) -> str:
    amount = f"${est.usd:.4f} ({est.basis})"
    head = (f"Not approved: the user declined (or the client answered for them) a job on {model} estimated at "
            f"{amount}." if declined else
            f"Needs the user's approval: a job on {model} is estimated at {amount}, above the confirmation "
            f"threshold of ${limits.confirm_above:g} (VIDEOGEN_CONFIRM_ABOVE_USD), and this client cannot ask them.")
    return f"{head} {NOTHING_SENT} Ask the user; if they agree, call again with max_cost_usd={est.usd:g}."
