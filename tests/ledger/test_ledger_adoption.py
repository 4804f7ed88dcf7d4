"""The ledger's adoption rule: one gateway job (provider, upstream id) is followed by one task, whoever asks."""

from __future__ import annotations

import anyio
import pytest
from fakes.engine_stubs import make_row

from server.ledger import adoption
from server.ledger.store import Ledger, LedgerConflict

pytestmark = pytest.mark.anyio


def _queued(row):
    return {"state": "queued", "error_code": None, "error_message": None}


async def test_concurrent_adoptions_from_two_connections_agree_on_one_task(new_ledger):
    first, second = new_ledger(), new_ledger()  # two processes' connections to one store
    lost = make_row(state="unknown", error_code="submit_interrupted")
    await first.create(lost, dedupe_window=0)
    results = []

    async def adopt(ledger: Ledger) -> None:
        results.append(await adoption.adopt(ledger, "stub", "up_1", into=lost.task_id, strict=False,
                                            new=make_row(state="unknown"), changes=_queued))

    async with anyio.create_task_group() as tg:
        tg.start_soon(adopt, first)
        tg.start_soon(adopt, second)
    assert sorted(how for _, how in results) == ["attached", "existing"]
    assert {row.task_id for row, _ in results} == {lost.task_id}
    stored = await first.get(lost.task_id)
    assert stored.upstream_task_id == "up_1" and stored.state == "queued"
    assert [e["detail"] for e in await first.events(lost.task_id)][-1] == "adopted gateway job up_1"


async def test_a_named_task_that_cannot_take_the_job_is_a_conflict_and_changes_nothing(new_ledger):
    ledger = new_ledger()
    busy = make_row(state="running", upstream_task_id="up_other")
    await ledger.create(busy, dedupe_window=0)
    with pytest.raises(LedgerConflict, match="already follows gateway job up_other"):
        await adoption.adopt(ledger, "stub", "up_2", into=busy.task_id, strict=True, new=make_row(),
                             changes=_queued)
    assert await adoption.by_upstream(ledger, "stub", "up_2") is None
    assert len(await ledger.list()) == 1


async def test_the_unique_rule_holds_in_the_schema_itself(new_ledger):
    ledger = new_ledger()  # schema 1 already has UNIQUE (provider, upstream_task_id): no migration
    await ledger.create(make_row(state="queued", upstream_task_id="up_3"), dedupe_window=0)
    twin = make_row(state="queued")
    await ledger.create(twin, dedupe_window=0)
    with pytest.raises(LedgerConflict):
        await ledger.update(twin.task_id, upstream_task_id="up_3")
    assert (await adoption.orphans(ledger, "stub")) == []
    await ledger.update(twin.task_id, state="unknown")
    assert [r.task_id for r in await adoption.orphans(ledger, "stub")] == [twin.task_id]
