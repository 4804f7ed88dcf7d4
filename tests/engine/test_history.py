"""How long jobs took, read back from the ledger: by kind, shared by two processes' ledgers on one file, cached,
and the schema step that added the callback digest to older ledger files."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from fakes.engine_stubs import make_row, request

from server.engine.history import History
from server.engine.submit import describe_request
from server.ledger.schema import MIGRATIONS
from server.ledger.schema import SCHEMA_VERSION
from server.ledger.store import Ledger

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def job(ledger: Ledger, clock: Clock, seconds: float, *, state: str = "succeeded", model: str = "stub/stub-1",
              **fields: Any) -> str:
    """One job as the engine records it: created (`submitting`), accepted, running, then its end."""
    _, request_json = describe_request("stub", request("a job", **fields))
    row = make_row(request_json=request_json, model=model, created_at=clock.t, updated_at=clock.t)
    await ledger.create(row, dedupe_window=0)
    for step, at in (("queued", 0.5), ("running", 1.0), (state, seconds)):
        clock.t = row.created_at + at
        await ledger.update(row.task_id, state=step)
    clock.t += 10
    return row.task_id


def fresh(model: str = "stub/stub-1", **fields: Any) -> Any:
    _, request_json = describe_request("stub", request("the next job", **fields))
    return make_row(request_json=request_json, model=model)


async def test_two_ledgers_on_one_file_share_how_long_jobs_took(tmp_path):
    clock = Clock()
    writer, reader = Ledger(tmp_path / "t.db", now=clock), Ledger(tmp_path / "t.db", now=clock)
    for seconds in (90, 100, 110, 100, 95):
        await job(writer, clock, seconds, duration=5)
    history = History(reader)
    await history.refresh()
    expected = history.expected(fresh(duration=5))
    assert expected is not None and expected.samples == 5
    assert 95 <= expected.median <= 105 and 0.05 < expected.sigma < 0.2
    writer.close()
    reader.close()


async def test_kinds_fall_back_to_the_model_and_only_real_successes_count(tmp_path):
    clock = Clock()
    ledger = Ledger(tmp_path / "t.db", now=clock)
    for seconds in (30, 31, 29):
        await job(ledger, clock, seconds, duration=5)
    for seconds in (60, 62, 58):
        await job(ledger, clock, seconds, duration=10, resolution="1080p")
    await job(ledger, clock, 5, duration=5, state="failed")  # a quick failure says nothing about success times
    adopted = make_row(request_json='{"adopted":"up_1","provider":"stub"}', state="unknown", created_at=clock.t)
    await ledger.create(adopted, dedupe_window=0)  # a job followed from elsewhere: its start is not known here
    clock.t += 2
    await ledger.update(adopted.task_id, state="succeeded")
    history = History(ledger)
    await history.refresh()
    short = history.expected(fresh(duration=5))
    long = history.expected(fresh(duration=10, resolution="1080P"))
    assert short is not None and long is not None and short.samples == long.samples == 3
    assert 29 <= short.median <= 31 and 58 <= long.median <= 62
    pooled = history.expected(fresh(duration=8))  # no job of that kind yet: the model's jobs of any kind
    assert pooled is not None and pooled.samples == 6 and short.median < pooled.median < long.median
    assert history.expected(fresh(model="stub/other")) is None
    ledger.close()


async def test_the_copy_is_cached_and_this_process_s_own_successes_count_at_once(tmp_path):
    clock, ticks = Clock(), Clock(0.0)
    ledger = Ledger(tmp_path / "t.db", now=clock)
    for seconds in (40, 41, 42):
        await job(ledger, clock, seconds)
    history = History(ledger, clock=ticks)
    await history.refresh()
    for seconds in (400, 410, 420, 430):  # another process's jobs, after this one read the ledger
        await job(ledger, clock, seconds)
    await history.refresh()
    kept = history.expected(fresh())
    assert kept is not None and kept.samples == 3  # not re-read before REFRESH
    history.record(fresh(), 44.0)
    own = history.expected(fresh())
    assert own is not None and own.samples == 4
    ticks.t += History.REFRESH
    await history.refresh()
    reread = history.expected(fresh())
    assert reread is not None and reread.samples == 7 and round(reread.median) == 400
    history.enabled = False
    assert history.expected(fresh()) is None
    ledger.close()


async def test_a_ledger_of_schema_1_gains_the_callback_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0][1]:  # the schema as version 1 wrote it
        conn.execute(statement)
    conn.execute("INSERT INTO tasks (task_id, provider, model, fingerprint, request_json, state, created_at, "
                 "updated_at) VALUES ('vg_old', 'stub', 'stub/stub-1', 'f', '{}', 'running', 1, 1)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    ledger = Ledger(path)
    row = await ledger.get("vg_old")
    assert row is not None and row.state == "running" and row.callback_digest is None
    await ledger.create(make_row(callback_digest="d" * 64), dedupe_window=0)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    ledger.close()


async def test_jobs_the_engine_ran_teach_every_engine_on_the_same_ledger(make_engine, provider, gateway):
    gateway.seconds = 0.15
    async with make_engine() as engine:
        for i in range(3):
            started = await engine.start(provider, request(f"job {i}"), download=False)
            task = await engine.wait(started.task.task_id, timeout=10)
            assert task.status.value == "succeeded"
        row = await engine.ledger.get(started.task.task_id)
        assert row is not None
        own = engine.history.expected(row)  # this process counted them as they ended
        assert own is not None and own.samples == 3 and 0.1 < own.median < 2
    async with make_engine() as other:  # another process on the same ledger file: learns them from the ledger
        await other.history.refresh()
        shared = other.history.expected(row)
        assert shared is not None and shared.samples == 3 and abs(shared.median - own.median) < 0.5
