"""Which ledger a server uses: PostgreSQL when VIDEOGEN_DATABASE_URL is set, else the SQLite file under VIDEOGEN_HOME.
The PostgreSQL driver loads only for a PostgreSQL ledger."""

from __future__ import annotations

from typing import Any

from server.ledger.store import Ledger, LedgerError


def open_ledger(settings: Any, **options: Any) -> Ledger:
    url = getattr(settings, "database_url", None)
    if url is not None:
        return _postgres()(url.get_secret_value(), **options)
    return Ledger(settings.ledger_path, **options)


def _postgres() -> Any:  # (the PgLedger class)
    try:
        from server.ledger.postgres import PgLedger
    except ImportError as exc:  # installed without the extra
        raise LedgerError(f"VIDEOGEN_DATABASE_URL needs the PostgreSQL driver ({exc.name} is missing): pip install "
                          "'videogen-mcp[postgres]' (from a checkout: pip install '.[postgres]')") from None
    return PgLedger


async def describe_ledger(settings: Any) -> tuple[bool, str]:
    """For `doctor`: (usable, which ledger and its state), changing nothing."""
    url = getattr(settings, "database_url", None)
    if url is None:
        return True, f"SQLite {settings.ledger_path}"
    import anyio.to_thread

    try:
        ledger = _postgres()(url.get_secret_value(), connect_timeout=5)
    except LedgerError as exc:
        return False, str(exc)
    return await anyio.to_thread.run_sync(ledger.probe)
