"""Real OS processes racing for the last dollars of one budget: the reservation is taken in the ledger transaction
that records the task, so with a budget that fits two jobs, four concurrent submits from two processes create
exactly two upstream tasks, and the two refused calls say why."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.engine_stubs import GATEWAY_KEY as KEY
from fakes.engine_stubs import server_env
from fakes.gateways import Timeline, fake_for, serve_on_loopback

pytestmark = pytest.mark.slow


def test_four_submits_from_two_processes_on_a_budget_for_two_create_two_upstream_tasks(tmp_path):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=30))
    with serve_on_loopback(gw) as url:
        # kling-v2-6, std, 5 s: $0.21 a clip at Kling's list price; $0.50 fits two, not three
        env = server_env(tmp_path / "home", url, VIDEOGEN_BUDGET_USD="0.5")
        go_at = f"{time.time() + 5:.3f}"
        worker = str(Path(__file__).with_name("budget_worker.py"))
        procs = [subprocess.Popen([sys.executable, worker, go_at, name], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in "ab"]
        outs = [p.communicate(timeout=90) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err and KEY not in out + err
    results = [json.loads(line) for out, _ in outs for line in out.strip().splitlines()]
    assert len(results) == 4
    won = [r for r in results if not r["error"]]
    refused = [r for r in results if r["error"]]
    assert len(won) == 2 and len(refused) == 2, [r["text"] for r in results]
    assert gw.created == 2 and len(gw.submits) == 2
    for r in refused:
        assert "more than the budget has left" in r["text"] and "$0.4200 of $0.5" in r["text"]
    assert all(r["task"]["cost"]["estimate_usd"] == 0.21 for r in won)
