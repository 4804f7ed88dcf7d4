"""The stdio server and its client's pipes: closing stdin (how a client says goodbye, on every platform) ends the
server at once with exit 0, even with a paid job in flight (the job stays in the ledger for the next start)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakes.served import clean_env

pytestmark = pytest.mark.slow
SCRIPT = Path(sys.executable).parent / ("videogen-mcp.exe" if sys.platform == "win32" else "videogen-mcp")


def start(home: Path) -> subprocess.Popen[bytes]:
    env = clean_env(home, VIDEOGEN_SANDBOX_SECONDS="30")  # the job is still running at the close
    return subprocess.Popen([str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)


def send(proc: subprocess.Popen[bytes], message: dict) -> None:
    proc.stdin.write((json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode())
    proc.stdin.flush()


def test_closing_stdin_ends_the_server_promptly_with_exit_0(tmp_path):
    proc = _started_with_a_job_in_flight(tmp_path)
    try:
        closed = time.monotonic()
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
        elapsed = time.monotonic() - closed
        stderr = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert elapsed < 5, f"{elapsed:.1f} s from closing stdin to exit"
    assert "Traceback" not in stderr, stderr
    assert (tmp_path / "tasks.sqlite3").exists()  # the in-flight job was recorded before the answer


def _started_with_a_job_in_flight(home: Path) -> subprocess.Popen[bytes]:
    proc = start(home)
    send(proc, {"id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert json.loads(proc.stdout.readline())["id"] == 1
    send(proc, {"method": "notifications/initialized"})
    send(proc, {"id": 2, "method": "tools/call", "params": {"name": "generate_video", "arguments": {
        "model": "sandbox/kling-sim", "prompt": "a kite", "wait_seconds": 0}}})
    answer = json.loads(proc.stdout.readline())
    assert answer["id"] == 2 and not answer["result"].get("isError"), answer
    return proc


def _ended(proc: subprocess.Popen[bytes]) -> tuple[int, float, str]:
    began = time.monotonic()
    try:
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, time.monotonic() - began, proc.stderr.read().decode()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is a POSIX signal")
def test_one_ctrl_c_ends_the_server_with_stdin_still_open(tmp_path):
    import signal

    proc = _started_with_a_job_in_flight(tmp_path)
    proc.send_signal(signal.SIGINT)  # once; stdin stays open, as in a terminal
    code, elapsed, stderr = _ended(proc)
    proc.stdin.close()
    proc.stdout.close()
    proc.stderr.close()
    assert code in (0, 130) and elapsed < 5, (code, elapsed, stderr)
    assert "Traceback" not in stderr, stderr


def test_a_client_that_closes_our_stdout_ends_the_server_with_exit_0(tmp_path):
    proc = _started_with_a_job_in_flight(tmp_path)
    proc.stdout.close()  # stdin stays open: the next write (this answer) finds no reader
    send(proc, {"id": 3, "method": "tools/list"})
    code, elapsed, stderr = _ended(proc)
    proc.stdin.close()
    proc.stderr.close()
    assert code == 0 and elapsed < 5, (code, elapsed, stderr)
    assert "Traceback" not in stderr, stderr
    assert (tmp_path / "tasks.sqlite3").exists()  # the job in flight stays in the ledger
