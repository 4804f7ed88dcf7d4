"""The person-facing side of cost: `generate`'s dry run, cap and confirmation at a terminal, and `spend`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from rich.console import Console
from rich.prompt import Confirm
from rich.table import Table

from providers.base import Provider, VideoRequest
from server.app import open_runtime
from server.cli.common import CommandError, dumps
from server.engine import budget as limits_
from server.engine.budget import Budget, Period
from server.runtime import Runtime
from server.settings import Settings
from server.surface import cost

out = Console()
err = Console(stderr=True)


Explain = Callable[[str], str]  # an agent-facing text as a person needs it (commands.cli_text)


def dry_run(rt: Runtime, provider: Provider, request: VideoRequest, max_cost: float | None, as_json: bool,
            cli_text: Explain) -> int:
    _, est, limits = cost.assess(rt, provider, request, max_cost)
    text, structured = cost.dry_run(provider, request, est, limits, max_cost)
    if as_json:
        print(dumps(structured))
    else:
        out.print(cli_text(text.replace("structuredContent.send", "below")), soft_wrap=True)
        out.print_json(dumps(structured["send"]))
    return 0


def clear(rt: Runtime, provider: Provider, request: VideoRequest, max_cost: float | None,
          cli_text: Explain) -> cost.Cleared:
    """The cap and unpriced rules; above VIDEOGEN_CONFIRM_ABOVE_USD, a person at a terminal is asked, a script must
    pass --max-cost at or above the estimate."""
    model, est, limits = cost.assess(rt, provider, request, max_cost)
    if why := limits_.refusal(model, est, limits):
        raise CommandError(cli_text(why))
    if limits_.needs_confirmation(est, limits) and not limits_.confirmed_by_argument(est, max_cost):
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise CommandError(cli_text(limits_.unconfirmed(model, est, limits).replace(
                "this client cannot ask them", "this is not a terminal")))
        if not Confirm.ask(cost.approval_question(model, est), console=err, default=False):
            raise CommandError(f"Not started: {model} was not approved. {limits_.NOTHING_SENT}")
    if est.usd is not None:
        err.print(f"[dim]Estimated ${est.usd:.4f}: {est.basis}.[/]", soft_wrap=True)
    return cost.Cleared(est, limits.budget)


def refused(cleared: cost.Cleared, spent: float, cli_text: Explain) -> CommandError:
    assert cleared.budget is not None
    return CommandError(cli_text(limits_.over_budget(cleared.estimate, cleared.budget, spent, time.time())))


async def spend(settings: Settings, args: argparse.Namespace) -> int:
    """Estimated spend from the ledger: today, this week and this month (UTC), per provider, and the budget left
    (everyone's, or one principal's with --principal: each principal has its own budget)."""
    now = time.time()
    periods: tuple[Period, ...] = ("day", "week", "month")
    starts = {p: Budget(0, p).since(now) for p in periods}
    principal = getattr(args, "principal", None)
    async with open_runtime(settings) as rt:
        ledger = (await rt.engine()).ledger
        rows = {p: await ledger.spend(starts[p], principal) for p in periods}
    budget = Budget(settings.budget_usd, settings.budget_period) if settings.budget_usd is not None else None
    # With several principals (tokens or OAuth), everyone's sum says nothing about what one of them has left.
    several = principal is None and (settings.http_tokens is not None or settings.oauth_issuer is not None)
    report = {p: {"since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(starts[p])),
                  "usd": round(sum(r["usd"] for r in rows[p]), 6), "tasks": sum(r["tasks"] for r in rows[p]),
                  "unpriced": sum(r["unpriced"] for r in rows[p]), "providers": rows[p]} for p in periods}
    left = None if budget is None or several else round(max(0.0, budget.limit_usd - report[budget.period]["usd"]), 6)
    if args.json:
        print(dumps({"periods": report, "principal": principal, "budget": None if budget is None else {
            "usd": budget.limit_usd, "period": budget.period, "left_usd": left}}))
        return 0
    table = Table(title="Estimated spend (tasks that did not fail)")
    for col in ("period", "provider", "tasks", "estimated USD", "unpriced"):
        table.add_column(col)
    for period in periods:
        label = {"day": "today", "week": "this week", "month": "this month"}[period]
        for r in report[period]["providers"] or [{"provider": "-", "tasks": 0, "usd": 0.0, "unpriced": 0}]:
            table.add_row(label, r["provider"], str(r["tasks"]), f"${r['usd']:.4f}", str(r["unpriced"] or ""))
    out.print(table)
    if budget is not None and left is None:
        out.print(f"Budget: ${budget.limit_usd:g} per {budget.period} (UTC) for each principal; "
                  "`videogen-mcp spend --principal NAME` shows what one has left.", markup=False, soft_wrap=True)
    elif budget is not None:
        who = f" for {principal}" if principal else ""
        out.print(f"Budget: ${budget.limit_usd:g} per {budget.period} (UTC); ${left:.4f} left{who} {budget.label}.")
    else:
        out.print("No budget is set (VIDEOGEN_BUDGET_USD).")
    return 0
