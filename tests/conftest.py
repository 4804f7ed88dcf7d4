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
