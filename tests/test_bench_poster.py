"""`python -m benchmarks --only poster` runs and measures what it says: a 10 s 1080p clip, ours beside the bare decode
of the same frame (its own process, as a person runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_poster_section_measures_a_10_s_1080p_clip_beside_the_bare_decode(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "poster", "--poster-reps", "1", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    facts = report["detail"]["poster"]["facts"]
    assert (facts["duration_s"], facts["width"], facts["height"], facts["has_audio"]) == (10.0, 1920, 1080, True)
    wall, cpu = report["rows"][0], report["rows"][1]
    assert wall["baseline_text"].startswith("bare decode of the same frame") and wall["ours"] > 0 < wall["baseline"]
    assert cpu["ours"] > 0 < cpu["baseline"] and cpu["passed"] is not None
    assert 5_000 < report["detail"]["poster"]["poster_bytes"] < 80_000
    assert "facts + poster" in (tmp_path / "latest.md").read_text()
