"""Fixtures for the MCP surface: settings isolated from the developer's environment, and a server factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_support import make_settings
from server.app import build_server
from server.settings import Settings

KEY_VARS = ("ORCAROUTER", "OMNIROUTERS", "OCTOPUSX", "APIMODELS", "INFINITYBLUE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch):
    """No key or setting from the developer's shell may leak into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("VIDEOGEN_") or any(name.startswith(p + "_") for p in KEY_VARS):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def server(settings: Settings):
    return build_server(settings, download_default=True)
