"""The spending rules as pure functions: periods in UTC, the cap, the unpriced rule, confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from providers.prices import Estimate
from server.engine.budget import Budget, Limits, confirmed_by_argument, needs_confirmation, refusal

WED = datetime(2026, 12, 2, 14, 30, tzinfo=UTC).timestamp()  # a Wednesday


def settings(**kw):
    values = dict(max_cost_usd=None, budget_usd=None, budget_period="day", allow_unpriced=False,
                  confirm_above_usd=None)
    values.update(kw)
    return SimpleNamespace(**values)


def test_periods_start_at_utc_midnight_monday_and_the_first():
    assert datetime.fromtimestamp(Budget(1, "day").since(WED), UTC) == datetime(2026, 12, 2, tzinfo=UTC)
    assert datetime.fromtimestamp(Budget(1, "week").since(WED), UTC) == datetime(2026, 11, 30, tzinfo=UTC)
    assert datetime.fromtimestamp(Budget(1, "month").since(WED), UTC) == datetime(2026, 12, 1, tzinfo=UTC)
    assert Budget(1, "month").resets(WED) == datetime(2027, 1, 1, tzinfo=UTC)
    assert Budget(1, "week").resets(WED) == datetime(2026, 12, 7, tzinfo=UTC)


def test_the_argument_wins_over_the_default_cap():
    limits = Limits.from_settings(settings(max_cost_usd=0.2), 1.0)
    assert (limits.cap, limits.cap_from) == (1.0, "max_cost_usd")
    assert Limits.from_settings(settings(max_cost_usd=0.2), None).cap_from == "VIDEOGEN_MAX_COST_USD"
    assert Limits.from_settings(settings(), None).cap is None


def test_refusals():
    priced, unknown = Estimate(0.5, "5 s x $0.1/s"), Estimate(None, "no price known for x/y")
    assert refusal("x/y", priced, Limits.from_settings(settings(), None)) is None
    capped = refusal("x/y", priced, Limits.from_settings(settings(), 0.4))
    assert capped is not None and "$0.5000" in capped and "max_cost_usd $0.4" in capped
    assert refusal("x/y", unknown, Limits.from_settings(settings(), None)) is None  # no limit: nothing to check
    blocked = refusal("x/y", unknown, Limits.from_settings(settings(budget_usd=5), None))
    assert blocked is not None and "a budget of $5 per day" in blocked and "VIDEOGEN_ALLOW_UNPRICED=1" in blocked
    assert refusal("x/y", unknown, Limits.from_settings(settings(budget_usd=5, allow_unpriced=True), None)) is None


def test_confirmation_threshold():
    limits = Limits.from_settings(settings(confirm_above_usd=0.3), None)
    assert needs_confirmation(Estimate(0.5, ""), limits) and not needs_confirmation(Estimate(0.3, ""), limits)
    assert confirmed_by_argument(Estimate(0.5, ""), 0.5) and not confirmed_by_argument(Estimate(0.5, ""), 0.49)
    assert not confirmed_by_argument(Estimate(None, ""), 100)
    assert not needs_confirmation(Estimate(None, ""), limits)  # unknown prices are VIDEOGEN_ALLOW_UNPRICED's call
