"""Helpers shared by the MCP-surface tests."""

from __future__ import annotations

from pathlib import Path

from server.settings import Settings


def make_settings(home: Path, **env: object) -> Settings:
    values: dict[str, object] = {
        "VIDEOGEN_HOME": str(home),
        "VIDEOGEN_SANDBOX_SECONDS": 1.0,
        "VIDEOGEN_POLL_MIN_INTERVAL": 0.05,
        "VIDEOGEN_POLL_MAX_INTERVAL": 0.2,
        "VIDEOGEN_INPUT_DIRS": str(home),
        "VIDEOGEN_DEDUPE_WINDOW": 0,
    }
    values.update(env)
    return Settings(_env_file=None, **values)
