"""Real OS processes: several servers on one VIDEOGEN_HOME given one idempotency_key make one upstream task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.gateways import Timeline, fake_for, serve_on_loopback

import server

pytestmark = pytest.mark.slow
KEY = "sk-orca-SENTINEL-777"
ROOT = Path(server.__file__).resolve().parent.parent  # the checkout, or site-packages when installed


def env_for(home: Path, base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("VIDEOGEN_")}
    env.update(VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX="0", ORCAROUTER_API_KEY=KEY, ORCAROUTER_BASE_URL=base_url,
               VIDEOGEN_ALLOW_PRIVATE_URLS="1", VIDEOGEN_POLL_MIN_INTERVAL="0.05", VIDEOGEN_POLL_MAX_INTERVAL="0.2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])), **extra)
    return env


def test_several_processes_one_key_one_upstream_task(tmp_path):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=1.0))
    with serve_on_loopback(gw) as url:
        env = env_for(tmp_path / "home", url)
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
    assert all(r["status"] == "succeeded" for r in results), results
    assert gw.created == 1 and len(gw.submits) == 1
    assert len({r["local_path"] for r in results}) == 1 and Path(results[0]["local_path"]).exists()
