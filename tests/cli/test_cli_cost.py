"""Cost at the command line: `generate --dry-run` sends nothing, `--max-cost` refuses before sending, `spend`
sums the ledger's estimates, `tasks` shows each task's estimate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fakes.served import server_env

SCRIPT = Path(sys.executable).parent / "videogen-mcp"
# A gateway whose base URL answers nothing: a refusal or a dry run that tried to send would fail differently.
APIMODELS = {"APIMODELS_API_KEY": "sk-cli-cost-0001", "APIMODELS_BASE_URL": "http://127.0.0.1:9"}


def run(home: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *argv], env=server_env(home, COLUMNS="160", **env), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_generate_dry_run_shows_the_estimate_and_the_body_and_records_nothing(tmp_path):
    done = run(tmp_path, "generate", "a harbour", "--model", "apimodels/kling-v3-omni", "--duration", "5",
               "--dry-run", "--json", **APIMODELS)
    assert done.returncode == 0, done.stderr
    dry = json.loads(done.stdout)
    assert dry["dry_run"] and dry["estimate"]["usd"] == 0.3165 and dry["send"]["body"]["duration"] == "5"
    assert "sk-cli-cost-0001" not in done.stdout + done.stderr
    listing = run(tmp_path, "tasks", "--json", **APIMODELS)
    assert json.loads(listing.stdout)["tasks"] == []


def test_max_cost_refuses_before_sending_and_names_the_flag(tmp_path):
    done = run(tmp_path, "generate", "a harbour", "--model", "apimodels/kling-v3-omni", "--duration", "10",
               "--max-cost", "0.5", **APIMODELS)
    assert done.returncode != 0
    assert "$0.6330" in done.stderr and "Nothing was sent" in done.stderr and "--max-cost" in done.stderr


def test_above_the_confirmation_threshold_a_script_must_pass_max_cost(tmp_path):
    done = run(tmp_path, "generate", "a harbour", "--model", "apimodels/kling-v3-omni", "--duration", "5",
               VIDEOGEN_CONFIRM_ABOVE_USD="0.1", **APIMODELS)
    assert done.returncode != 0 and "--max-cost=0.3165" in done.stderr and "not a terminal" in done.stderr


def test_spend_sums_the_estimates_per_provider_and_tasks_shows_them(tmp_path):
    assert run(tmp_path, "generate", "a kite", "--model", "sandbox/kling-sim").returncode == 0
    spent = run(tmp_path, "spend", "--json", VIDEOGEN_BUDGET_USD="2")
    assert spent.returncode == 0, spent.stderr
    report = json.loads(spent.stdout)
    today = report["periods"]["day"]
    assert today["tasks"] == 1 and today["usd"] == 0.0 and today["providers"][0]["provider"] == "sandbox"
    assert report["budget"] == {"usd": 2.0, "period": "day", "left_usd": 2.0}
    assert set(report["periods"]) == {"day", "week", "month"}
    table = run(tmp_path, "spend")
    assert "today" in table.stdout and "sandbox" in table.stdout and "No budget is set" in table.stdout
    assert "~$0.00" in run(tmp_path, "tasks").stdout
