"""Cold start (spawn -> initialize -> tools/list over stdio), peak RSS, tools/list size, and an import-time profile.

Ours is started the way clients start it (the `videogen-mcp` console script, see mcp.json); the baseline is
benchmarks/bare_server.py started the same way (a Python script on stdio). Runs alternate ours/bare so drift on the
machine affects both alike.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import (
    FakeGatewayProcess,
    StdioPeer,
    all_gateways_env,
    bare_command,
    clean_env,
    describe,
    median,
    ours_command,
    proc_status,
)
from benchmarks.report import Row, mib, ms

COLD_TARGET = 1.1
RSS_TARGET = 75 * 2**20
SCHEMA_TARGET = 6000  # bytes ("6 KB")


def one_start(argv: list[str], env: dict[str, str], stderr: Any = None, graceful: bool = False) -> dict[str, Any]:
    peer = StdioPeer(argv, env, stderr=stderr)
    try:
        peer.handshake()
        t_init = time.perf_counter() - peer.spawned
        result = peer.request("tools/list")
        t_list = time.perf_counter() - peer.spawned
        raw = peer.last_raw
        mem = proc_status(peer.proc.pid)
    finally:
        if graceful:
            peer.close()
        else:  # the measurement is over; SIGKILL saves ~0.3 s of interpreter shutdown per run (both servers alike)
            peer.proc.kill()
            peer.proc.wait()
            peer.close()
    return {"init": t_init, "list": t_list, "hwm": mem["VmHWM"], "rss": mem["VmRSS"], "result": result,
            "line_bytes": len(raw)}


def result_bytes(result: dict[str, Any]) -> int:
    """The tools/list result as compact JSON (what a client keeps and feeds to the model), in UTF-8 bytes."""
    return len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode())


def tool_breakdown(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for tool in result.get("tools", []):
        parts = {k: result_bytes(v) if isinstance(v, (dict, list)) else len(json.dumps(v, ensure_ascii=False))
                 for k, v in tool.items()}
        parts["total"] = result_bytes(tool)
        out[tool["name"]] = parts
    return out


def import_profile(argv: list[str], env: dict[str, str], workdir: Path, runs: int = 3) -> dict[str, tuple[int, int]]:
    """{module: (self us, cumulative us)}, medians over `runs` starts under -X importtime (up to tools/list)."""
    seen: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for _ in range(runs):
        log = workdir / f"importtime-{time.monotonic_ns()}.txt"
        with log.open("w") as err:
            one_start(argv, {**env, "PYTHONPROFILEIMPORTTIME": "1"}, stderr=err, graceful=True)
        for line in log.read_text().splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            try:
                self_us, cum_us, name = line[len("import time:"):].split("|")
                seen[name.strip()].append((int(self_us), int(cum_us)))
            except ValueError:
                continue
    return {m: (int(median([v[0] for v in vals])), int(median([v[1] for v in vals]))) for m, vals in seen.items()}


def start_phases(env: dict[str, str], runs: int = 5) -> dict[str, Any]:
    """Median wall time of each step of our start path (benchmarks.startup_phases), over `runs` fresh processes."""
    import subprocess
    import sys

    from benchmarks.common import ROOT

    seen: dict[str, list[float]] = defaultdict(list)
    order: list[str] = []
    error = None
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-m", "benchmarks.startup_phases"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        try:
            data = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": out.stderr[-1000:]}
        error = data.get("error") or error
        for name, value in data["phases"] + data.get("reference", []):
            if name not in seen:
                order.append(name)
            seen[name].append(value)
    return {"ms": {name: round(median(seen[name]), 1) for name in order}, "error": error}


def extra_imports(ours: dict[str, tuple[int, int]], bare: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """What our start imports that the bare server's does not: self time grouped by top-level package."""
    extra = {m: v for m, v in ours.items() if m not in bare}
    by_pkg: dict[str, int] = defaultdict(int)
    for name, (self_us, _) in extra.items():
        by_pkg[name.split(".")[0]] += self_us
    ours_modules = {m: v for m, v in ours.items() if m.split(".")[0] in ("server", "providers")}
    return {
        "extra_modules": len(extra),
        "extra_self_ms": sum(v[0] for v in extra.values()) / 1000,
        "ours_total_self_ms": sum(v[0] for v in ours.values()) / 1000,
        "bare_total_self_ms": sum(v[0] for v in bare.values()) / 1000,
        "by_package_ms": {k: round(v / 1000, 1) for k, v in sorted(by_pkg.items(), key=lambda kv: -kv[1])},
        "our_modules_cumulative_ms": {m: round(v[1] / 1000, 1)
                                      for m, v in sorted(ours_modules.items(), key=lambda kv: -kv[1][1])},
        "our_modules_self_ms": {m: round(v[0] / 1000, 1)
                                for m, v in sorted(ours_modules.items(), key=lambda kv: -kv[1][0])},
        "extra_third_party_modules_self_ms": {
            m: round(v[0] / 1000, 1) for m, v in sorted(extra.items(), key=lambda kv: -kv[1][0])
            if m.split(".")[0] not in ("server", "providers")},
    }


