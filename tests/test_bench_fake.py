"""benchmarks/fakegw.py: the shared FakeGateway served on wall time by the benchmarks' bare listener, tested as the
benchmarks use it (its own process, real HTTP on loopback)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fake() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.fakegw", "--seconds", "30"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()  # type: ignore[union-attr]
        assert line.startswith("PORT "), proc.stderr.read().decode()  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_marker_timeline_shapes_and_stats(fake: str) -> None:
    with httpx2.Client(base_url=fake, timeout=10) as c:
        c.post("/_reset")
        job = c.post("/v1/video/generations", json={"model": "m", "prompt": "[bench d=0.5 p=1 q=0.4] a fox"}).json()
        task_id = job["task_id"]
        early = c.get(f"/v1/video/generations/{task_id}").json()["data"]
        assert (early["status"], early["progress"]) == ("QUEUED", "0%")
        time.sleep(0.6)
        done = c.get(f"/v1/video/generations/{task_id}").json()["data"]
        assert done["status"] == "SUCCESS" and done["result_url"].endswith(f"/files/{task_id}.mp4")
        assert c.get(f"/v1/videos/{task_id}").json()["status"] == "completed"  # Shape B of the same task
        assert c.get("/v1/video/generations/task_nope").json()["code"] == "task_not_exist"
        stats = c.get("/_stats").json()

    task = stats["tasks"][task_id]
    assert task["label"] == "a fox" and task["seconds"] == 0.5 and task["progress"] is True
    assert task["finished_at"] == pytest.approx(task["created"] + 0.5)
    polls = task["polls"]  # wall time of each poll of this task, in order: one before the end, two after
    assert len(polls) == 3 and polls == sorted(polls)
    assert polls[0] < task["finished_at"] <= polls[1]
    assert stats["requests"] == {"submit": 1, "poll": 4}


def test_apimodels_route_no_progress_default_seconds_reset(fake: str) -> None:
    with httpx2.Client(base_url=fake, timeout=10) as c:
        c.post("/_reset")
        submitted = c.post("/api/v1/video/generations", json={"model": "k", "prompt": "[bench d=30 q=0] slow"})
        task_id = submitted.json()["data"]["taskId"]
        data = c.get("/api/v1/video/generations", params={"task_id": task_id}).json()["data"]
        assert data["state"] == "processing" and "resultUrls" not in data
        quiet = c.post("/v1/video/generations", json={"model": "m", "prompt": "[bench d=30 p=0 q=0] quiet"})
        data = c.get(f"/v1/video/generations/{quiet.json()['task_id']}").json()["data"]
        assert data["status"] == "IN_PROGRESS" and "progress" not in data  # p=0: the field is absent
        unmarked = c.post("/v1/videos", json={"model": "m", "prompt": "no marker"}).json()["task_id"]
        assert c.get("/_stats").json()["tasks"][unmarked]["seconds"] == 30  # --seconds
        c.post("/_reset")
        assert c.get("/_stats").json() == {"tasks": {}, "requests": {}}
