"""Call overhead: `get_video_task` on a finished task (answered from the ledger), over stdio and streamable HTTP.

Baselines, measured in the same loop (calls alternate ours / bare / raw GET, so drift hits all alike):
  - a trivial tool's round trip on the bare server, same transport;
  - one raw HTTP GET of the fake gateway's task route (what a pass-through server pays on every status call).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.common import (
    BenchError,
    FakeGatewayProcess,
    HttpPeer,
    StdioPeer,
    bare_command,
    clean_env,
    describe,
    free_port,
    median,
    ours_command,
    stop,
    wait_port,
)
from benchmarks.report import Row, ms

LEDGER_TARGET = 1.5  # x a trivial tool's round trip
OVERHEAD_TARGET = 1.2  # x (trivial round trip + one raw GET)


def ours_env(home: Path) -> dict[str, str]:
    return clean_env(home, VIDEOGEN_SANDBOX_SECONDS="0.2", VIDEOGEN_POLL_MIN_INTERVAL="0.05",
                     VIDEOGEN_POLL_MAX_INTERVAL="0.2", VIDEOGEN_DOWNLOAD="0")


def finished_task(call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> str:
    """Make one sandbox task and wait until it succeeded; its later reads come from the ledger."""
    result = call("generate_video", {"model": "sandbox/kling-sim", "prompt": "benchmark: a kite over a beach",
                                     "wait_seconds": 30, "download": False})
    task = result.get("structuredContent") or {}
    task_id = task.get("task_id")
    deadline = time.monotonic() + 30
    while task.get("status") != "succeeded":
        if not task_id or time.monotonic() > deadline:
            raise BenchError(f"the sandbox task did not succeed: {result}")
        result = call("get_video_task", {"task_id": task_id, "wait_seconds": 10})
        task = result.get("structuredContent") or {}
    return task_id


def measure(ours: Callable[[], Any], bare: Callable[[], Any], raw: Callable[[], Any], n: int,
            warmup: int = 30) -> dict[str, list[float]]:
    for _ in range(warmup):
        ours(), bare(), raw()
    out: dict[str, list[float]] = {"ours": [], "bare": [], "raw": []}
    fns = {"ours": ours, "bare": bare, "raw": raw}
    order = list(fns)
    for i in range(n):
        for name in order[i % 3:] + order[: i % 3]:
            t0 = time.perf_counter()
            fns[name]()
            out[name].append(time.perf_counter() - t0)
    return out


def check_ledger_answer(result: dict[str, Any]) -> None:
    task = result.get("structuredContent") or {}
    if result.get("isError") or task.get("status") != "succeeded":
        raise BenchError(f"get_video_task did not answer a finished task: {result}")


def run(n: int, log: Any = print) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="videogen-bench-calls-"))
    rows: list[Row] = []
    detail: dict[str, Any] = {}
    with FakeGatewayProcess() as gw, httpx2.Client(timeout=30) as http:
        job = http.post(gw.base_url + "/v1/video/generations", json={"model": "m", "prompt": "[bench d=0 p=1]"})
        poll_url = f"{gw.base_url}/v1/video/generations/{job.json()['task_id']}"

        def raw_get() -> None:
            http.get(poll_url).raise_for_status()

        # ---- stdio ----
        ours = StdioPeer(ours_command(), ours_env(work / "stdio"))
        bare = StdioPeer(bare_command(), clean_env(work / "bare"))
        try:
            ours.handshake()
            bare.handshake()
            task_id = finished_task(lambda name, args: ours.request("tools/call", {"name": name, "arguments": args}))
            check_ledger_answer(ours.request("tools/call", {"name": "get_video_task", "arguments": {"task_id": task_id}}))
            samples = measure(
                lambda: ours.request("tools/call", {"name": "get_video_task", "arguments": {"task_id": task_id}}),
                lambda: bare.request("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
                raw_get, n)
        finally:
            ours.close()
            bare.close()
        rows += _rows("stdio", samples, n)
        detail["stdio"] = {k: describe(v) for k, v in samples.items()}
        log(f"  call overhead: stdio done ({n} calls each)")

        # ---- streamable HTTP ----
        p_ours, p_bare = free_port(), free_port()
        procs = [
            _spawn(ours_command("serve", "--http", "--host", "127.0.0.1", "--port", str(p_ours)), ours_env(work / "http")),
            _spawn(bare_command("http", str(p_bare)), clean_env(work / "bare-http")),
        ]
        try:
            wait_port(p_ours, procs[0])
            wait_port(p_bare, procs[1])
            ours_h, bare_h = HttpPeer(p_ours), HttpPeer(p_bare)
            try:
                ours_h.handshake()
                bare_h.handshake()
                task_id = finished_task(lambda name, args: ours_h.request("tools/call",
                                                                          {"name": name, "arguments": args}))
                check_ledger_answer(ours_h.request("tools/call", {"name": "get_video_task",
                                                                  "arguments": {"task_id": task_id}}))
                samples = measure(
                    lambda: ours_h.request("tools/call", {"name": "get_video_task", "arguments": {"task_id": task_id}}),
                    lambda: bare_h.request("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
                    raw_get, n)
            finally:
                ours_h.close()
                bare_h.close()
        finally:
            for proc in procs:
                stop(proc)
        rows += _rows("streamable HTTP", samples, n)
        detail["http"] = {k: describe(v) for k, v in samples.items()}
        log(f"  call overhead: HTTP done ({n} calls each)")
    return rows, detail


def _spawn(argv: list[str], env: dict[str, str]):
    import subprocess

    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _rows(transport: str, s: dict[str, list[float]], n: int) -> list[Row]:
    ours, bare, raw = median(s["ours"]), median(s["bare"]), median(s["raw"])
    base = bare + raw
    return [
        Row("Call overhead", f"get_video_task from the ledger vs a trivial tool, {transport}", ours, ms(ours, 2),
            bare, f"bare trivial tool {ms(bare, 2)}", f"<= {LEDGER_TARGET}x", ours <= LEDGER_TARGET * bare,
            note=f"median of {n}"),
        Row("Call overhead", f"Call overhead: get_video_task vs trivial tool + raw GET, {transport}", ours,
            ms(ours, 2), base, f"{ms(bare, 2)} + GET {ms(raw, 2)} = {ms(base, 2)}", f"<= {OVERHEAD_TARGET}x",
            ours <= OVERHEAD_TARGET * base, note=f"median of {n}"),
    ]
