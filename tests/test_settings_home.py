"""Where state lives by default: the platform's user data folder, as platformdirs names it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from server.settings import Settings, default_home


def test_the_default_home_is_the_platforms_data_folder(monkeypatch):
    monkeypatch.delenv("VIDEOGEN_HOME", raising=False)
    home = Settings(_env_file=None).home
    assert home == default_home() and home.name == "videogen-mcp" and home.is_absolute()
    expected = {"darwin": Path.home() / "Library" / "Application Support" / "videogen-mcp",
                "win32": Path(os.environ.get("LOCALAPPDATA", "?")) / "videogen-mcp"}.get(sys.platform)
    if expected is not None:
        assert home == expected


@pytest.mark.linux_only
def test_linux_honours_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_home() == tmp_path / "videogen-mcp"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_home() == Path.home() / ".local" / "share" / "videogen-mcp"


def test_videogen_home_overrides_it(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEOGEN_HOME", str(tmp_path / "state"))
    assert Settings(_env_file=None).home == tmp_path / "state"
