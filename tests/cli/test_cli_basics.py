"""The installed `videogen-mcp` command as a person uses it (subprocesses, keyless sandbox)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fakes.served import clean_env, server_env

SCRIPT = Path(sys.executable).parent / "videogen-mcp"


def run(home: Path, *argv: str, columns: int = 120) -> subprocess.CompletedProcess[str]:
    env = server_env(home, COLUMNS=str(columns))
    return subprocess.run([str(SCRIPT), *argv], env=env, capture_output=True, text=True, timeout=60)


def test_version():
    done = run(Path("/nonexistent"), "--version")
    assert done.returncode == 0 and re.fullmatch(r"videogen-mcp \d+\.\d+\.\d+\S*\n", done.stdout)


def test_generate_prints_the_full_id_and_no_wait_returns_it_at_once(tmp_path):
    done = run(tmp_path, "generate", "a kite", "--model", "sandbox/veo-sim", "--seed", "7")
    assert done.returncode == 0, done.stderr
    task_id = re.search(r"Task: (vg_[0-9a-f]{32})", done.stdout).group(1)
    started = run(tmp_path, "generate", "another kite", "--no-wait")
    assert started.returncode == 0 and re.fullmatch(r"vg_[0-9a-f]{32}\n", started.stdout), started.stdout
    assert f"videogen-mcp task {started.stdout.strip()} --wait" in started.stderr
    listing = run(tmp_path, "tasks", columns=80)
    assert task_id in listing.stdout and started.stdout.strip() in listing.stdout, "full ids even at 80 columns"
    shown = run(tmp_path, "task", task_id, "--json")
    assert json.loads(shown.stdout)["task_id"] == task_id and shown.stderr == ""


def test_generate_json_prints_the_task(tmp_path):
    done = run(tmp_path, "generate", "a kite", "--json", "--audio", "--resolution", "1080p",
               "--negative-prompt", "blur")
    task = json.loads(done.stdout)
    assert done.returncode == 0 and task["status"] == "succeeded" and task["local_path"]


def test_serve_http_says_where_it_listens(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = clean_env(tmp_path)
    proc = subprocess.Popen([str(SCRIPT), "serve", "--http", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    assert line.strip() == f"videogen-mcp: serving MCP over streamable HTTP at http://127.0.0.1:{port}/mcp"


def test_catalogs_browse_without_keys_marked_inactive(tmp_path):
    one = run(tmp_path, "models", "--provider", "orcarouter", "--json")
    rows = json.loads(one.stdout)["models"]
    assert one.returncode == 0 and rows and {m["provider"] for m in rows} == {"orcarouter"}
    assert all(m["active"] is False and m["note"] == "no key: set ORCAROUTER_API_KEY to use" for m in rows)
    table = run(tmp_path, "models", "--provider", "orcarouter", columns=200)
    assert table.returncode == 0 and "orcarouter: inactive, no key: set ORCAROUTER_API_KEY to use" in table.stdout
    every = json.loads(run(tmp_path, "models", "--all", "--json").stdout)["models"]
    active = {m["provider"]: m["active"] for m in every}
    assert active.pop("sandbox") is True and len(active) == 5 and not any(active.values())
    default = run(tmp_path, "models", "--json")
    assert {m["provider"] for m in json.loads(default.stdout)["models"]} == {"sandbox"}
    assert "models --all" in run(tmp_path, "models").stderr
    unknown = run(tmp_path, "models", "--provider", "nope")
    assert unknown.returncode == 1 and "known: orcarouter" in unknown.stderr


def test_doctor_json_reports_providers_and_home(tmp_path):
    done = run(tmp_path, "doctor", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] is True and report["home"] == str(tmp_path)
    providers = {p["provider"]: p for p in report["providers"]}
    assert providers["sandbox"]["configured"] is True and providers["sandbox"]["reachable"] is True
    assert providers["orcarouter"] == {"provider": "orcarouter", "configured": False, "base_url": None,
                                       "reachable": None}
    assert report["gateway_key_set"] is False and report["home_writable"] is True


def test_texts_name_cli_commands_not_mcp_tools(tmp_path):
    task_id = run(tmp_path, "generate", "a kite [stuck]", "--no-wait").stdout.strip()
    shown = run(tmp_path, "task", task_id)
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] in ("queued", "running")
    assert f"`videogen-mcp task {task_id} --wait 60`" in shown.stderr, shown.stderr
    assert "`videogen-mcp generate` again" in shown.stderr
    assert not any(tool in shown.stderr for tool in ("get_video_task", "generate_video", "wait_seconds"))
    refused = run(tmp_path, "generate", "a kite", "--model", "sandbox/no-such-model")
    assert refused.returncode == 1 and "`videogen-mcp models`" in refused.stderr, refused.stderr
    assert "list_video_models" not in refused.stderr
