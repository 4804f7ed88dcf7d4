"""Shared pytest fixtures (kept generic; fake gateways live in tests/fakes/gateways.py)."""

import os
import sys

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Markers for tests that need parts only some platforms have (pyproject lists them). They skip elsewhere, with the
# reason, and never on Linux, where every test runs.
_NEEDS = {
    "posix_only": (lambda: os.name == "posix", "needs POSIX (FIFOs, /dev, file modes)"),
    "linux_only": (lambda: sys.platform == "linux", "needs Linux"),
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, (available, reason) in _NEEDS.items():
        if item.get_closest_marker(name) is not None and not available():
            pytest.skip(f"{reason}; this is {sys.platform}")


# --- PostgreSQL: one private server per test session (tests/fakes/postgres.py), a fresh database per test ----------
@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL server. Locally, without PostgreSQL binaries, its tests skip saying so; with
    CI=true they fail instead (.ci/run installs Debian's postgresql)."""
    from fakes.postgres import PgMissing, PgServer

    try:
        server = PgServer.start()
    except PgMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request) -> str | None:
    """Parametrizes a test over both ledger backends: None for SQLite, else a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()