def run(runs: int, log: Any = print) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="videogen-bench-start-"))
    rows: list[Row] = []
    detail: dict[str, Any] = {}
    with FakeGatewayProcess() as gw:
        configs = {
            "bare": (bare_command(), clean_env(work / "bare")),
            "sandbox": (ours_command(), clean_env(work / "sandbox")),
            "all5": (ours_command(), clean_env(work / "all5", **all_gateways_env(gw.base_url))),
        }
        for argv, env in configs.values():  # warm-up: byte-code caches, the ledger file, the page cache
            one_start(argv, env, graceful=True)
            one_start(argv, env)
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in configs}
        order = list(configs)
        for i in range(runs):
            for name in order[i % 3:] + order[: i % 3]:  # rotate who goes first
                argv, env = configs[name]
                samples[name].append(one_start(argv, env))
        log(f"  cold start: {runs} runs each done")
        gateway_requests = sum(gw.stats()["requests"].values())

        profiles = {name: import_profile(argv, env, work) for name, (argv, env) in configs.items()}
        phases = {name: start_phases(env) for name, (_, env) in configs.items() if name != "bare"}

    bare_list = median([s["list"] for s in samples["bare"]])
    bare_hwm = max(s["hwm"] for s in samples["bare"])
    for name, label in (("sandbox", "sandbox only (no key)"), ("all5", "all five gateways")):
        list_med = median([s["list"] for s in samples[name]])
        hwm = max(s["hwm"] for s in samples[name])
        rows.append(Row("Cold start", f"Cold start, stdio, spawn -> tools/list, {label}", list_med, ms(list_med),
                        bare_list, f"bare server {ms(bare_list)}", f"<= {COLD_TARGET}x bare",
                        list_med <= COLD_TARGET * bare_list, note=f"median of {runs}"))
        rows.append(Row("Cold start", f"Peak RSS after tools/list, {label}", hwm, mib(hwm), bare_hwm,
                        f"bare server {mib(bare_hwm)}", "<= 75 MiB", hwm <= RSS_TARGET, note="VmHWM, max of runs"))
    all5 = samples["all5"][-1]["result"]
    sandbox = samples["sandbox"][-1]["result"]
    size, size_sandbox = result_bytes(all5), result_bytes(sandbox)
    rows.append(Row("Schema size", "tools/list result size, all five gateways active", size, f"{size:,} B",
                    size_sandbox, f"sandbox only {size_sandbox:,} B", "<= 6,000 B (peers: 11-20 KB)",
                    size <= SCHEMA_TARGET, note="compact JSON, UTF-8"))
    detail["cold_start"] = {name: {"list": describe([s["list"] for s in v]), "init": describe([s["init"] for s in v]),
                                   "hwm_max": max(s["hwm"] for s in v), "hwm_median": median([s["hwm"] for s in v])}
                            for name, v in samples.items()}
    detail["gateway_requests_during_starts"] = gateway_requests
    detail["schema"] = {"all5_bytes": size, "sandbox_bytes": size_sandbox,
                        "all5_line_bytes": samples["all5"][-1]["line_bytes"],
                        "all5_breakdown": tool_breakdown(all5), "model_ids": len(_model_enum(all5))}
    detail["imports"] = {name: extra_imports(profiles[name], profiles["bare"]) for name in ("sandbox", "all5")}
    detail["phases"] = phases
    return rows, detail


def _model_enum(result: dict[str, Any]) -> list[str]:
    for tool in result.get("tools", []):
        if tool["name"] == "generate_video":
            return tool.get("inputSchema", {}).get("properties", {}).get("model", {}).get("enum", [])
    return []
