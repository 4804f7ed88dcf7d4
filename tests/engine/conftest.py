"""Fixtures for the engine tests: fast settings on a temporary home (SQLite or PostgreSQL ledger), a stub gateway,
an engine factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes.engine_stubs import FAST, RecordingDownloader, StubGateway, StubProvider, fast_settings

from server.engine.core import Engine
from server.engine.schedule import Timing
from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, ledger_url: str | None) -> Settings:
    """Fast settings on a temporary home; every engine test runs on both ledgers (tests/conftest.py's ledger_url)."""
    return fast_settings(tmp_path, **({"VIDEOGEN_DATABASE_URL": ledger_url} if ledger_url else {}))


@pytest.fixture
def gateway() -> StubGateway:
    return StubGateway()


@pytest.fixture
def provider(gateway: StubGateway) -> StubProvider:
    return StubProvider(gateway)


@pytest.fixture
def downloader() -> RecordingDownloader:
    return RecordingDownloader()


EngineFactory = Callable[..., Any]


@pytest.fixture
def make_engine(settings: Settings, provider: StubProvider, downloader: RecordingDownloader) -> EngineFactory:
    """`async with make_engine(**overrides) as engine:`; overrides: providers, timing fields, settings, ..."""

    @asynccontextmanager
    async def factory(**kw: Any) -> AsyncIterator[Engine]:
        the_settings = kw.pop("settings", settings)
        providers = kw.pop("providers", {provider.id: provider})
        timing = Timing.from_settings(the_settings, **{**FAST, **kw.pop("timing", {})})
        kw.setdefault("downloader", downloader)
        kw.setdefault("trusted_hosts", frozenset())
        async with Engine(the_settings, providers, None, timing=timing, **kw) as engine:
            yield engine

    return factory
