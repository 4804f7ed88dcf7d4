"""The schema's numbered steps: a fresh SQLite ledger gets them all, a version-1 file (made before the steps) is
brought up to date with its rows intact, and the steps are numbered one by one."""

from __future__ import annotations

import re
import sqlite3

import pytest
from fakes.engine_stubs import make_row

from server.ledger.schema import MIGRATIONS, SCHEMA_VERSION, pending_steps
from server.ledger.store import Ledger

pytestmark = pytest.mark.anyio


def test_the_steps_are_numbered_one_by_one_from_one():
    assert [number for number, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == len(MIGRATIONS)
    assert pending_steps(SCHEMA_VERSION) == [] and len(pending_steps(0)) == sum(len(s) for _, s in MIGRATIONS)


def test_no_step_uses_sqlite_only_sql():
    for _, statements in MIGRATIONS:
        for statement in statements:
            code = re.sub(r"--[^\n]*", "", statement).upper()  # comments may say anything
            assert not re.search(r"\b(ROWID|PRAGMA|STRICT|GLOB)\b", code), statement


async def test_a_version_1_file_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "tasks.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0][1]:  # the schema exactly as version 1 wrote it, without the later index
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    row = make_row(state="running", upstream_task_id="up-old")
    v1 = [r[1] for r in conn.execute("PRAGMA table_info(tasks)")]  # later steps add columns (with defaults)
    conn.execute(f"INSERT INTO tasks ({', '.join(v1)}) VALUES ({', '.join('?' * len(v1))})",
                 tuple(getattr(row, c) for c in v1))
    conn.close()

    ledger = Ledger(path)
    assert await ledger.get(row.task_id) == row
    ledger.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "tasks_by_lease" in indexes
    conn.close()

