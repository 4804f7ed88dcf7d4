"""Fixtures for the real agent frameworks' MCP client layers against our server (stdio subprocess, streamable HTTP).

Locally the tests skip, with the reason, when the `frameworks` extra is not installed; under CI=true a
missing package is a failure, so the suite can never silently stop checking them.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fw_support import SCRIPT, free_port, server_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_seconds(n): how long the HTTP server's sandbox jobs take")


@pytest.fixture
def http_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """`videogen-mcp serve --http` in a subprocess; the sandbox job length comes from the test's marker."""
    marker = request.node.get_closest_marker("sandbox_seconds")
    seconds = str(marker.args[0]) if marker else "1"
    port = free_port()
    proc = subprocess.Popen([str(SCRIPT), "serve", "--http", "--port", str(port)],
                            env=server_env(tmp_path, VIDEOGEN_SANDBOX_SECONDS=seconds),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)
