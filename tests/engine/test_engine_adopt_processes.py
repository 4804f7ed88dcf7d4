"""Adoption across real processes: `kill -9` during a stalled submit, then one get_video_task with the gateway's id
delivers the video; several `videogen-mcp adopt` processes given the same id agree on one task."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.engine_stubs import GATEWAY_KEY as KEY
from fakes.engine_stubs import server_env as env_for
from fakes.faults import HttpFault, HttpFaults
from fakes.gateways import Timeline, fake_for, serve_on_loopback
from fakes.postgres import ledger_env
from test_engine_kill9 import MODEL, StdioServer

pytestmark = pytest.mark.slow


def test_kill9_mid_submit_then_adoption_by_upstream_id_delivers_the_one_job(tmp_path, ledger_url):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0.5))
    app = HttpFaults(gw)
    app.add("submit", HttpFault(None, stall=5.0))  # the gateway creates the job, then is slow to answer
    with serve_on_loopback(app) as url:
        env = env_for(tmp_path / "home", url, VIDEOGEN_DOWNLOAD="1", **ledger_env(ledger_url))
        first = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        task = first.call("generate_video", {"model": MODEL, "prompt": "an owl", "duration": 5, "wait_seconds": 0.5})
        deadline = time.monotonic() + 10
        while not gw.tasks and time.monotonic() < deadline:  # a busy machine: the submit may still be on its way
            time.sleep(0.05)
        first.kill9()  # the gateway has made the job and stalls its answer: killed mid-submit
        (upstream,) = gw.tasks  # what the gateway's console would show
        second = StdioServer(env, tmp_path, tmp_path / "stderr.txt")
        try:
            lost = second.call("get_video_task", {"task_id": task["task_id"], "wait_seconds": 5})
            done = second.call("get_video_task", {"provider": "orcarouter", "upstream_task_id": upstream,
                                                  "wait_seconds": 20})
            again = second.call("get_video_task", {"provider": "orcarouter", "upstream_task_id": upstream})
        finally:
            second.close()
    assert lost["status"] == "unknown" and lost["error"]["code"] == "submit_interrupted", lost
    assert f"videogen-mcp adopt orcarouter <id> --task {task['task_id']}" in lost["error"]["message"]
    assert done["task_id"] == task["task_id"] and done["upstream_task_id"] == upstream
    assert done["status"] == "succeeded" and Path(done["local_path"]).exists(), done
    assert again["task_id"] == task["task_id"]
    assert gw.created == 1 and len(gw.submits) == 1
    assert KEY not in (tmp_path / "stderr.txt").read_text()


def test_processes_adopting_the_same_id_get_the_same_task(tmp_path, ledger_url):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=1.0))
    job = gw._create({"model": "kling/kling-v2-6", "prompt": "made in the console"})
    with serve_on_loopback(gw) as url:
        env = env_for(tmp_path / "home", url, VIDEOGEN_DOWNLOAD="1", **ledger_env(ledger_url))
        cmd = [sys.executable, "-m", "server", "adopt", "orcarouter", job.id, "--wait", "20"]
        procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        outs = [p.communicate(timeout=90) for p in procs]
        missing = subprocess.run([*cmd[:5], "task_nope", "--wait", "0"], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=60)
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err and KEY not in out + err
    results = [json.loads(out) for out, _ in outs]
    assert len({r["task_id"] for r in results}) == 1, results
    assert all(r["status"] == "succeeded" and r["upstream_task_id"] == job.id for r in results), results
    assert results[0]["model"] == "orcarouter/unknown"  # OrcaRouter's task view (Shape A) names no model
    assert missing.returncode == 1 and "has no task 'task_nope'; nothing was recorded" in missing.stderr
    assert gw.created == 1
