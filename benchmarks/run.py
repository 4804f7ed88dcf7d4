"""Run every benchmark, print the markdown table, write benchmarks/results/latest.{md,json} and benchmarks/RESULTS.md.

    python -m benchmarks            # everything, about 4-5 minutes on 2 cores
    python -m benchmarks --quick    # fewer repetitions, about 2 minutes (noisier)
    python -m benchmarks --only startup,calls --cold-runs 31

Every figure is measured next to its baseline in the same run; see each module's docstring for the method.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH
from benchmarks.report import Row, calls_md, render, scale_md, startup_md

SECTIONS = ("startup", "calls", "polling", "scale", "replicas", "poster")


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) * 1024
    except (OSError, StopIteration):
        pass

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "packages": {p: v(p) for p in ("videogen-mcp", "mcp", "httpx2", "pydantic", "anyio", "uvicorn")}}


def cpu_busy() -> float:
    """Seconds of CPU the whole machine spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions (about 2 minutes; noisier)")
    p.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    p.add_argument("--cold-runs", type=int, help="cold starts per server (default 31, quick 9)")
    p.add_argument("--calls", type=int, help="round trips per server and transport (default 1000, quick 300)")
    p.add_argument("--poll-scale", type=float, help="time acceleration for polling (default 0.2, quick 0.1)")
    p.add_argument("--poll-reps", type=int, help="jobs of ours per (way, length, progress) (default 30, quick 10)")
    p.add_argument("--scale-tasks", type=int, default=1000, help="tasks in flight (default 1000)")
    p.add_argument("--scale-seconds", type=float, help="mean job length for the scale run (default 30, quick 15)")
    p.add_argument("--replicas-seconds", type=float, help="load window per replicas run (default 30, quick 15)")
    p.add_argument("--replicas-sessions", type=int, default=200, help="concurrent sessions (default 200)")
    p.add_argument("--poster-reps", type=int, help="repetitions of the poster figures (default 21, quick 7)")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where latest.md/json go")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    q = args.quick
    args.cold_runs = args.cold_runs or (9 if q else 31)
    args.calls = args.calls or (300 if q else 1000)
    args.poll_scale = args.poll_scale or (0.1 if q else 0.2)
    args.poll_reps = args.poll_reps or (10 if q else 30)
    args.scale_seconds = args.scale_seconds or (15.0 if q else 30.0)
    args.replicas_seconds = args.replicas_seconds or (15.0 if q else 30.0)
    args.poster_reps = args.poster_reps or (7 if q else 21)
    args.sections = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    began = time.monotonic()
    started_at = datetime.now(UTC)
    busy0, own0 = cpu_busy(), own_cpu()
    rows: list[Row] = []
    detail: dict[str, Any] = {}
    extra_md: list[str] = []
    errors: dict[str, str] = {}

    def section(name: str, fn: Any) -> None:
        if name not in args.sections:
            return
        log(f"[{time.monotonic() - began:5.0f} s] {name} ...")
        t0 = time.monotonic()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            errors[name] = f"{type(exc).__name__}: {exc}"
            log(traceback.format_exc())
        detail.setdefault("section_seconds", {})[name] = round(time.monotonic() - t0, 1)

    def startup() -> None:
        from benchmarks import startup as m

        r, d = m.run(args.cold_runs, log=log)
        rows.extend(r)
        detail["startup"] = d
        extra_md.append(startup_md(d))

    def calls() -> None:
        from benchmarks import calls as m

        r, d = m.run(args.calls, log=log)
        rows.extend(r)
        detail["calls"] = d
        extra_md.append(calls_md(d))

    def polling() -> None:
        from benchmarks import polling as m

        r, d, md = m.run(args.poll_scale, args.poll_reps, log=log)
        rows.extend(r)
        detail["polling"] = {"summary": m.summary(d), "raw": d}
        extra_md.append("### Polling, every poller\n\nTime accelerated x"
                        f"{1 / args.poll_scale:g} (job lengths and poll intervals alike), figures scaled back "
                        "(the callback path's lag is real time). Ours: the real engine on the OrcaRouter adapter "
                        "(new-api protocol; apimodels for callbacks), default VIDEOGEN_POLL_MIN/MAX_INTERVAL "
                        f"({d['poll_min'] / args.poll_scale:g} / {d['poll_max'] / args.poll_scale:g} s). Job lengths "
                        f"are log-normal (sigma {d['sigma']:g}: 90 % within -28 % .. +39 % of the median), the same "
                        f"draws for every poller; history = {d['history']} earlier jobs of the same model in the "
                        "ledger. Lag = the waiting call returns minus the moment the fake's job finished. "
                        "Fixed-interval pollers (sleep, then poll: what peer servers do) are computed exactly on the "
                        "same job lengths.\n\n"
                        + md)

    def scale() -> None:
        from benchmarks import scale as m

        r, d = m.run(args.scale_tasks, args.scale_seconds, log=log)
        rows.extend(r)
        detail["scale"] = d
        extra_md.append(scale_md(d))

    def replicas() -> None:
        from benchmarks import replicas as m

        r, d = m.run(args.replicas_seconds, args.replicas_sessions, log=log)
        rows.extend(r)
        detail["replicas"] = d
        extra_md.append("### Replicas on one PostgreSQL\n\n" + m.table_md(d))
    def poster() -> None:
        from benchmarks import poster as m

        r, d = m.run(args.poster_reps, log=log)
        rows.extend(r)
        detail["poster"] = d
        extra_md.append(m.poster_md(d))

    section("startup", startup)
    section("calls", calls)
    section("polling", polling)
    section("scale", scale)
    section("replicas", replicas)
    section("poster", poster)

    elapsed = time.monotonic() - began
    info = machine()
    other = max(0.0, (cpu_busy() - busy0) - (own_cpu() - own0))
    info["other_load_cores"] = round(other / max(elapsed, 1e-9), 2)  # other processes' CPU, in cores, on average
    command = "python -m benchmarks" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    md = render(rows, extra_md, errors, info, elapsed, started_at, command.strip())
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(md)
    (args.out / "latest.json").write_text(json.dumps({
        "started_at": started_at.isoformat(), "seconds": elapsed, "command": command, "machine": info,
        "rows": [r.as_dict() for r in rows], "errors": errors, "detail": detail}, indent=1, default=str))
    if set(args.sections) == set(SECTIONS) and not args.quick:
        (BENCH / "RESULTS.md").write_text(md)
        log(f"written: {args.out / 'latest.md'}, {args.out / 'latest.json'}, {BENCH / 'RESULTS.md'}")
    else:
        log(f"written: {args.out / 'latest.md'}, {args.out / 'latest.json'} (RESULTS.md only for a full run)")
    missed = [r for r in rows if r.passed is False]
    log(f"done in {elapsed:.0f} s: {sum(1 for r in rows if r.passed)} targets met, {len(missed)} missed"
        + (f", {len(errors)} section(s) failed" if errors else ""))
    return 1 if errors or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
