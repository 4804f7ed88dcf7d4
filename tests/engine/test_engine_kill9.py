"""`kill -9` of the real stdio MCP server (`python -m server`, raw JSON-RPC on stdin/stdout, real OrcaRouter adapter,
loopback fake gateway) mid-submit and mid-wait, then a restart: the task is known, never resubmitted, and finishes
through get_video_task."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fakes.engine_stubs import GATEWAY_KEY as KEY
from fakes.engine_stubs import server_env as env_for
from fakes.faults import HttpFault, HttpFaults
from fakes.gateways import Timeline, fake_for, serve_on_loopback
from fakes.postgres import ledger_env

pytestmark = pytest.mark.slow
MODEL = "orcarouter/kling/kling-v2-6"


class StdioServer:
    """One `python -m server` process spoken to over newline-delimited JSON-RPC."""

    def __init__(self, env: dict[str, str], cwd: Path, errlog: Path) -> None:
        self._err = errlog.open("a")
        self.proc = subprocess.Popen([sys.executable, "-m", "server"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err, env=env, cwd=cwd)
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._id = 0
        self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "kill9-test", "version": "1"}})
        self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _write(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def send(self, method: str, params: dict[str, Any]) -> int:
        self._id += 1
        self._write({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        return self._id

    def request(self, method: str, params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        wanted = self.send(method, params)
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._lines.get(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == wanted:
                assert "error" not in message, message
                return message["result"]

    def call(self, name: str, arguments: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        result = self.request("tools/call", {"name": name, "arguments": arguments}, timeout)
        assert not result.get("isError"), result
        return result["structuredContent"]

    def kill9(self) -> None:
        self.proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no clean-up runs either way
        self.proc.wait()  # reaped: its pid is really gone, as after a crash
        self._err.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()


def test_kill9_mid_wait_then_restart_completes_through_get_video_task(tmp_path, ledger_url):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=3.0))
    with serve_on_loopback(gw) as url:
        env = env_for(tmp_path / "home", url, VIDEOGEN_DOWNLOAD="1", **ledger_env(ledger_url))
        first = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        # 1.5 s: time for the submit to land even when the ledger is opened (a PostgreSQL schema made) first
        task = first.call("generate_video", {"model": MODEL, "prompt": "a heron", "duration": 5, "wait_seconds": 1.5})
        assert task["status"] in ("queued", "running"), task
        first.send("tools/call", {"name": "get_video_task", "arguments": {"task_id": task["task_id"],
                                                                         "wait_seconds": 30}})
        time.sleep(0.7)  # mid-wait, mid-poll
        first.kill9()
        second = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        try:
            done = second.call("get_video_task", {"task_id": task["task_id"], "wait_seconds": 20})
        finally:
            second.close()
    assert done["status"] == "succeeded", done
    assert done["upstream_task_id"] == task["upstream_task_id"] and Path(done["local_path"]).exists()
    assert gw.created == 1 and len(gw.submits) == 1
    assert KEY not in (tmp_path / "stderr.txt").read_text()


def test_kill9_mid_submit_is_known_after_restart_and_never_resubmitted(tmp_path, ledger_url):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.5))
    app = HttpFaults(gw)
    app.add("submit", HttpFault(None, stall=5.0))  # the gateway creates the job, then is slow to answer
    with serve_on_loopback(app) as url:
        env = env_for(tmp_path / "home", url, **ledger_env(ledger_url))
        first = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        task = first.call("generate_video", {"model": MODEL, "prompt": "an owl", "duration": 5, "wait_seconds": 0.5})
        assert task["status"] == "unknown" and task["error"]["code"] == "submitting"
        deadline = time.monotonic() + 10
        while not gw.tasks and time.monotonic() < deadline:  # a busy machine: the submit may still be on its way
            time.sleep(0.05)
        first.kill9()
        second = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        try:
            after = second.call("get_video_task", {"task_id": task["task_id"], "wait_seconds": 5})
            again = second.call("generate_video", {"model": MODEL, "prompt": "an owl", "duration": 5,
                                                   "wait_seconds": 0})
        finally:
            second.close()
    assert after["status"] == "unknown" and after["error"]["code"] == "submit_interrupted", after
    assert "NOT resubmitted" in after["error"]["message"]
    assert again["task_id"] == task["task_id"]  # the agent's retry is the same job (dedupe window), not a new charge
    assert gw.created == 1 and len(gw.submits) == 1
