"""Which ledger a server uses: PostgreSQL when VIDEOGEN_DATABASE_URL is set, else the SQLite file under VIDEOGEN_HOME.
The PostgreSQL driver loads only for a PostgreSQL ledger."""

from __future__ import annotations

from typing import Any

from server.ledger.store import Ledger


def open_ledger(settings: Any, **options: Any) -> Ledger:
    url = getattr(settings, "database_url", None)
    if url is not None:
        from server.ledger.postgres import PgLedger

        return PgLedger(url.get_secret_value(), **options)
    return Ledger(settings.ledger_path, **options)
