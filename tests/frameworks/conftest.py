"""The real agent frameworks' MCP client layers against our server (stdio subprocess and streamable HTTP).

Locally the tests skip, with the reason, when the `frameworks` extra is not installed; under CI=true a
missing package is a failure, so the suite can never silently stop checking them.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "videogen-mcp"
PACKAGES = {"agents": "openai-agents", "langchain_mcp_adapters": "langchain-mcp-adapters",
            "langchain_openai": "langchain-openai", "pydantic_ai": "pydantic-ai-slim[mcp]"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_seconds(n): how long the HTTP server's sandbox jobs take")


def need(module: str) -> None:
    """Skip (locally) or fail (CI) when a framework package is missing."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{PACKAGES[module]} is not installed: pip install -e '.[test,frameworks]'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the framework tests must run)")
    pytest.skip(message)


def server_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("VIDEOGEN_")}
    env.update({"VIDEOGEN_HOME": str(home), "VIDEOGEN_SANDBOX_SECONDS": "1", "VIDEOGEN_POLL_MIN_INTERVAL": "0.05",
                "VIDEOGEN_POLL_MAX_INTERVAL": "0.2", **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# What an OpenAI strict-mode model sends: every property, null for the unused ones.
STRICT_ARGS = {
    "model": "sandbox/kling-sim", "prompt": "a paper boat on a pond", "duration": None, "aspect_ratio": None,
    "resolution": None, "negative_prompt": None, "first_frame_image": None, "last_frame_image": None,
    "reference_images": None, "reference_videos": None, "audio": None, "seed": None, "options": None,
    "wait_seconds": None, "idempotency_key": "", "download": None,
}
