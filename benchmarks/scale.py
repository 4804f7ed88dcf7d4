"""Scale: 1,000 tasks in flight in one server process against the fake gateway, and 50 calls waiting on one task.

The server is the real stdio server (benchmarks/scale_server.py: the CLI's serve path plus an event-loop ticker),
driven over its pipes with raw JSON-RPC: 1,000 `generate_video` calls (wait_seconds=0; job lengths spread over
0.5-1.5 x --seconds, half with progress %), default poll intervals (real time, no acceleration). Measured:
  - peak RSS (VmHWM) vs the same process idle after tools/list;
  - CPU per upstream poll: server CPU time over the polling window / polls the fake served in it. Baseline: the same
    polls (same task ids, same moments) replayed by a bare httpx2 client with our pool limits, which is what the
    requests alone cost when spread out like this; back-to-back GETs (50 concurrent) are shown beside it. The
    ticker's own CPU (measured while idle, before any task) is subtracted: it is instrumentation, not the server;
  - event-loop lag: the ticker's sleep overshoot while polling vs while idle;
  - one poll stream: 50 `get_video_task(wait_seconds)` calls on one task vs tasks with a single waiter.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from providers import catalogs
from benchmarks.common import (
    ROOT,
    BenchError,
    FakeGatewayProcess,
    StdioPeer,
    clean_env,
    median,
    percentile,
    proc_cpu,
    proc_status,
)
from benchmarks.report import Row, ms

RSS_TARGET = 200e6  # bytes ("200 MB")
CPU_TARGET = 0.002  # s per poll
WAITERS = 50
CONTROLS = 5
BATCH = 50


def _call(peer: StdioPeer, name: str, arguments: dict[str, Any]) -> int:
    return peer.send_request("tools/call", {"name": name, "arguments": arguments})


def _result(peer: StdioPeer, rid: int, timeout: float = 120.0) -> dict[str, Any]:
    result = peer.response(rid, timeout)
    if result.get("isError"):
        raise BenchError(f"tool call failed: {result['content'][0]['text']}")
    return result["structuredContent"]


def run(tasks: int, seconds: float, log: Any = print) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="videogen-bench-scale-"))
    ticker_out = work / "ticker.json"
    rng = random.Random(1000)
    samples: list[tuple[float, float, int]] = []  # (wall, server cpu s, VmRSS)

    with FakeGatewayProcess() as gw:
        env = clean_env(work / "home", INFINITYBLUE_API_KEY="sk-bench-0000", INFINITYBLUE_BASE_URL=gw.base_url,
                        VIDEOGEN_SANDBOX="0", VIDEOGEN_DEDUPE_WINDOW="0", VIDEOGEN_DOWNLOAD="0",
                        BENCH_TICKER_OUT=str(ticker_out))
        with (work / "stderr.txt").open("w") as err:
            peer = StdioPeer([sys.executable, "-m", "benchmarks.scale_server"], env, cwd=ROOT, stderr=err)
            pid = peer.proc.pid

            def sample() -> None:
                samples.append((time.time(), proc_cpu(pid), proc_status(pid)["VmRSS"]))

            try:
                peer.handshake()
                listed = peer.request("tools/list")
                assert any(t["name"] == "generate_video" for t in listed["tools"])
                # pinned to the gateway (a canonical id would be routed): its catalog's first model
                model = f"infinityblue/{catalogs.load('infinityblue')[0].name}"
                # -- idle baseline ------------------------------------------------------------------------------
                idle_from = time.time()
                for _ in range(6):
                    sample()
                    time.sleep(0.5)
                idle_to = time.time()
                idle_rss = proc_status(pid)["VmRSS"]

                # -- the shared task and its single-waiter controls (same timeline), then their waiters ----------
                shared_spec = f"[bench d={seconds:.3f} p=0]"
                ids = [_call(peer, "generate_video", {"model": model, "prompt": f"{shared_spec} shared {i}",
                                                      "wait_seconds": 0}) for i in range(1 + CONTROLS)]
                created = [_result(peer, rid)["task_id"] for rid in ids]
                shared, controls = created[0], created[1:]
                wait_for = seconds * 3 + 60
                waiter_ids = [_call(peer, "get_video_task", {"task_id": shared, "wait_seconds": wait_for})
                              for _ in range(WAITERS)]
                waiter_ids += [_call(peer, "get_video_task", {"task_id": c, "wait_seconds": wait_for})
                               for c in controls]

                # -- 1,000 tasks in flight ---------------------------------------------------------------------
                submit_from = time.time()
                sample()
                for start in range(0, tasks, BATCH):
                    batch = []
                    for i in range(start, min(start + BATCH, tasks)):
                        d = seconds * (0.5 + rng.random())
                        batch.append(_call(peer, "generate_video", {
                            "model": model, "prompt": f"[bench d={d:.3f} p={i % 2}] scale {i}", "wait_seconds": 0}))
                    for rid in batch:
                        _result(peer, rid)
                submit_to = time.time()
                sample()
                log(f"  scale: {tasks} tasks submitted in {submit_to - submit_from:.1f} s")

                # -- let them run; sample CPU/RSS; collect the waiters' answers --------------------------------
                deadline = time.time() + seconds * 1.5 + 120
                while time.time() < deadline:
                    peer.pump(0.5)
                    sample()
                    if all(w in peer.answers for w in waiter_ids) and time.time() > submit_to + seconds * 1.5 + 20:
                        stats = gw.stats()
                        if _all_detected(stats):
                            break
                stats = gw.stats()
                sample()
                hwm = proc_status(pid)["VmHWM"]
            finally:
                peer.close()

        raw = _raw_get_cpu(gw.base_url, n=3000)
        replay = _replay_cpu(gw.base_url, stats["tasks"], work, *_window(stats["tasks"], submit_to))
        diagnosis = _diagnose(gw.base_url, log)

    jobs = stats["tasks"]
    detected = _detected(jobs)
    missing = [tid for tid, at in detected.items() if at is None]
    win_from, win_to = _window(jobs, submit_to)
    polls_in = sum(1 for j in jobs.values() for p in j["polls"] if win_from <= p <= win_to)
    cpu = _cpu_between(samples, win_from, win_to)
    idle_cpu_rate = _cpu_between(samples, idle_from, idle_to) / max(idle_to - idle_from, 1e-9)
    cpu_raw = cpu
    cpu = max(0.0, cpu - idle_cpu_rate * (win_to - win_from))
    cpu_per_poll = cpu / polls_in if polls_in else float("nan")

    ticks = json.loads(ticker_out.read_text()) if ticker_out.exists() else []
    idle_ticks = [o for w, o in ticks if idle_from <= w <= idle_to]
    busy_ticks = [o for w, o in ticks if win_from <= w <= win_to]
    burst_ticks = [o for w, o in ticks if submit_from <= w <= submit_to]

    shared_upstream = _upstream_of(jobs, "shared 0")
    control_upstreams = [_upstream_of(jobs, f"shared {i}") for i in range(1, CONTROLS + 1)]
    shared_polls = len(jobs[shared_upstream]["polls"])
    control_polls = [len(jobs[u]["polls"]) for u in control_upstreams]
    gaps = sorted(b - a for a, b in zip(jobs[shared_upstream]["polls"], jobs[shared_upstream]["polls"][1:]))
    waiters_ok = sum(1 for w in waiter_ids[:WAITERS]
                     if w in peer.answers and peer.answers[w][1].get("result", {}).get("structuredContent", {})
                     .get("status") == "succeeded")

    rows = [
        Row("Scale", f"{tasks:,} tasks in flight: peak RSS", hwm, f"{hwm / 1e6:.0f} MB", idle_rss,
            f"same process idle {idle_rss / 1e6:.0f} MB", "< 200 MB", hwm < RSS_TARGET,
            note="VmHWM" + (f"; {len(missing)} never seen finished" if missing else "")),
        Row("Scale", "CPU time per upstream poll", cpu_per_poll, ms(cpu_per_poll, 2), replay["cpu_per_get"],
            f"the same GETs at the same moments, bare httpx2: {ms(replay['cpu_per_get'], 2)} "
            f"(back-to-back GETs: {ms(raw, 2)})", "<= 2 ms", cpu_per_poll <= CPU_TARGET,
            note=f"{polls_in:,} polls in {win_to - win_from:.0f} s: {cpu:.1f} s CPU after subtracting the ticker's "
                 f"{idle_cpu_rate * 1000:.0f} ms/s"),
        Row("Scale", f"Event-loop lag while polling {tasks:,} tasks (p99)", percentile(busy_ticks, 0.99),
            f"{ms(percentile(busy_ticks, 0.99), 1)} (max {ms(max(busy_ticks, default=float('nan')), 1)})",
            percentile(idle_ticks, 0.99), f"idle {ms(percentile(idle_ticks, 0.99), 1)}", "—", None,
            note=f"20 ms ticker; submit burst p99 {ms(percentile(burst_ticks, 0.99), 1)}"),
        Row("Scale", f"{WAITERS} calls waiting on one task: upstream polls", shared_polls, str(shared_polls),
            median(control_polls), f"single waiter {'/'.join(map(str, control_polls))}",
            "one stream (<= single-waiter max)", shared_polls <= max(control_polls) and waiters_ok == WAITERS,
            note=f"{waiters_ok}/{WAITERS} waiters saw it finish; min gap {gaps[0] if gaps else 0:.2f} s"),
    ]
    detail = {
        "tasks": tasks, "seconds": seconds, "polls_total": sum(len(j["polls"]) for j in jobs.values()),
        "polls_per_task": median([len(j["polls"]) for j in jobs.values()]),
        "submits": stats["requests"].get("submit"), "never_detected": len(missing),
        "window_s": win_to - win_from, "polls_in_window": polls_in, "cpu_in_window_s": cpu,
        "cpu_in_window_raw_s": cpu_raw, "cpu_per_poll_raw_s": cpu_raw / polls_in if polls_in else None,
        "idle_cpu_per_s": idle_cpu_rate, "submit_burst_s": submit_to - submit_from,
        "submit_burst_cpu_s": _cpu_between(samples, submit_from, submit_to),
        "hwm": hwm, "idle_rss": idle_rss, "rss_max_sampled": max(s[2] for s in samples),
        "ticker": {"idle_p50": median(idle_ticks), "idle_p99": percentile(idle_ticks, 0.99),
                   "busy_p50": median(busy_ticks), "busy_p99": percentile(busy_ticks, 0.99),
                   "busy_max": max(busy_ticks, default=None), "burst_p99": percentile(burst_ticks, 0.99),
                   "burst_max": max(burst_ticks, default=None)},
        "shared": {"polls": shared_polls, "controls": control_polls, "poll_gaps_min": gaps[:3],
                   "waiters_succeeded": waiters_ok},
        "raw_get_cpu_s": raw,
        "replay": replay,
        "poll_cost_parts_us": diagnosis,
    }
    log(f"  scale: done ({detail['polls_total']:,} polls)")
    return rows, detail


def _detected(jobs: dict[str, Any]) -> dict[str, float | None]:
    """Per upstream job: the wall time of the first poll that saw it finished."""
    return {tid: min((p for p in j["polls"] if p >= j["finished_at"]), default=None) for tid, j in jobs.items()}


def _window(jobs: dict[str, Any], submit_to: float) -> tuple[float, float]:
    """The polling window: from the last upstream submit (they go on in the background after the calls return)
    until the last job was seen finished."""
    win_from = max(max(j["created"] for j in jobs.values()), submit_to)
    win_to = max((at for at in _detected(jobs).values() if at is not None), default=time.time())
    return win_from, win_to


def _all_detected(stats: dict[str, Any]) -> bool:
    return all(any(p >= j["finished_at"] for p in j["polls"]) for j in stats["tasks"].values())


def _upstream_of(jobs: dict[str, Any], label: str) -> str:
    found = [tid for tid, j in jobs.items() if j.get("label") == label]
    if len(found) != 1:
        raise BenchError(f"expected one upstream job labelled {label!r}, found {len(found)}")
    return found[0]


def _cpu_between(samples: list[tuple[float, float, int]], a: float, b: float) -> float:
    """Server CPU seconds between wall times a and b, interpolated from the samples."""
    def at(t: float) -> float:
        before = [s for s in samples if s[0] <= t]
        after = [s for s in samples if s[0] >= t]
        if not before:
            return after[0][1]
        if not after:
            return before[-1][1]
        s0, s1 = before[-1], after[0]
        if s1[0] == s0[0]:
            return s0[1]
        return s0[1] + (s1[1] - s0[1]) * (t - s0[0]) / (s1[0] - s0[0])

    return at(b) - at(a)


def _self_cpu() -> float:
    """User + system CPU seconds of this process so far (worker threads included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---- the baseline: what a bare httpx2 client spends in CPU per GET of the same route ---------------------------------
def _raw_get_cpu(base_url: str, n: int) -> float:
    out = subprocess.run([sys.executable, "-m", "benchmarks.scale", "rawget", "--fake", base_url, "--n", str(n)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0:
        raise BenchError(f"raw GET worker failed: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


async def _rawget(base_url: str, n: int, concurrency: int = 50) -> float:
    import anyio
    import httpx2

    async with httpx2.AsyncClient(timeout=30, limits=httpx2.Limits(max_connections=200,
                                                                   max_keepalive_connections=50)) as c:
        r = await c.post(base_url + "/v1/video/generations", json={"model": "m", "prompt": "[bench d=0 p=1]"})
        url = f"{base_url}/v1/video/generations/{r.json()['task_id']}"

        async def worker(count: int) -> None:
            for _ in range(count):
                (await c.get(url, headers={"Authorization": "Bearer sk-bench-0000"})).raise_for_status()

        async with anyio.create_task_group() as tg:  # warm-up: connections, code paths
            for _ in range(concurrency):
                tg.start_soon(worker, 5)
        before = _self_cpu()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker, n // concurrency)
        cpu = _self_cpu() - before
    return cpu / (n // concurrency * concurrency)


# ---- the like-for-like baseline: our window's polls replayed by a bare httpx2 client ---------------------------------
def _replay_cpu(base_url: str, jobs: dict[str, Any], work: Path, win_from: float, win_to: float) -> dict[str, Any]:
    """CPU per GET when a bare httpx2 client (our pool limits) sends exactly the polls our server sent in the window,
    same task ids, same moments relative to the window: what the requests alone cost in this spread-out pattern."""
    schedule = {tid: [p - win_from for p in j["polls"] if win_from <= p <= win_to] for tid, j in jobs.items()}
    path = work / "replay.json"
    path.write_text(json.dumps({tid: offsets for tid, offsets in schedule.items() if offsets}))
    out = subprocess.run([sys.executable, "-m", "benchmarks.scale", "replay", "--fake", base_url, "--schedule",
                          str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise BenchError(f"replay worker failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _replay(base_url: str, schedule_file: str) -> dict[str, Any]:
    import anyio
    import httpx2

    schedule: dict[str, list[float]] = json.loads(Path(schedule_file).read_text())
    headers = {"Authorization": "Bearer sk-bench-0000", "Accept": "application/json"}
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=10)  # as server.app.make_client
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(60, connect=10, pool=30), limits=limits) as c:
        await c.get(f"{base_url}/v1/video/generations/{next(iter(schedule))}", headers=headers)  # warm code paths
        start = time.monotonic() + 0.5
        sent = 0

        async def one_task(task_id: str, offsets: list[float]) -> None:
            nonlocal sent
            url = f"{base_url}/v1/video/generations/{task_id}"
            for offset in offsets:
                await anyio.sleep(max(0.0, start + offset - time.monotonic()))
                (await c.get(url, headers=headers)).raise_for_status()
                sent += 1

        before = _self_cpu()
        async with anyio.create_task_group() as tg:
            for task_id, offsets in schedule.items():
                tg.start_soon(one_task, task_id, offsets)
        cpu = _self_cpu() - before
    return {"gets": sent, "cpu_s": cpu, "cpu_per_get": cpu / max(sent, 1)}


# ---- diagnosis: what the parts of one poll cost, one at a time, in one process --------------------------------------
def _diagnose(base_url: str, log: Any) -> dict[str, float]:
    """CPU per call of each part of a poll (diagnostic only: a failure here never fails the benchmark)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.scale", "diagnose", "--fake", base_url], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0:
        log(f"  scale: poll-cost diagnosis failed: {out.stderr[-1500:]}")
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _parts(base_url: str) -> dict[str, float]:
    import anyio

    from providers.base import VideoRequest
    from server.app import make_client, open_runtime
    from server.settings import Settings

    async def per_call(fn: Any, n: int = 1000) -> float:
        for _ in range(50):
            await fn()
        c0 = _self_cpu()
        for _ in range(n):
            await fn()
        return round((_self_cpu() - c0) / n * 1e6, 1)

    out: dict[str, float] = {}
    settings = Settings(_env_file=None, VIDEOGEN_HOME=tempfile.mkdtemp(prefix="videogen-bench-diag-"),
                        VIDEOGEN_SANDBOX=False, INFINITYBLUE_API_KEY="sk-bench-0000", INFINITYBLUE_BASE_URL=base_url,
                        VIDEOGEN_DEDUPE_WINDOW=0, VIDEOGEN_DOWNLOAD=False)
    async with open_runtime(settings, download_default=False) as rt:
        engine = await rt.engine()
        provider = rt.providers["infinityblue"]
        info = provider.models()[0]
        started = await engine.start(provider, VideoRequest(model=info.name, prompt="[bench d=100000 p=1] diag",
                                                               duration=info.default_duration), download=False)
        for _ in range(200):
            row = await engine.ledger.get(started.task.task_id)
            if row is not None and row.upstream_task_id:
                break
            await anyio.sleep(0.05)
        upstream, task_id = row.upstream_task_id, row.task_id
        url = f"{base_url}/v1/video/generations/{upstream}"
        for pooled in (1, 50):
            async with make_client(settings) as client:  # the server's own client configuration
                async with anyio.create_task_group() as tg:  # leave `pooled` keep-alive connections in its pool
                    for _ in range(pooled):
                        tg.start_soon(client.get, url)
                out[f"GET, server's client, {pooled} pooled connection(s)"] = await per_call(lambda: client.get(url))
        out["provider.get (GET + parse), 1 pooled connection"] = await per_call(lambda: provider.get(upstream))
        n = [0]

        async def update() -> Any:
            n[0] += 1
            return await engine.ledger.update(task_id, progress=n[0] % 99 + 1)

        out["ledger.update (a progress change)"] = await per_call(update)
        out["ledger.get"] = await per_call(lambda: engine.ledger.get(task_id))
        out["one worker-thread hop (anyio.to_thread)"] = await per_call(lambda: anyio.to_thread.run_sync(int))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rawget")
    r.add_argument("--fake", required=True)
    r.add_argument("--n", type=int, default=3000)
    d = sub.add_parser("diagnose")
    d.add_argument("--fake", required=True)
    rp = sub.add_parser("replay")
    rp.add_argument("--fake", required=True)
    rp.add_argument("--schedule", required=True)
    args = p.parse_args(argv)
    import anyio

    if args.cmd == "rawget":
        print(anyio.run(_rawget, args.fake, args.n))
    elif args.cmd == "replay":
        print(json.dumps(anyio.run(_replay, args.fake, args.schedule)))
    else:
        print(json.dumps(anyio.run(_parts, args.fake)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
