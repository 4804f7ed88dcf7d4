"""Shared pytest fixtures (kept generic; fake gateways live in tests/fakes/gateways.py)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
