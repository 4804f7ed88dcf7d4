"""A damaged ledger file: the CLI says which file and what to do (exit non-zero), a tool answers isError, nobody
prints a traceback, and the file is never overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from server.app import build_server
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GARBAGE = b"this is not an sqlite file " * 200


def damaged_home(tmp_path: Path) -> Path:
    (tmp_path / "tasks.sqlite3").write_bytes(GARBAGE)
    return tmp_path


@pytest.mark.parametrize("command", [["tasks"], ["generate", "a kite", "--no-wait"]])
def test_cli_names_the_file_once_and_exits_non_zero(tmp_path, command):
    home = damaged_home(tmp_path)
    env = {**os.environ, "VIDEOGEN_HOME": str(home), "VIDEOGEN_SANDBOX": "true"}
    out = subprocess.run([sys.executable, "-m", "server", *command], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert str(home / "tasks.sqlite3") in out.stderr and "Move it aside" in out.stderr
    assert out.stderr.count("is damaged") == 1, out.stderr  # one line, not one per background task as well
    assert "Traceback" not in out.stderr + out.stdout
    assert (home / "tasks.sqlite3").read_bytes() == GARBAGE


@pytest.mark.anyio
async def test_a_tool_answers_is_error_and_the_file_is_kept(tmp_path):
    home = damaged_home(tmp_path)
    settings = Settings(_env_file=None, VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX=True)
    async with Client(build_server(settings)) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a kite", "wait_seconds": 1})
    assert r.is_error and "damaged" in r.content[0].text and "Traceback" not in r.content[0].text
    assert (home / "tasks.sqlite3").read_bytes() == GARBAGE
