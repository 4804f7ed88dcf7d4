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


async def describe_ledger(settings: Any) -> tuple[bool, str]:
    """For `doctor`: (usable, which ledger and its state), changing nothing."""
    url = getattr(settings, "database_url", None)
    if url is None:
        return True, f"SQLite {settings.ledger_path}"
    import anyio.to_thread

    from server.ledger.postgres import PgLedger

    return await anyio.to_thread.run_sync(PgLedger(url.get_secret_value(), connect_timeout=5).probe)
