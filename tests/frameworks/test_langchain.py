"""LangChain (`langchain-mcp-adapters` + `langchain-openai`): our results become a Chat Completions request.

langchain-mcp-adapters requires mcp<2 while this server pins mcp==2.3, so the adapters run in their own
interpreter (VIDEOGEN_LANGCHAIN_PYTHON) against our installed server over stdio and streamable HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fakes.served import server_env
from fw_support import SCRIPT, STRICT_ARGS

PROBE = Path(__file__).with_name("langchain_probe.py")


def probe(connection: dict, args: dict, *extra: str) -> dict:
    python = os.environ.get("VIDEOGEN_LANGCHAIN_PYTHON")
    if not python:
        message = ("VIDEOGEN_LANGCHAIN_PYTHON is not set: point it at a Python with "
                   "pip install 'langchain-mcp-adapters==0.3.*' langchain-openai (they need mcp<2)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the framework tests must run)")
        pytest.skip(message)
    done = subprocess.run([python, str(PROBE), json.dumps(connection), json.dumps(args), *extra],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_finished_video_goes_on_to_chat_completions_over_stdio(tmp_path: Path):
    # README "LangChain" snippet, with the test's environment.
    connection = {"transport": "stdio", "command": str(SCRIPT), "args": [], "env": server_env(tmp_path)}
    out = probe(connection, STRICT_ARGS | {"wait_seconds": 20}, "--callbacks")
    assert out["tools"] == ["generate_video", "get_video_task", "list_video_models"]
    first, again = out["calls"]
    assert first["status"] != "error" and first["task"]["status"] == "succeeded"
    assert "refused" not in first, first["refused"]  # was "OpenAI Chat Completions does not support file URLs"
    assert first["sent"]["role"] == "tool" and first["task"]["video_url"] in str(first["sent"]["content"])
    assert "refused" not in again and again["task"]["task_id"] == first["task"]["task_id"]
    assert "does not support file URLs" in out["file_block_refused"], "the guarded failure is real"
    assert out["progress"] and out["progress"] == sorted(out["progress"]), "progress reaches the callback"


@pytest.mark.sandbox_seconds(10)
def test_http_without_progress_callback_and_a_short_read_timeout(http_url):
    # No callbacks, so no progress token: the server must answer within the client's 5 s read timeout.
    out = probe({"transport": "streamable_http", "url": http_url, "sse_read_timeout": 5}, STRICT_ARGS)
    first, again = out["calls"]
    assert first["task"]["status"] in ("queued", "running", "unknown") and first["task"]["task_id"].startswith("vg_")
    assert "refused" not in first and "refused" not in again
    assert again["task"]["task_id"] == first["task"]["task_id"]
