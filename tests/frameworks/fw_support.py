"""What the framework tests share: the installed script, package checks, server environments, strict-style arguments.

Locally the tests skip, with the reason, when the `frameworks` extra is not installed; under CI=true a
missing package is a failure, so the suite can never silently stop checking them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "videogen-mcp"
PACKAGES = {"agents": "openai-agents", "langchain_mcp_adapters": "langchain-mcp-adapters",
            "langchain_openai": "langchain-openai", "pydantic_ai": "pydantic-ai-slim[mcp]"}


def need(module: str) -> None:
    """Skip (locally) or fail (CI) when a framework package is missing."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{PACKAGES[module]} is not installed: pip install -e '.[test,frameworks]'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the framework tests must run)")
    pytest.skip(message)


# What an OpenAI strict-mode model sends: every property, null for the unused ones.
STRICT_ARGS = {
    "model": "sandbox/kling-sim", "prompt": "a paper boat on a pond", "duration": None, "aspect_ratio": None,
    "resolution": None, "negative_prompt": None, "first_frame_image": None, "last_frame_image": None,
    "reference_images": None, "reference_videos": None, "audio": None, "seed": None, "options": None,
    "wait_seconds": None, "idempotency_key": "", "download": None,
}
