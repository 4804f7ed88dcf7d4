"""The ledger on its own: schema, durability settings, dedupe in one transaction, events, leases, busy handling."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import replace

import anyio
import pytest
from fakes.engine_stubs import dead_owner, make_row, request

from server.ledger.store import (
    SCHEMA_VERSION, Ledger, LedgerConflict, LedgerError, lease_is_live, make_private, new_task_id,
)
from server.ledger.owners import owner_alive, process_owner, same_process
from server.engine.submit import describe_request

pytestmark = pytest.mark.anyio



async def test_opened_lazily_with_wal_full_sync_and_a_schema_version(tmp_path):
    path = tmp_path / "deep" / "tasks.sqlite3"
    ledger = Ledger(path)
    assert not path.exists()  # nothing happens before the first use
    assert await ledger.get("vg_nope") is None
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    if os.name == "posix":  # Windows has no file modes (see make_private)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    ledger.close()


async def test_a_ledger_from_a_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "tasks.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer"):
        await Ledger(path).get("x")


async def test_a_saved_video_s_media_facts_round_trip_through_the_ledger(new_ledger):
    ledger = new_ledger()
    row, _ = await ledger.create(make_row(), dedupe_window=0)
    assert (await ledger.get(row.task_id)).media_json is None
    media = '{"duration_s": 5.0, "width": 1280, "height": 720, "fps": 24.0, "has_audio": false, "bytes": 9}'
    updated = await ledger.update(row.task_id, media_json=media)
    assert updated.to_task().media.width == 1280
    assert (await ledger.get(row.task_id)).to_task().media.duration_s == 5.0


async def test_create_dedupes_by_key_and_by_recent_fingerprint(new_ledger):
    ledger = new_ledger()
    a, reused = await ledger.create(make_row(idempotency_key="k"), dedupe_window=60)
    assert not reused
    b, reused = await ledger.create(make_row(idempotency_key="k", prompt="other"), dedupe_window=60)
    assert reused and b.task_id == a.task_id
    c, reused = await ledger.create(make_row(), dedupe_window=60)
    assert reused and c.task_id == a.task_id  # same fingerprint, recent, not failed
    await ledger.update(a.task_id, state="failed", error_code="x", error_message="y")
    d, reused = await ledger.create(make_row(), dedupe_window=60)
    assert not reused
    e, reused = await ledger.create(make_row(created_at=time.time() + 120), dedupe_window=60)
    assert not reused and e.task_id != d.task_id


@pytest.mark.parametrize("same", [
    {"row": {"idempotency_key": "same"}, "dedupe_window": 0},
    # no key, so no unique index helps: only the exclusive write lock keeps the dedupe window's promise
    {"row": {"prompt": "same"}, "dedupe_window": 60},
], ids=["one key", "one request without a key"])
async def test_one_key_from_many_connections_makes_one_row(new_ledger, same):
    ledgers = [new_ledger() for _ in range(8)]
    results = []

    async def one(ledger):
        results.append(await ledger.create(make_row(**same["row"]), dedupe_window=same["dedupe_window"]))

    async with anyio.create_task_group() as tg:
        for ledger in ledgers:
            tg.start_soon(one, ledger)
    assert len({r.task_id for r, _ in results}) == 1 and sum(not reused for _, reused in results) == 1


async def test_updates_record_events_and_skip_no_op_writes(new_ledger):
    ledger = new_ledger()
    row, _ = await ledger.create(make_row(), dedupe_window=0)
    queued = await ledger.update(row.task_id, state="queued", upstream_task_id="up1")
    same = await ledger.update(row.task_id, state="queued")
    assert same.updated_at == queued.updated_at  # nothing changed, nothing written
    await ledger.update(row.task_id, state="running", progress=10)
    await ledger.update(row.task_id, progress=20)
    await ledger.update(row.task_id, state="succeeded", progress=100)
    events = await ledger.events(row.task_id)
    assert [e["state"] for e in events] == ["submitting", "queued", "running", "succeeded"]
    with pytest.raises(ValueError):
        await ledger.update(row.task_id, idempotency_key="evil")


async def test_progress_ticks_skip_the_fsync_and_the_connection_stays_durable(tmp_path):
    ledger = Ledger(tmp_path / "t.db")
    row, _ = await ledger.create(make_row(), dedupe_window=0)
    tick = await ledger.update(row.task_id, progress=5, durable=False)
    assert tick.progress == 5 and (await ledger.get(row.task_id)).progress == 5
    assert ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # back to FULL for everything else
    ledger.close()


async def test_upstream_id_is_unique_per_provider(new_ledger):
    ledger = new_ledger()
    a, _ = await ledger.create(make_row(), dedupe_window=0)
    b, _ = await ledger.create(make_row(prompt="b"), dedupe_window=0)
    await ledger.update(a.task_id, upstream_task_id="up1", state="queued")
    with pytest.raises(LedgerConflict):
        await ledger.update(b.task_id, upstream_task_id="up1", state="queued")


async def test_leases_exclude_live_owners_and_expire(new_ledger):
    clock = [1000.0]
    ledger = new_ledger(now=lambda: clock[0])
    row, _ = await ledger.create(make_row(created_at=1000.0, updated_at=1000.0), dedupe_window=0)
    me, other = process_owner(), "elsewhere:1:2:abc"  # another host: assumed alive
    assert await ledger.acquire(row.task_id, me, ttl=10) is not None
    assert await ledger.acquire(row.task_id, other, ttl=10) is None
    assert await ledger.update(row.task_id, owner=other, state="queued") is None  # a stale writer is refused
    assert (await ledger.update(row.task_id, owner=me, state="queued")).state == "queued"
    clock[0] += 8
    assert await ledger.renew(me, ttl=10) == {row.task_id}
    clock[0] += 8
    assert await ledger.acquire(row.task_id, other, ttl=10) is None  # renewed: still mine
    clock[0] += 11
    assert await ledger.acquire(row.task_id, other, ttl=10) is not None  # expired: taken over
    await ledger.release(other, row.task_id)
    assert (await ledger.get(row.task_id)).lease_owner is None


async def test_a_dead_processes_lease_is_free_at_once(new_ledger):
    ledger = new_ledger()
    row, _ = await ledger.create(make_row(lease_owner=dead_owner(), lease_expires=time.time() + 3600),
                                 dedupe_window=0)
    assert not lease_is_live(row, time.time())
    assert await ledger.acquire(row.task_id, process_owner(), ttl=10) is not None
    assert owner_alive(process_owner()) and owner_alive("otherhost:1:2:x")
    host, pid, started, _ = process_owner().rsplit(":", 3)
    assert started.startswith("t")
    assert not owner_alive(f"{host}:{pid}:t{float(started[1:]) + 5}:x")  # our pid, reused by a newer process
    assert owner_alive(f"{host}:{pid}:12345:x")  # a record from before (Linux clock ticks): the pid runs


def test_same_process_compares_start_times_and_trusts_what_it_cannot_read():
    assert not same_process("t100.000", False, None)  # gone (or a zombie)
    assert same_process("t100.000", True, 100.4)  # the same start, read again
    assert not same_process("t100.000", True, 160.0)  # the pid now belongs to a newer process
    assert same_process("t100.000", True, None)  # exists, start time unreadable (access denied)
    assert same_process("-", True, 160.0) and same_process("4242", True, 160.0)  # old records: pid only
    assert not same_process("4242", False, None)


async def test_busy_database_is_waited_out_never_raised(tmp_path):
    path = tmp_path / "t.db"
    ledger = Ledger(path, busy_timeout=0.05)  # SQLite gives up quickly; the ledger's own retry must carry on
    row, _ = await ledger.create(make_row(), dedupe_window=0)
    locked, release = threading.Event(), threading.Event()

    def hog():
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(5)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hog)
    thread.start()
    locked.wait(5)
    threading.Timer(0.5, release.set).start()
    before = time.monotonic()
    updated = await ledger.update(row.task_id, state="queued")
    assert updated.state == "queued" and time.monotonic() - before >= 0.4
    thread.join()
    ledger.close()


async def test_busy_beyond_patience_is_a_plain_ledger_error(tmp_path):
    path = tmp_path / "t.db"
    ledger = Ledger(path, busy_timeout=0.01, busy_patience=0.2)
    await ledger.get("x")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    with pytest.raises(LedgerError, match="busy"):
        await ledger.create(make_row(), dedupe_window=0)
    conn.execute("ROLLBACK")
    ledger.close()


def test_request_description_digests_images_and_drops_secrets():
    big = "data:image/png;base64," + "QUJD" * 50_000
    fp1, stored = describe_request("stub", request(first_frame={"url": big}, options={"api_key": "sk-1", "x": 1}))
    fp2, _ = describe_request("stub", request(first_frame={"url": big[:-4] + "QUJE"}, options={"api_key": "sk-1",
                                                                                             "x": 1}))
    fp3, _ = describe_request("stub", request(first_frame={"url": big}, options={"api_key": "sk-1", "x": 1}))
    assert fp1 == fp3 and fp1 != fp2  # identical requests (only those) share a fingerprint
    assert len(stored) < 1000 and "QUJD" not in stored and "sha256=" in stored
    assert "sk-1" not in stored and '"x":1' in stored
    assert describe_request("other", request())[0] != describe_request("stub", request())[0]


def test_task_ids_are_random_and_well_formed():
    ids = {new_task_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 35 and i.startswith("vg_") for i in ids)
    int(next(iter(ids))[3:], 16)


def test_rows_convert_to_public_tasks():
    row = make_row()
    task = row.to_task()
    assert task.status.value == "unknown" and task.error.code == "submitting"
    done = replace(row, state="succeeded", progress=100, video_url="https://x/y.mp4").to_task()
    assert done.error is None and done.status.value == "succeeded"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_ledger_is_made_private_only_where_modes_mean_it(tmp_path):
    path = tmp_path / "t.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    make_private(path, posix=False)
    assert path.stat().st_mode & 0o777 == 0o644
    make_private(path, posix=True)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_database_url_without_the_driver_says_what_to_install(monkeypatch, tmp_path):
    import sys

    from server.ledger.backend import open_ledger
    from server.settings import Settings

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if installed without the `postgres` extra
    monkeypatch.delitem(sys.modules, "server.ledger.postgres", raising=False)
    settings = Settings(_env_file=None, VIDEOGEN_HOME=str(tmp_path), VIDEOGEN_DATABASE_URL="postgresql://u@h/db")
    with pytest.raises(LedgerError, match=r"psycopg is missing\): pip install 'videogen-mcp\[postgres\]'"):
        open_ledger(settings)
    assert open_ledger(Settings(_env_file=None, VIDEOGEN_HOME=str(tmp_path), VIDEOGEN_DATABASE_URL=" ")).path == (
        tmp_path / "tasks.sqlite3")  # a blank URL is unset: SQLite
