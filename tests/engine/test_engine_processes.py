"""Real OS processes: several servers on one VIDEOGEN_HOME given one idempotency_key make one upstream task."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.engine_stubs import GATEWAY_KEY as KEY
from fakes.engine_stubs import server_env as env_for
from fakes.gateways import Timeline, fake_for, serve_on_loopback
from fakes.postgres import ledger_env

pytestmark = pytest.mark.slow


def test_several_processes_one_key_one_upstream_task(tmp_path, ledger_url):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=1.0))
    with serve_on_loopback(gw) as url:
        env = env_for(tmp_path / "home", url, **ledger_env(ledger_url))
        go_at = f"{time.time() + 4:.3f}"
        worker = str(Path(__file__).with_name("mp_worker.py"))
        procs = [subprocess.Popen([sys.executable, worker, go_at, "one-key-many-processes"], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=90) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err and KEY not in out + err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert len({r["task_id"] for r in results}) == 1
    assert sum(not r["reused"] for r in results) == 1
    assert all(r["status"] == "succeeded" for r in results), [(r["status"], r.get("error"), r.get("warning"))
                                                              for r in results]
    assert gw.created == 1 and len(gw.submits) == 1
    assert len({r["local_path"] for r in results}) == 1 and Path(results[0]["local_path"]).exists()
