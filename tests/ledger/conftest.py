"""The ledger tests' store: SQLite or PostgreSQL (the `ledger_url` parameter, tests/conftest.py)."""

from __future__ import annotations

import pytest

from server.ledger.store import Ledger


@pytest.fixture
def new_ledger(tmp_path, ledger_url):
    """Ledgers on one store, SQLite or PostgreSQL (each call: another connection, as another process would have)."""
    made = []

    def make(**kw):
        if ledger_url is None:
            ledger = Ledger(tmp_path / "t.db", **kw)
        else:
            from server.ledger.postgres import PgLedger

            ledger = PgLedger(ledger_url, **kw)
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        ledger.close()
