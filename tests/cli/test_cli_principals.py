"""The operator's `spend` with principals: each has its own budget, so `--principal NAME` shows one's spend and what
it has left, and with several principals configured the sum over everyone claims no budget left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
from fakes.engine_stubs import make_row
from fakes.served import server_env

from server.ledger.store import Ledger

SCRIPT = Path(sys.executable).parent / "videogen-mcp"


def spend(home: Path, *argv: str, **env: str) -> dict:
    done = subprocess.run([str(SCRIPT), "spend", "--json", *argv], env=server_env(home, **env), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_spend_per_principal_and_the_budget_each_has_left(tmp_path):
    async def record() -> None:
        ledger = Ledger(tmp_path / "tasks.sqlite3")
        for prompt, usd, who in (("a", 0.75, "alice"), ("b", 0.5, "bob"), ("c", 0.25, "bob")):
            await ledger.create(make_row(prompt=prompt, cost_usd=usd, cost_basis="x", principal=who), dedupe_window=0)
        ledger.close()

    anyio.run(record)
    bob = spend(tmp_path, "--principal", "bob", VIDEOGEN_BUDGET_USD="2")
    assert bob["principal"] == "bob" and bob["periods"]["day"]["usd"] == 0.75 and bob["periods"]["day"]["tasks"] == 2
    assert bob["budget"] == {"usd": 2.0, "period": "day", "left_usd": 1.25}
    everyone = spend(tmp_path, VIDEOGEN_BUDGET_USD="2", VIDEOGEN_HTTP_TOKENS="alice:tok-a-1,bob:tok-b-2")
    assert everyone["periods"]["day"]["usd"] == 1.5 and everyone["budget"]["left_usd"] is None
    table = subprocess.run([str(SCRIPT), "spend"], capture_output=True, text=True, timeout=60,
                           env=server_env(tmp_path, VIDEOGEN_BUDGET_USD="2", VIDEOGEN_HTTP_TOKENS="alice:tok-a-1"))
    assert "for each principal" in table.stdout and "--principal NAME" in table.stdout
