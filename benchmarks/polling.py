"""Polling efficiency: upstream polls per job and detection lag, ours vs fixed-interval pollers (2 s, 10 s, 20 s).

Time is accelerated: every job length AND VIDEOGEN_POLL_MIN_INTERVAL / VIDEOGEN_POLL_MAX_INTERVAL (their defaults)
are multiplied by `scale` (e.g. 0.05: a 10-minute job runs 30 s), and every measured time is divided by it again.
Poll counts are not affected by the scaling. All jobs of one run go on at once, against one fake gateway process
(benchmarks.fakegw) that records when each job finished and every poll it served.

Ours: the real engine (server.app.open_runtime -> Engine.start / Engine.wait) against the InfinityBlue adapter
(new-api protocol). "Seen" is the moment Engine.wait -- what a waiting tool call awaits -- returns the finished task.
Fixed-interval pollers (what peer servers do: sleep, then poll) are simulated exactly on the same job lengths:
polls = ceil(D / I), lag = ceil(D / I) * I - D. A few of them also run live against the fake, beside ours; how much
later they see the end than the exact figure is the method's noise floor (loopback, event loop, acceleration),
which is in our measured lag too.

    python -m benchmarks.polling --fake URL --scale 0.05 --reps 5 --out result.json   (the worker)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, BenchError, FakeGatewayProcess, median, percentile
from benchmarks.report import Row

JOBS = {"30 s": 30.0, "2 min": 120.0, "10 min": 600.0}
FIXED = (2.0, 10.0, 20.0)
STAGGER = 0.03  # real seconds between job starts
LIVE_FIXED_REPS = 3  # live fixed-interval jobs per (length, interval): enough to measure the noise floor
COMPARE = 10.0  # the fixed poller the ratio column uses (the others are shown next to it)
JITTER = 0.1  # job lengths vary +-10 % (same set for every poller), so fixed pollers see realistic phases
TARGETS = {  # (job, progress): (max polls, max median lag in s)
    ("2 min", True): (10, 2.0),
    ("2 min", False): (15, 6.0),
}


def job_lengths(reps: int, seed: int = 5) -> list[float]:
    rng = random.Random(seed)
    return [1 + rng.uniform(-JITTER, JITTER) for _ in range(reps)]


# ---- the worker (runs in its own process) ---------------------------------------------------------------------
async def worker(fake: str, scale: float, reps: int) -> dict[str, Any]:
    import httpx2

    from providers.base import VideoRequest
    from server.app import open_runtime
    from server.settings import Settings

    defaults = Settings.model_fields
    poll_min = float(defaults["poll_min_interval"].default)
    poll_max = float(defaults["poll_max_interval"].default)
    home = Path(tempfile.mkdtemp(prefix="videogen-bench-poll-"))
    settings = Settings(
        _env_file=None, VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX=False, INFINITYBLUE_API_KEY="sk-bench-0000",
        INFINITYBLUE_BASE_URL=fake, VIDEOGEN_POLL_MIN_INTERVAL=poll_min * scale,
        VIDEOGEN_POLL_MAX_INTERVAL=poll_max * scale, VIDEOGEN_DEDUPE_WINDOW=0, VIDEOGEN_DOWNLOAD=False,
    )
    factors = job_lengths(reps)
    results: dict[str, Any] = {"ours": [], "fixed": [], "poll_min": poll_min, "poll_max": poll_max, "scale": scale,
                               "reps": reps, "factors": factors}

    async with open_runtime(settings, download_default=False) as rt, httpx2.AsyncClient(timeout=60) as http:
        engine = await rt.engine()
        provider = rt.providers["infinityblue"]
        info = provider.models()[0]

        async def ours(job: str, progress: bool, rep: int) -> None:
            seconds = JOBS[job] * factors[rep] * scale
            prompt = f"[bench d={seconds:.6f} p={int(progress)}] job {job} rep {rep}"
            request = VideoRequest(model=info.name, prompt=prompt, duration=info.default_duration)
            provider.validate(request)
            started = await engine.start(provider, request, download=False)
            task = await engine.wait(started.task.task_id, timeout=seconds * 3 + 30)
            seen = time.time()
            results["ours"].append({"job": job, "progress": progress, "rep": rep, "status": task.status.value,
                                    "upstream": task.upstream_task_id, "seen": seen})

        async def fixed(job: str, interval: float, rep: int) -> None:
            seconds = JOBS[job] * factors[rep] * scale
            r = await http.post(fake + "/v1/video/generations",
                                json={"model": "m", "prompt": f"[bench d={seconds:.6f} p=1] fixed {interval}"})
            upstream = r.json()["task_id"]
            t0, k = time.time(), 0
            while True:
                k += 1
                await asyncio.sleep(max(0.0, t0 + k * interval * scale - time.time()))
                body = (await http.get(f"{fake}/v1/video/generations/{upstream}")).json()
                if body["data"]["status"] == "SUCCESS":
                    break
            exact = math.ceil(JOBS[job] * factors[rep] / interval)
            results["fixed"].append({"job": job, "interval": interval, "rep": rep, "upstream": upstream,
                                     "seen": time.time(), "polls_client": k, "polls_exact": exact,
                                     "lag_exact": exact * interval - JOBS[job] * factors[rep]})

        coros = [ours(job, progress, rep) for job in JOBS for progress in (True, False) for rep in range(reps)]
        coros += [fixed(job, interval, rep) for job in JOBS for interval in FIXED
                  for rep in range(min(reps, LIVE_FIXED_REPS))]
        random.Random(7).shuffle(coros)

        async def staggered(i: int, coro: Any) -> None:
            # Starts are spread out: at x20 a burst of submits (serialized ledger writes) would delay every first
            # poll by seconds of simulated time, which no real agent's single job sees.
            await asyncio.sleep(i * STAGGER)
            await coro

        await asyncio.gather(*(staggered(i, c) for i, c in enumerate(coros)))

    stats = json.loads(await _get(fake + "/_stats"))
    for entry in results["ours"] + results["fixed"]:
        task = stats["tasks"].get(entry["upstream"] or "")
        if task is None:
            raise BenchError(f"the fake gateway never saw {entry}")
        entry["polls"] = len(task["polls"])
        entry["lag"] = (entry["seen"] - task["finished_at"]) / scale
        entry["polls_after_finish"] = sum(1 for p in task["polls"] if p >= task["finished_at"])
        # poll times in scaled-back seconds since the submit, and the job's length, for diagnosis
        entry["poll_times"] = [round((p - task["created"]) / scale, 2) for p in task["polls"]]
        entry["length"] = round(task["seconds"] / scale, 2)
    return results


async def _get(url: str) -> str:
    import httpx2

    async with httpx2.AsyncClient(timeout=30) as c:
        return (await c.get(url)).text


# ---- the runner side ----------------------------------------------------------------------------------------------
def run(scale: float, reps: int, log: Any = print) -> tuple[list[Row], dict[str, Any], str]:
    out = Path(tempfile.mkdtemp(prefix="videogen-bench-poll-")) / "polling.json"
    with FakeGatewayProcess() as gw:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.polling", "--fake", gw.base_url, "--scale",
                               str(scale), "--reps", str(reps), "--out", str(out)], cwd=ROOT, capture_output=True,
                              text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise BenchError(f"polling worker failed ({proc.returncode}): {proc.stderr[-3000:]}")
    data = json.loads(out.read_text())
    log(f"  polling: {len(data['ours'])} jobs of ours, {len(data['fixed'])} fixed-interval jobs done")
    return rows_from(data), data, detail_table(data)


def _pick(entries: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [e for e in entries if all(e.get(k) == v for k, v in match.items())]


def summary(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for job, nominal in JOBS.items():
        for progress in (True, False):
            e = _pick(data["ours"], job=job, progress=progress)
            bad = [x for x in e if x["status"] != "succeeded"]
            out[f"ours|{job}|{progress}"] = {
                "polls": median([x["polls"] for x in e]), "polls_max": max(x["polls"] for x in e),
                "lag": median([x["lag"] for x in e]), "lag_p90": percentile([x["lag"] for x in e], 0.9),
                "lag_max": max(x["lag"] for x in e), "n": len(e), "not_succeeded": len(bad)}
        for interval in FIXED:
            lengths = [nominal * f for f in data["factors"]]
            polls = [math.ceil(d / interval) for d in lengths]
            lags = [p * interval - d for p, d in zip(polls, lengths)]
            live = _pick(data["fixed"], job=job, interval=interval)
            out[f"fixed{interval:g}|{job}"] = {
                "polls": median(polls), "lag": median(lags), "lag_p90": percentile(lags, 0.9), "n": len(lags),
                "live_excess_lag": median([x["lag"] - x["lag_exact"] for x in live]) if live else None,
                "live_polls_match": all(x["polls"] == x["polls_exact"] for x in live)}
    live = data["fixed"]
    out["noise_floor"] = {"median_excess_lag": median([x["lag"] - x["lag_exact"] for x in live]) if live else None,
                          "max_excess_lag": max((x["lag"] - x["lag_exact"] for x in live), default=None),
                          "polls_match": all(x["polls"] == x["polls_exact"] for x in live)}
    return out


def rows_from(data: dict[str, Any]) -> list[Row]:
    s = summary(data)
    rows: list[Row] = []
    for job in JOBS:
        fixed = {i: s[f"fixed{i:g}|{job}"] for i in FIXED}
        fixed_polls = " / ".join(f"{f['polls']:g}" for f in fixed.values())
        fixed_lag = " / ".join(f"{f['lag']:.1f}" for f in fixed.values())
        base = fixed[COMPARE]
        for progress in (True, False):
            o = s[f"ours|{job}|{progress}"]
            label = f"{job} job, {'with' if progress else 'without'} progress %"
            target = TARGETS.get((job, progress))
            note = f"median of {data['reps']}" + (f"; {o['not_succeeded']} did not succeed" if o["not_succeeded"]
                                                  else "")
            polls_ok = (o["polls"] <= target[0] and not o["not_succeeded"]) if target else None
            rows.append(Row("Polling", f"Upstream polls per job, {label}", o["polls"], f"{o['polls']:g}",
                            base["polls"], f"fixed 2/10/20 s: {fixed_polls}", f"<= {target[0]}" if target else "—",
                            polls_ok, note=note, data={"ours": o, "fixed": fixed}))
            rows.append(Row("Polling", f"Detection lag, {label}", o["lag"],
                            f"{o['lag']:.2f} s (p90 {o['lag_p90']:.1f})", base["lag"],
                            f"fixed 2/10/20 s: {fixed_lag} s", f"<= {target[1]:g} s median" if target else "—",
                            o["lag"] <= target[1] if target else None, note=note))
    return rows


def detail_table(data: dict[str, Any]) -> str:
    s = summary(data)
    head = ("| Job | Poller | Polls/job (median) | Lag median | Lag p90 |\n|---|---|---|---|---|")
    lines = [head]
    noise = s["noise_floor"]
    for job in JOBS:
        for progress in (True, False):
            o = s[f"ours|{job}|{progress}"]
            lines.append(f"| {job} | **ours**, {'with' if progress else 'no'} progress % | {o['polls']:g} "
                         f"(max {o['polls_max']}) | {o['lag']:.2f} s | {o['lag_p90']:.2f} s |")
        for interval in FIXED:
            f = s[f"fixed{interval:g}|{job}"]
            lines.append(f"| {job} | fixed {interval:g} s (exact) | {f['polls']:g} | {f['lag']:.2f} s "
                         f"| {f['lag_p90']:.2f} s |")
    if noise["median_excess_lag"] is not None:
        matched = "matched" if noise["polls_match"] else "did NOT match"
        lines += ["", (f"Noise floor: the live fixed-interval pollers run beside ours saw the end "
                       f"{noise['median_excess_lag']:.2f} s (median; max {noise['max_excess_lag']:.2f} s) later than "
                       f"the exact figure, in scaled-back seconds; their poll counts {matched} the exact ones.")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--fake", required=True)
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import anyio

    result = anyio.run(worker, args.fake, args.scale, args.reps)
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
