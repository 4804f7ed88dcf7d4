"""Replicas: the same load on one SQLite server process, on one replica and on four replicas of `serve --http
--stateless` sharing one PostgreSQL ledger, and on four replicas with one killed (SIGKILL) half-way.

PostgreSQL is a private server (tests/fakes/postgres.py, fsync on), the gateway the shared fake (fakegw.py, InfinityBlue
adapter), everything on loopback. The load: SESSIONS concurrent client sessions, each looping for the run's window:
generate_video (wait_seconds 0, an idempotency key per job) -> get_video_task (wait_seconds 20) until the job ends ->
one get_video_task (wait_seconds 0). Every request goes to the next live replica in turn, as a load balancer without
sticky sessions would send it; a request a dead replica did not answer is sent again to the next one (the same key:
never a second job). Reported: jobs finished per second, p50/p99 of the two non-waiting calls, upstream polls per
job (fake's count), duplicates (gateway jobs beyond one per key) and lost jobs (a job a client started that never
ended `succeeded`, nor was honestly reported `unknown` because its replica died mid-submit).

    python -m benchmarks.replicas [--seconds 30] [--sessions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PROTOCOL, ROOT, BenchError, FakeGatewayProcess, _messages, clean_env, free_port, ours_command, percentile, stop,
    wait_port,
)
from benchmarks.report import Row

sys.path.insert(0, str(ROOT / "tests"))  # the private PostgreSQL server lives with the test fakes
from fakes.postgres import PgServer  # noqa: E402

SESSIONS = 200
JOB_SECONDS = 4.0
WAIT = 20.0


class Replica:
    def __init__(self, home: Path, gateway: str, database_url: str | None) -> None:
        self.port = free_port()
        extra = {"VIDEOGEN_DATABASE_URL": database_url} if database_url else {}
        env = clean_env(home, INFINITYBLUE_API_KEY="sk-bench-0000", INFINITYBLUE_BASE_URL=gateway,
                        VIDEOGEN_SANDBOX="0", VIDEOGEN_DOWNLOAD="0", VIDEOGEN_DEDUPE_WINDOW="0", **extra)
        self.err = (home.parent / f"{home.name}.stderr").open("w")
        self.proc = subprocess.Popen(ours_command("serve", "--http", "--stateless", "--port", str(self.port)),
                                     env=env, stdout=subprocess.DEVNULL, stderr=self.err, cwd=ROOT)
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.alive = True

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.alive = False

    def close(self) -> None:
        if self.alive:
            stop(self.proc)
        self.err.close()


class Balancer:
    """Round robin over live replicas; a replica that refuses or drops a request is out for good (health check)."""

    def __init__(self, replicas: list[Replica], client: Any) -> None:
        self.replicas, self.client = replicas, client
        self._turn = itertools.count()
        self._ids = itertools.count(1)

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        import httpx2

        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": "tools/call",
                           "params": {"name": tool, "arguments": arguments}})
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                   "MCP-Protocol-Version": PROTOCOL}
        for _ in range(2 * len(self.replicas)):
            live = [r for r in self.replicas if r.alive]
            if not live:
                break
            replica = live[next(self._turn) % len(live)]
            try:
                response = await self.client.post(replica.url, content=body, headers=headers)
            except httpx2.TransportError:
                if replica.proc.poll() is not None:
                    replica.alive = False
                continue
            if response.status_code >= 500:
                continue
            for message in _messages(response):
                if "result" in message:
                    result = message["result"]
                    if result.get("isError"):
                        raise BenchError(f"{tool}: {result['content'][0]['text'][:300]}")
                    return result["structuredContent"]
            raise BenchError(f"{tool}: no result in {response.text[:300]}")
        raise BenchError(f"{tool}: no replica answered")


def model_id() -> str:
    from providers import catalogs

    return "infinityblue/" + catalogs.load("infinityblue")[0].name


async def _load(balancer: Balancer, window: float, sessions: int, run: str, kill_at: float | None,
                on_kill: Any) -> dict[str, Any]:
    model = model_id()
    started_at = time.monotonic()
    stop_at = started_at + window
    generate_lat: list[float] = []
    read_lat: list[float] = []
    jobs: dict[str, dict[str, Any]] = {}  # key -> what the client saw
    errors: Counter[str] = Counter()

    async def session(i: int) -> None:
        await asyncio.sleep(i * 0.005)  # a ramp of one second, not one burst
        for j in itertools.count():
            if time.monotonic() >= stop_at:
                return
            key = f"{run}-s{i}-j{j}"
            job: dict[str, Any] = {"status": None}
            jobs[key] = job
            try:
                t0 = time.perf_counter()
                task = await balancer.call("generate_video", {
                    "model": model, "prompt": f"[bench d={JOB_SECONDS} p=1] {key}", "idempotency_key": key,
                    "wait_seconds": 0})
                generate_lat.append(time.perf_counter() - t0)
                job.update(task_id=task["task_id"], status=task["status"])
                while task["status"] in ("queued", "running") or (
                        task["status"] == "unknown" and (task.get("error") or {}).get("code") == "submitting"):
                    task = await balancer.call("get_video_task", {"task_id": task["task_id"], "wait_seconds": WAIT})
                t0 = time.perf_counter()
                task = await balancer.call("get_video_task", {"task_id": task["task_id"], "wait_seconds": 0})
                read_lat.append(time.perf_counter() - t0)
                job.update(status=task["status"], error=(task.get("error") or {}).get("code"), done=time.monotonic())
            except BenchError as exc:
                errors[str(exc)[:120]] += 1
                job["status"] = "error"

    async def killer() -> None:
        if kill_at is None:
            return
        await asyncio.sleep(kill_at)
        on_kill()

    await asyncio.gather(killer(), *(session(i) for i in range(sessions)))
    ended = [j for j in jobs.values() if j.get("done")]
    last = max((j["done"] for j in ended), default=stop_at)
    succeeded = sum(j["status"] == "succeeded" for j in jobs.values())
    return {"jobs": jobs, "generate": generate_lat, "read": read_lat, "errors": dict(errors), "window": window,
            "throughput": succeeded / (last - started_at)}


def one_config(name: str, replicas: int, database_url: str | None, gw: FakeGatewayProcess, work: Path, window: float,
               sessions: int, kill: bool, log: Any) -> dict[str, Any]:
    import httpx2

    gw.reset()
    servers = [Replica(work / f"{name}-{i}", gw.base_url, database_url) for i in range(replicas)]
    killed: dict[str, Any] = {}
    try:
        for r in servers:
            wait_port(r.port, r.proc, timeout=60)

        def on_kill() -> None:
            victim = servers[1]
            if database_url:  # the tasks it held at that moment: they must be finished by the others
                import psycopg

                with psycopg.connect(database_url, autocommit=True) as conn:
                    held = conn.execute("SELECT task_id FROM tasks WHERE lease_owner LIKE %s",
                                        (f"%:{victim.proc.pid}:%",)).fetchall()
                killed["held"] = [h[0] for h in held]
            victim.kill()
            killed["at"] = time.monotonic()
            log(f"  killed replica {victim.proc.pid} holding {len(killed.get('held', []))} tasks")

        async def go() -> dict[str, Any]:
            limits = httpx2.Limits(max_connections=sessions * 2, max_keepalive_connections=sessions * 2)
            async with httpx2.AsyncClient(timeout=WAIT + 60, limits=limits) as client:
                return await _load(Balancer(servers, client), window, sessions, name,
                                   window / 2 if kill else None, on_kill)

        log(f"  {name}: {replicas} replica(s), {sessions} sessions, {window:g} s")
        out = asyncio.run(go())
    finally:
        for r in servers:
            r.close()
    stats = gw.stats()["tasks"]
    per_label = Counter(t["label"] for t in stats.values())
    jobs = out.pop("jobs")
    statuses = Counter(j["status"] for j in jobs.values())
    interrupted = sum(j["status"] == "unknown" and j.get("error") == "submit_interrupted" for j in jobs.values())
    held = set(killed.get("held", []))
    finished_held = sum(1 for j in jobs.values() if j.get("task_id") in held and j["status"] == "succeeded")
    return {**out, "name": name, "replicas": replicas, "backend": "postgresql" if database_url else "sqlite",
            "jobs": len(jobs), "statuses": dict(statuses), "gateway_jobs": len(stats),
            "duplicates": sum(n - 1 for n in per_label.values() if n > 1), "interrupted": interrupted,
            "lost": len(jobs) - statuses.get("succeeded", 0) - interrupted,
            "polls_per_job": sum(len(t["polls"]) for t in stats.values()) / max(1, len(stats)),
            "killed_held": len(held), "killed_held_finished": finished_held}


def run(window: float = 30.0, sessions: int = SESSIONS, log: Any = print) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="videogen-bench-replicas-"))
    results: list[dict[str, Any]] = []
    with FakeGatewayProcess() as gw, PgServer.start(durable=True) as pg:
        results.append(one_config("sqlite-1", 1, None, gw, work, window, sessions, False, log))
        results.append(one_config("pg-1", 1, pg.new_database(), gw, work, window, sessions, False, log))
        results.append(one_config("pg-4", 4, pg.new_database(), gw, work, window, sessions, False, log))
        results.append(one_config("pg-4-kill", 4, pg.new_database(), gw, work, window, sessions, True, log))
    return rows(results), {"runs": results, "sessions": sessions, "window": window, "job_seconds": JOB_SECONDS}


def summary(r: dict[str, Any]) -> dict[str, Any]:
    return {"throughput": r["throughput"], "generate_p50": percentile(r["generate"], 0.5),
            "generate_p99": percentile(r["generate"], 0.99), "read_p50": percentile(r["read"], 0.5),
            "read_p99": percentile(r["read"], 0.99), "polls_per_job": r["polls_per_job"], "jobs": r["jobs"],
            "duplicates": r["duplicates"], "lost": r["lost"], "interrupted": r["interrupted"]}


def rows(results: list[dict[str, Any]]) -> list[Row]:
    by = {r["name"]: summary(r) for r in results}
    base, four, kill = by["sqlite-1"], by["pg-4"], by["pg-4-kill"]
    killed = next(r for r in results if r["name"] == "pg-4-kill")
    out = [
        Row("replicas", "Jobs finished per second, 4 replicas on PostgreSQL", four["throughput"],
            f"{four['throughput']:.1f}/s", base["throughput"], f"one SQLite process {base['throughput']:.1f}/s",
            "—", None, note=f"{killed['replicas']} x serve --http --stateless"),
        Row("replicas", "generate_video (wait 0) p50 / p99, 4 replicas", four["generate_p50"],
            f"{four['generate_p50'] * 1e3:.0f} / {four['generate_p99'] * 1e3:.0f} ms", base["generate_p50"],
            f"SQLite {base['generate_p50'] * 1e3:.0f} / {base['generate_p99'] * 1e3:.0f} ms", "—", None),
        Row("replicas", "get_video_task (wait 0) p50 / p99, 4 replicas", four["read_p50"],
            f"{four['read_p50'] * 1e3:.0f} / {four['read_p99'] * 1e3:.0f} ms", base["read_p50"],
            f"SQLite {base['read_p50'] * 1e3:.0f} / {base['read_p99'] * 1e3:.0f} ms", "—", None),
        Row("replicas", "Upstream polls per job, 4 replicas", four["polls_per_job"], f"{four['polls_per_job']:.2f}",
            by["pg-1"]["polls_per_job"], f"one replica {by['pg-1']['polls_per_job']:.2f}",
            "<= 1.1x one replica", four["polls_per_job"] <= 1.1 * by["pg-1"]["polls_per_job"]),
        Row("replicas", "Duplicates (gateway jobs beyond one per key), every run", sum(b["duplicates"] for b in
            by.values()), str(sum(b["duplicates"] for b in by.values())), None, "", "0",
            all(b["duplicates"] == 0 for b in by.values())),
        Row("replicas", "Lost jobs with one of 4 replicas killed half-way", kill["lost"], str(kill["lost"]), None,
            f"{killed['killed_held_finished']}/{killed['killed_held']} of its tasks finished by the others", "0",
            kill["lost"] == 0 and all(b["lost"] == 0 for b in by.values()),
            note=f"{kill['jobs']} jobs; {kill['interrupted']} cut mid-submit, reported unknown"),
    ]
    return out


def table_md(data: dict[str, Any]) -> str:
    lines = [f"{data['sessions']} concurrent sessions for {data['window']:g} s, {data['job_seconds']:g} s jobs "
             "(fake gateway), requests spread over the replicas in turn.", "",
             "| Ledger | Replicas | Jobs | Jobs/s | generate_video p50 / p99 | get_video_task p50 / p99 | Polls/job "
             "| Duplicates | Lost |", "|---|---|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        s = summary(r)
        what = r["backend"] + (" (one killed half-way)" if r["name"].endswith("kill") else "")
        lines.append(f"| {what} | {r['replicas']} | {s['jobs']} | {s['throughput']:.1f} | "
                     f"{s['generate_p50'] * 1e3:.0f} / {s['generate_p99'] * 1e3:.0f} ms | "
                     f"{s['read_p50'] * 1e3:.0f} / {s['read_p99'] * 1e3:.0f} ms | {s['polls_per_job']:.2f} | "
                     f"{s['duplicates']} | {s['lost']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.replicas", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="load window per run (default 30)")
    p.add_argument("--sessions", type=int, default=SESSIONS)
    args = p.parse_args(argv)
    result_rows, data = run(args.seconds, args.sessions, log=lambda *a: print(*a, file=sys.stderr, flush=True))
    from benchmarks.report import table

    print(table(result_rows) + "\n\n" + table_md(data))
    for r in data["runs"]:
        if r["errors"]:
            print(f"{r['name']} errors: {r['errors']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
