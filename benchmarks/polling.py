"""Polling efficiency: upstream polls per job and detection lag, ours vs fixed-interval pollers (2 s, 10 s, 20 s).

Job lengths are log-normal around 30 s, 2 min and 10 min (sigma 0.2: 90 % of jobs within -28 % .. +39 % of the
median), the same draws for every poller. Ours runs three ways, at once, against one fake gateway process
(benchmarks.fakegw), each in its own process on its own ledger:
  first   the real engine on a model it has never run (the default schedule), OrcaRouter adapter (new-api protocol);
  history the same, after HISTORY earlier jobs of each model (their lengths drawn from the same spread) were
          recorded in its ledger the way the engine records jobs; with and without progress %;
  callback  apimodels.app with VIDEOGEN_PUBLIC_URL-style callbacks: the fake POSTs to the engine's callback route
          (server.cli.callbacks on a real loopback port) when the job ends; with the same history.
Time is accelerated: job lengths and VIDEOGEN_POLL_MIN/MAX_INTERVAL (their defaults) are multiplied by `scale`, and
measured times divided by it again; poll counts do not depend on it. The callback path's lag is reported in real
time: it is network and processing latency, which no job length or interval changes.
Fixed-interval pollers (sleep, then poll: what peer servers do) are computed exactly on the same job lengths:
polls = ceil(D / I), lag = ceil(D / I) * I - D; a few also run live beside ours, and how much later they see the end
than the exact figure is the method's noise floor, which is in our measured lag too.

    python -m benchmarks.polling --fake URL --scale 0.2 --reps 30 --way first --out result.json  (a worker)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, BenchError, FakeGatewayProcess
from benchmarks.polling_report import FIXED, JOBS, Row, detail_table, rows_from, summary

__all__ = ["run", "summary"]

SIGMA = 0.2
HISTORY = 20  # earlier jobs of each model in the `history` and `callback` ledgers
STAGGER = 0.03  # real seconds between job starts
LIVE_FIXED_REPS = 3  # live fixed-interval jobs per (length, interval): enough to measure the noise floor
MODELS = {"orcarouter": ("kling/kling-v2-master", "kling/kling-v2-1-master", "kling/kling-v2-5-turbo"),
          "apimodels": ("kling-video-o1", "kling-v3-omni", "kling-v2-6")}  # one model per job length


WAYS_RUN = ("first", "history", "callback")


def job_lengths(reps: int, seed: int = 5) -> list[float]:
    rng = random.Random(seed)
    return [math.exp(rng.gauss(0, SIGMA)) for _ in range(reps)]


# ---- the worker (runs in its own process) ---------------------------------------------------------------------
def settings_for(home: Path, fake: str, scale: float, **extra: Any) -> Any:
    from server.settings import Settings

    defaults = Settings.model_fields
    return Settings(
        _env_file=None, VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX=False, ORCAROUTER_API_KEY="sk-bench-0000",
        ORCAROUTER_BASE_URL=fake, APIMODELS_API_KEY="sk-bench-0001", APIMODELS_BASE_URL=fake,
        VIDEOGEN_POLL_MIN_INTERVAL=float(defaults["poll_min_interval"].default) * scale,
        VIDEOGEN_POLL_MAX_INTERVAL=float(defaults["poll_max_interval"].default) * scale, VIDEOGEN_DEDUPE_WINDOW=0,
        VIDEOGEN_DOWNLOAD=False, **extra)


async def seed_history(home: Path, provider_id: str, scale: float) -> None:
    """HISTORY earlier successful jobs per model, written through the ledger as the engine writes them."""
    from providers.base import VideoRequest
    from server.engine.submit import describe_request
    from server.ledger.store import SUBMITTING, Ledger, TaskRow, new_task_id

    clock = [time.time() - 86400.0]
    ledger = Ledger(home / "tasks.sqlite3", now=lambda: clock[0])
    rng = random.Random(f"history-{provider_id}")
    for (job, nominal), model in zip(JOBS.items(), MODELS[provider_id], strict=True):
        for i in range(HISTORY):
            seconds = nominal * math.exp(rng.gauss(0, SIGMA)) * scale
            fingerprint, request_json = describe_request(provider_id, VideoRequest(
                model=model, prompt=f"an earlier {job} job {i}", duration=5))
            row = TaskRow(task_id=new_task_id(), provider=provider_id, model=f"{provider_id}/{model}",
                          fingerprint=fingerprint, request_json=request_json, idempotency_key=None, state=SUBMITTING,
                          progress=None, video_url=None, local_path=None, expires_at=None, error_code=None,
                          error_message=None, upstream_task_id=None, download=False, download_state=None,
                          sandbox=False, lease_owner=None, lease_expires=None, warning=None, poll_failures=0,
                          created_at=clock[0], updated_at=clock[0])
            await ledger.create(row, dedupe_window=0)
            for state, at in (("queued", 0.2 * scale), ("running", 0.1 * seconds), ("succeeded", seconds)):
                clock[0] = row.created_at + at
                await ledger.update(row.task_id, state=state, progress=100 if state == "succeeded" else None)
            clock[0] += 60
    ledger.close()


async def worker(fake: str, scale: float, reps: int, way: str) -> dict[str, Any]:
    """One way of ours (first | history | callback) on its own engine and ledger; `first` also runs the live
    fixed-interval pollers. The runner starts one worker process per way, at once."""
    import httpx2
    import uvicorn

    from providers.base import VideoRequest
    from server.app import open_runtime
    from server.cli.callbacks import with_callbacks

    factors = job_lengths(reps)
    results: dict[str, Any] = {"ours": [], "fixed": [], "scale": scale, "reps": reps, "factors": factors,
                               "history": HISTORY, "sigma": SIGMA}
    home = Path(tempfile.mkdtemp(prefix=f"videogen-bench-poll-{way}-"))
    provider_id = "apimodels" if way == "callback" else "orcarouter"
    if way != "first":
        await seed_history(home, provider_id, scale)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    callback_base = f"http://127.0.0.1:{sock.getsockname()[1]}" if way == "callback" else None
    settings = settings_for(home, fake, scale)
    results["poll_min"], results["poll_max"] = settings.poll_min_interval, settings.poll_max_interval

    async with (open_runtime(settings, download_default=False, callback_base=callback_base) as rt,
                httpx2.AsyncClient(timeout=60) as http):
        engine = await rt.engine()
        engine.history.enabled = way != "first"  # every job of the `first` engine is a model's first
        receiver = uvicorn.Server(uvicorn.Config(with_callbacks(_not_found, lambda: rt), log_level="warning",
                                                 lifespan="off", access_log=False))
        serving = asyncio.ensure_future(receiver.serve(sockets=[sock])) if callback_base else None
        provider = rt.providers[provider_id]

        async def ours(job: str, progress: bool, rep: int) -> None:
            model = MODELS[provider_id][list(JOBS).index(job)]
            seconds = JOBS[job] * factors[rep] * scale
            prompt = f"[bench d={seconds:.6f} p={int(progress)}] {way} job {job} rep {rep}"
            request = VideoRequest(model=model, prompt=prompt, duration=5)
            provider.validate(request)
            started = await engine.start(provider, request, download=False)
            task = await engine.wait(started.task.task_id, timeout=seconds * 4 + 30)
            results["ours"].append({"way": way, "job": job, "progress": progress, "rep": rep, "seen": time.time(),
                                    "status": task.status.value, "upstream": task.upstream_task_id})

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

        progresses = (False,) if way == "callback" else (True, False)
        coros = [ours(job, progress, rep) for job in JOBS for progress in progresses for rep in range(reps)]
        if way == "first":
            coros += [fixed(job, interval, rep) for job in JOBS for interval in FIXED
                      for rep in range(min(reps, LIVE_FIXED_REPS))]
        random.Random(7).shuffle(coros)

        async def staggered(i: int, coro: Any) -> None:
            # Starts are spread out: a burst of submits (serialized ledger writes) would delay every first poll by
            # seconds of simulated time, which no real agent's single job sees.
            await asyncio.sleep(i * STAGGER)
            await coro

        try:
            await asyncio.gather(*(staggered(i, c) for i, c in enumerate(coros)))
        finally:
            if serving is not None:
                receiver.should_exit = True
                await serving
    sock.close()

    stats = json.loads(await _get(fake + "/_stats"))
    for entry in results["ours"] + results["fixed"]:
        task = stats["tasks"].get(entry["upstream"] or "")
        if task is None:
            raise BenchError(f"the fake gateway never saw {entry}")
        real = entry["seen"] - task["finished_at"]
        entry["polls"] = len(task["polls"])
        entry["lag"] = real / scale
        entry["lag_real"] = real
        entry["polls_before_finish"] = sum(1 for p in task["polls"] if p < task["finished_at"])
        after = [p for p in task["polls"] if p >= task["finished_at"]]
        entry["poll_lag"] = (min(after) - task["finished_at"]) / scale if after else None  # when a poll saw it
        # poll times in scaled-back seconds since the submit, and the job's length, for diagnosis
        entry["poll_times"] = [round((p - task["created"]) / scale, 2) for p in task["polls"]]
        entry["length"] = round(task["seconds"] / scale, 2)
    return results


async def _not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _get(url: str) -> str:
    import httpx2

    async with httpx2.AsyncClient(timeout=30) as c:
        return (await c.get(url)).text


# ---- the runner side ----------------------------------------------------------------------------------------------
def run(scale: float, reps: int, log: Any = print) -> tuple[list[Row], dict[str, Any], str]:
    out = Path(tempfile.mkdtemp(prefix="videogen-bench-poll-"))
    with FakeGatewayProcess() as gw:
        procs = {way: subprocess.Popen([sys.executable, "-m", "benchmarks.polling", "--fake", gw.base_url, "--scale",
                                        str(scale), "--reps", str(reps), "--way", way, "--out", str(out / way)],
                                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for way in WAYS_RUN}
        failed = {way: p.communicate(timeout=1800)[1] for way, p in procs.items()}
    for way, proc in procs.items():
        if proc.returncode != 0:
            raise BenchError(f"polling worker {way} failed ({proc.returncode}): {failed[way][-3000:]}")
    parts = [json.loads((out / way).read_text()) for way in WAYS_RUN]
    data = {**parts[0], "ours": [e for p in parts for e in p["ours"]], "fixed": [e for p in parts for e in p["fixed"]]}
    log(f"  polling: {len(data['ours'])} jobs of ours, {len(data['fixed'])} fixed-interval jobs done")
    return rows_from(data), data, detail_table(data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--fake", required=True)
    p.add_argument("--scale", type=float, default=0.2)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--way", choices=WAYS_RUN, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import anyio

    result = anyio.run(worker, args.fake, args.scale, args.reps, args.way)
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
