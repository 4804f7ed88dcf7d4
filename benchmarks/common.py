"""Shared helpers: raw JSON-RPC over a subprocess's pipes, process memory/CPU from /proc, statistics, environments."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
BARE_SERVER = BENCH / "bare_server.py"
PROTOCOL = "2025-11-25"  # the legacy handshake (initialize / notifications/initialized) most clients still speak
GATEWAY_PREFIXES = ("ORCAROUTER", "OMNIROUTERS", "OCTOPUSX", "APIMODELS", "INFINITYBLUE")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    pass


# ---- environments and commands -------------------------------------------------------------------------------
def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any videogen setting or gateway key, plus `extra`."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("VIDEOGEN_") and not any(k.startswith(p + "_") for p in GATEWAY_PREFIXES)
    }
    # Byte-code caches allowed, as in any installed package: from a checkout (editable install), our modules would
    # otherwise be compiled on every start while the mcp SDK's come precompiled from site-packages.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(VIDEOGEN_HOME=str(home), VIDEOGEN_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def all_gateways_env(base_url: str) -> dict[str, str]:
    """All five gateways active: a dummy key each, every base URL on loopback."""
    out: dict[str, str] = {}
    for prefix in GATEWAY_PREFIXES:
        out[f"{prefix}_API_KEY"] = f"sk-bench-{prefix.lower()}-0000"
        out[f"{prefix}_BASE_URL"] = base_url
    return out


def ours_command(*args: str) -> list[str]:
    """How clients start us (mcp.json: `videogen-mcp`): the installed console script, else `python -m server`."""
    script = Path(sys.executable).parent / "videogen-mcp"
    if not script.exists():
        found = shutil.which("videogen-mcp")
        script = Path(found) if found else None  # type: ignore[assignment]
    if script is not None and script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "server", *args]


def bare_command(*args: str) -> list[str]:
    return [sys.executable, str(BARE_SERVER), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise BenchError(f"process exited with {proc.returncode} before listening on {port}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"nothing listening on port {port} after {timeout} s")
            time.sleep(0.02)


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """End a process we started (by its own handle only)."""
    if proc.poll() is not None:
        return
    try:
        if proc.stdin:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=1.0)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- /proc ---------------------------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in bytes."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (threads included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---- raw JSON-RPC over stdio -----------------------------------------------------------------------------------
class StdioPeer:
    """A server subprocess spoken to in newline-delimited JSON-RPC, with timing under our control."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None, stderr: Any = None) -> None:
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr if stderr is not None else subprocess.DEVNULL, bufsize=0)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self._buf = b""
        self._next_id = 0
        self.last_raw = b""
        self.answers: dict[int, tuple[float, dict[str, Any], bytes]] = {}

    def send(self, message: dict[str, Any]) -> None:
        self.proc.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def send_request(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Send a request without waiting for its answer (see `pump` / `wait_for`); returns its id."""
        self._next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self._next_id

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        return self.response(self.send_request(method, params), timeout)

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def response(self, rid: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while rid not in self.answers:
            self._store(self._line(deadline))
        _, msg, self.last_raw = self.answers.pop(rid)
        if "error" in msg:
            raise BenchError(f"JSON-RPC error: {msg['error']}")
        return msg["result"]

    def _store(self, line: bytes) -> None:
        msg = json.loads(line)
        if "id" in msg and ("result" in msg or "error" in msg):
            self.answers[msg["id"]] = (time.perf_counter(), msg, line)
        # notifications (progress, logs) are skipped

    def pump(self, timeout: float = 0.0) -> None:
        """Read every answer that arrives within `timeout` s into `answers` (id -> (perf_counter, message, raw))."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._store(self._line(deadline))
            except BenchError as exc:
                if "timed out" in str(exc):
                    return
                raise

    def _line(self, deadline: float) -> bytes:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if not self._sel.select(max(0.0, left)):
                if left <= 0:
                    raise BenchError("timed out waiting for the server")
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise BenchError(f"server closed stdout (exit code {self.proc.poll()})")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def handshake(self) -> dict[str, Any]:
        result = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                             "clientInfo": {"name": "videogen-bench", "version": "1"}})
        self.notify("notifications/initialized")
        return result

    def close(self) -> None:
        self._sel.close()
        stop(self.proc)


# ---- statistics ----------------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def describe(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": median(values), "p10": percentile(values, 0.1),
            "p90": percentile(values, 0.9), "min": min(values) if values else float("nan"),
            "max": max(values) if values else float("nan")}


# ---- the fake gateway in its own process ------------------------------------------------------------------------
class FakeGatewayProcess:
    """benchmarks.fakegw on a loopback port, in a subprocess (its CPU is not ours)."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.fakegw", "--seconds", str(seconds)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            stop(self.proc)
            raise BenchError(f"fake gateway did not start: {line!r} {self.proc.stderr.read().decode()[-2000:]}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.base_url + "/_stats", timeout=30) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(self.base_url + "/_reset", method="POST", data=b""),
                               timeout=30).read()

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> FakeGatewayProcess:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- raw JSON-RPC over streamable HTTP (the 2025-11-25 handshake, a session, SSE answers) ---------------------------
class HttpPeer:
    """One MCP session over streamable HTTP at /mcp, spoken in raw JSON-RPC with a keep-alive client."""

    def __init__(self, port: int) -> None:
        import httpx2

        self.url = f"http://127.0.0.1:{port}/mcp"
        self.client = httpx2.Client(timeout=60.0)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        self._next_id = 0

    def _post(self, message: dict[str, Any]) -> Any:
        r = self.client.post(self.url, content=json.dumps(message, separators=(",", ":")), headers=self.headers)
        if r.status_code >= 400:
            raise BenchError(f"HTTP {r.status_code}: {r.text[:500]}")
        return r

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        rid = self._next_id
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        r = self._post(msg)
        if method == "initialize":
            sid = r.headers.get("mcp-session-id")
            if sid:
                self.headers["Mcp-Session-Id"] = sid
        for payload in _messages(r):
            if payload.get("id") == rid:
                if "error" in payload:
                    raise BenchError(f"JSON-RPC error: {payload['error']}")
                return payload["result"]
        raise BenchError(f"no answer to {method}: {r.text[:500]}")

    def notify(self, method: str) -> None:
        self._post({"jsonrpc": "2.0", "method": method})

    def handshake(self) -> dict[str, Any]:
        result = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                             "clientInfo": {"name": "videogen-bench", "version": "1"}})
        self.headers["MCP-Protocol-Version"] = result.get("protocolVersion", PROTOCOL)
        self.notify("notifications/initialized")
        return result

    def close(self) -> None:
        try:
            if "Mcp-Session-Id" in self.headers:
                self.client.delete(self.url, headers=self.headers)
        except Exception:  # noqa: BLE001, S110 - best effort: the server is stopped next anyway
            pass
        self.client.close()


def _messages(response: Any) -> list[dict[str, Any]]:
    ctype = response.headers.get("content-type", "")
    if "text/event-stream" in ctype:
        out = []
        for line in response.text.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data:
                    out.append(json.loads(data))
        return out
    body = response.json()
    return body if isinstance(body, list) else [body]
