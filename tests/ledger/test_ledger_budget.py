"""The budget in the ledger: a row's cost_usd is reserved in the transaction that records it, or nothing is written;
failed rows give theirs back; a reused row reserves nothing; spend() sums per provider."""

from __future__ import annotations

import pytest
from fakes.engine_stubs import make_row

from server.ledger.store import BudgetExceeded, Ledger

pytestmark = pytest.mark.anyio


async def test_reservations_refusals_refunds_and_reuse(tmp_path):
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    budget = (1.0, 0.0)  # $1 since the epoch
    a = make_row(prompt="a", cost_usd=0.6, cost_basis="a")
    await ledger.create(a, dedupe_window=0, budget=budget)
    with pytest.raises(BudgetExceeded) as refused:
        await ledger.create(make_row(prompt="b", cost_usd=0.5, cost_basis="b"), dedupe_window=0, budget=budget)
    assert (refused.value.spent, refused.value.limit) == (0.6, 1.0)
    assert len(await ledger.list()) == 1  # the refused row was never written
    again, reused = await ledger.create(make_row(prompt="a", cost_usd=0.6, cost_basis="a",
                                                 idempotency_key=None, fingerprint=a.fingerprint),
                                        dedupe_window=60, budget=budget)
    assert reused and again.task_id == a.task_id  # the same job: no second reservation, no refusal
    await ledger.update(a.task_id, state="failed", error_code="x", error_message="refused upstream")
    await ledger.create(make_row(prompt="c", cost_usd=0.9, cost_basis="c"), dedupe_window=0, budget=budget)
    spend = await ledger.spend(0.0)
    assert spend == [{"provider": "stub", "tasks": 1, "usd": 0.9, "unpriced": 0}]  # the failed row is refunded
    ledger.close()


async def test_an_unpriced_row_reserves_nothing_but_needs_budget_left(tmp_path):
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    budget = (0.5, 0.0)
    await ledger.create(make_row(prompt="free", cost_usd=None, cost_basis="no price known"), dedupe_window=0,
                        budget=budget)
    await ledger.create(make_row(prompt="half", cost_usd=0.5, cost_basis="x"), dedupe_window=0, budget=budget)
    with pytest.raises(BudgetExceeded):
        await ledger.create(make_row(prompt="more", cost_usd=None, cost_basis="no price known"), dedupe_window=0,
                            budget=budget)
    assert await ledger.spend(0.0) == [{"provider": "stub", "tasks": 2, "usd": 0.5, "unpriced": 1}]
    row = (await ledger.list())[-1]
    assert row.to_task().cost is not None and row.to_task().cost.estimate_usd is None
    ledger.close()


async def test_only_the_period_counts(tmp_path):
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    old = make_row(prompt="yesterday", cost_usd=0.9, cost_basis="x")
    await ledger.create(old, dedupe_window=0)
    since = old.created_at + 0.001
    await ledger.create(make_row(prompt="today", cost_usd=0.9, cost_basis="x", created_at=since + 1),
                        dedupe_window=0, budget=(1.0, since))
    assert [r["usd"] for r in await ledger.spend(since)] == [0.9]
    ledger.close()
