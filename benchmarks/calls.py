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

        def session(ours: Any, bare: Any) -> dict[str, list[float]]:
            ours.handshake()
            bare.handshake()
            task_id = finished_task(lambda name, args: ours.request("tools/call", {"name": name, "arguments": args}))
            get_task = {"name": "get_video_task", "arguments": {"task_id": task_id}}
            check_ledger_answer(ours.request("tools/call", get_task))
            echo = {"name": "echo", "arguments": {"text": "x"}}
            return measure(lambda: ours.request("tools/call", get_task), lambda: bare.request("tools/call", echo),
                           raw_get, n)

        # ---- stdio ----
        ours = StdioPeer(ours_command(), ours_env(work / "stdio"))
        bare = StdioPeer(bare_command(), clean_env(work / "bare"))
        try:
            samples = session(ours, bare)
        finally:
            ours.close()
            bare.close()
        rows += _rows("stdio", samples, n)
        detail["stdio"] = {k: describe(v) for k, v in samples.items()}
        log(f"  call overhead: stdio done ({n} calls each)")

        # ---- streamable HTTP ----
        p_ours, p_bare = free_port(), free_port()
        serve = ours_command("serve", "--http", "--host", "127.0.0.1", "--port", str(p_ours))
        procs = [_spawn(serve, ours_env(work / "http")),
                 _spawn(bare_command("http", str(p_bare)), clean_env(work / "bare-http"))]
        try:
            wait_port(p_ours, procs[0])
            wait_port(p_bare, procs[1])
            ours_h, bare_h = HttpPeer(p_ours), HttpPeer(p_bare)
            try:
                samples = session(ours_h, bare_h)
            finally:
                ours_h.close()
                bare_h.close()
        finally:
            for proc in procs:
                stop(proc)
        rows += _rows("streamable HTTP", samples, n)
        detail["http"] = {k: describe(v) for k, v in samples.items()}
        log(f"  call overhead: HTTP done ({n} calls each)")
    detail["pieces_us"] = diagnose(log)
    return rows, detail


# ---- diagnosis: what get_video_task costs inside the server, piece by piece (in one process) ------------------------
def diagnose(log: Any = print) -> dict[str, float]:
    """Wall time per call of the pieces of a ledger-answered get_video_task (diagnostic: may fail harmlessly)."""
    import json
    import subprocess
    import sys

    from benchmarks.common import ROOT

    out = subprocess.run([sys.executable, "-m", "benchmarks.calls"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    if out.returncode != 0:
        log(f"  call overhead: diagnosis failed: {out.stderr[-1500:]}")
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _pieces() -> dict[str, float]:
    import json

    import anyio

    from providers.base import VideoRequest
    from server.surface import tools
    from server.app import open_runtime
    from server.settings import Settings

    class _Session:  # a handshake-era client with no progress token and no extensions
        client_capabilities = None
        client_params = None  # no clientInfo: tools.client_name reads it

        async def report_progress(self, *args: Any, **kwargs: Any) -> None:
            return None

    class _Ctx:
        session = _Session()
        request_id = 1
        protocol_version = "2025-11-25"
        meta = None
        request = None  # no HTTP request: the default principal

    async def per_call(fn: Any, n: int = 2000) -> float:
        for _ in range(100):
            await fn()
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()
        return round((time.perf_counter() - t0) / n * 1e6, 1)

    settings = Settings(_env_file=None, VIDEOGEN_HOME=tempfile.mkdtemp(prefix="videogen-bench-diag-"),
                        VIDEOGEN_SANDBOX_SECONDS=0.1, VIDEOGEN_POLL_MIN_INTERVAL=0.05, VIDEOGEN_POLL_MAX_INTERVAL=0.1,
                        VIDEOGEN_DOWNLOAD=False)
    out: dict[str, float] = {}
    async with open_runtime(settings, download_default=False) as rt:
        engine = await rt.engine()
        provider = rt.providers["sandbox"]
        started = await engine.start(provider, VideoRequest(model=provider.models()[0].name, prompt="diag"),
                                        download=False)
        task = await engine.wait(started.task.task_id, 30)
        tid, ctx = task.task_id, _Ctx()
        result = await tools.get_video_task(ctx, rt, {"task_id": tid})
        out["whole handler: server.surface.tools.get_video_task (in process)"] = await per_call(
            lambda: tools.get_video_task(ctx, rt, {"task_id": tid}))
        out["  Engine.get (a ledger read on a worker thread)"] = await per_call(lambda: engine.get(tid))
        out["  Engine.wait(timeout=0) on the finished task (reads the ledger again)"] = await per_call(
            lambda: engine.wait(tid, 0))
        out["  Ledger.get alone"] = await per_call(lambda: engine.ledger.get(tid))
        out["  one worker-thread hop (anyio.to_thread, no work)"] = await per_call(
            lambda: anyio.to_thread.run_sync(int))

        async def dump() -> None:
            json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))

        out["  the result to JSON (pydantic dump + json)"] = await per_call(dump)
        out["result size, bytes"] = len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True),
                                                   separators=(",", ":")))
    return out


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


if __name__ == "__main__":
    import json

    import anyio

    print(json.dumps(anyio.run(_pieces)))
