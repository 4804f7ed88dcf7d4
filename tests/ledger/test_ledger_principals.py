"""Principals in the ledger: idempotency keys, the dedupe window and the budget are each principal's own, listing
filters by principal, and a ledger from before principals (one global key space) is upgraded in place."""

from __future__ import annotations

import sqlite3
import time

import pytest
from fakes.engine_stubs import make_row

from server.ledger.schema import MIGRATIONS, SCHEMA_VERSION
from server.ledger.store import BudgetExceeded, Ledger, LedgerConflict
from server.tasks import DEFAULT_PRINCIPAL

pytestmark = pytest.mark.anyio


async def test_the_same_key_from_two_principals_is_two_tasks_and_from_one_is_one(new_ledger):
    ledger = new_ledger()
    alice, reused_a = await ledger.create(make_row(idempotency_key="k", principal="alice"), dedupe_window=60)
    bob, reused_b = await ledger.create(make_row(idempotency_key="k", principal="bob"), dedupe_window=60)
    again, reused = await ledger.create(make_row(idempotency_key="k", principal="alice"), dedupe_window=60)
    assert not reused_a and not reused_b and bob.task_id != alice.task_id
    assert reused and again.task_id == alice.task_id
    with pytest.raises(LedgerConflict):  # the rule is the schema's, not only the lookup's
        await ledger._write(lambda c: c.execute(
            "UPDATE tasks SET principal = 'alice' WHERE task_id = ?", (bob.task_id,)))
    ledger.close()


async def test_the_dedupe_window_is_per_principal(new_ledger):
    ledger = new_ledger()
    alice, _ = await ledger.create(make_row(principal="alice"), dedupe_window=60)
    bob, reused_b = await ledger.create(make_row(principal="bob"), dedupe_window=60)
    again, reused = await ledger.create(make_row(principal="alice"), dedupe_window=60)
    assert not reused_b and bob.task_id != alice.task_id  # an identical request is not another principal's job
    assert reused and again.task_id == alice.task_id
    ledger.close()


async def test_listing_by_principal_shows_only_its_tasks(new_ledger):
    ledger = new_ledger()
    now = time.time()
    mine = [(await ledger.create(make_row(principal="alice", prompt=f"a{i}", created_at=now + i), dedupe_window=0))[0]
            for i in range(3)]
    theirs, _ = await ledger.create(make_row(principal="bob", created_at=now + 10), dedupe_window=0)
    listed = await ledger.list(10, principal="alice")
    assert [r.task_id for r in listed] == [r.task_id for r in reversed(mine)]
    assert [r.task_id for r in await ledger.list(10, principal="carol")] == []
    assert theirs.task_id in [r.task_id for r in await ledger.list(10)]  # unscoped: the operator's CLI view
    ledger.close()


async def test_each_principal_has_its_own_budget(new_ledger):
    ledger = new_ledger()
    budget = (1.0, 0.0)  # VIDEOGEN_BUDGET_USD=1 since the epoch, for each principal
    await ledger.create(make_row(prompt="a", cost_usd=0.8, cost_basis="x", principal="alice"), dedupe_window=0,
                        budget=budget)
    with pytest.raises(BudgetExceeded) as refused:
        await ledger.create(make_row(prompt="b", cost_usd=0.5, cost_basis="x", principal="alice"), dedupe_window=0,
                            budget=budget)
    assert (refused.value.spent, refused.value.limit) == (0.8, 1.0)
    await ledger.create(make_row(prompt="b", cost_usd=0.5, cost_basis="x", principal="bob"), dedupe_window=0,
                        budget=budget)  # alice's spending is not bob's
    assert await ledger.spend(0.0, "bob") == [{"provider": "stub", "tasks": 1, "usd": 0.5, "unpriced": 0}]
    assert await ledger.spend(0.0, "carol") == []
    assert [r["usd"] for r in await ledger.spend(0.0)] == [pytest.approx(1.3)]  # the operator's `spend`: everyone
    ledger.close()


async def test_a_ledger_from_before_principals_is_upgraded_in_place_and_keeps_its_tasks(tmp_path):
    path = tmp_path / "tasks.sqlite3"
    old = make_row(idempotency_key="k", state="succeeded", upstream_task_id="up-1")
    conn = sqlite3.connect(path, isolation_level=None)
    for _, statements in MIGRATIONS[:2]:  # the schema as the version before principals left it
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    names = [r[1] for r in conn.execute("PRAGMA table_info(tasks)")]
    conn.execute(f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                 tuple(getattr(old, c) for c in names))
    conn.execute("INSERT INTO events (task_id, at, state) VALUES (?, ?, ?)", (old.task_id, old.created_at, "queued"))
    conn.close()

    ledger = Ledger(path)
    kept = await ledger.get(old.task_id)
    assert kept == old and kept.principal == DEFAULT_PRINCIPAL  # every earlier task is the default principal's
    assert [e["state"] for e in await ledger.events(old.task_id)] == ["queued"]
    same, reused = await ledger.create(make_row(idempotency_key="k"), dedupe_window=60)
    assert reused and same.task_id == old.task_id  # single-principal behaviour is unchanged
    other, reused = await ledger.create(make_row(idempotency_key="k", principal="bob"), dedupe_window=60)
    assert not reused and other.task_id != old.task_id
    with pytest.raises(LedgerConflict):  # the upstream rule is untouched
        await ledger.update(other.task_id, upstream_task_id="up-1")
    ledger.close()

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert check.execute("SELECT COUNT(*) FROM tasks WHERE unscoped_key IS NOT NULL").fetchone()[0] == 0
    indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"tasks_by_key", "tasks_by_principal", "tasks_by_lease"} <= indexes
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
