"""Fixtures for the real agent frameworks' MCP client layers against our server (stdio subprocess, streamable HTTP).

Locally the tests skip, with the reason, when the `frameworks` extra is not installed; under CI=true a
missing package is a failure, so the suite can never silently stop checking them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.served import http_server, server_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_seconds(n): how long the HTTP server's sandbox jobs take")


@pytest.fixture
def http_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """`videogen-mcp serve --http` in a subprocess; the sandbox job length comes from the test's marker."""
    marker = request.node.get_closest_marker("sandbox_seconds")
    seconds = str(marker.args[0]) if marker else "1"
    with http_server(server_env(tmp_path, VIDEOGEN_SANDBOX_SECONDS=seconds)) as origin:
        yield f"{origin}/mcp"
