"""A real `videogen-mcp serve --http` in a subprocess on a free loopback port, for tests that need the installed
server over the network: `with http_server(env) as origin: ...` (origin is "http://127.0.0.1:PORT")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "videogen-mcp"
# A sandbox job of 1 s, polled every 0.05-0.2 s: what most subprocess tests want.
FAST = {"VIDEOGEN_SANDBOX_SECONDS": "1", "VIDEOGEN_POLL_MIN_INTERVAL": "0.05", "VIDEOGEN_POLL_MAX_INTERVAL": "0.2"}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any gateway key or VIDEOGEN_ setting, on its own home, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("VIDEOGEN_")}
    env.update(VIDEOGEN_HOME=str(home), **extra)
    return env


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """clean_env with FAST jobs and polls (extra wins)."""
    return clean_env(home, **{**FAST, **extra})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(env: dict[str, str], *, start_timeout: float = 20.0, args: tuple[str, ...] = (),
                port: int | None = None) -> Iterator[str]:
    """Start it (`args`: more serve flags, e.g. --stateless; `port`: a chosen one, else a free one), wait until its
    port accepts connections (failing with its stderr if it died), stop it after."""
    with http_process(env, start_timeout=start_timeout, args=args, port=port) as (origin, _):
        yield origin


@contextmanager
def http_process(env: dict[str, str], *, start_timeout: float = 20.0, args: tuple[str, ...] = (),
                 port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """http_server, also yielding the process (to kill it mid-job)."""
    port = port or free_port()
    proc = subprocess.Popen([str(SCRIPT), "serve", "--http", "--port", str(port), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)
