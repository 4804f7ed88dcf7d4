"""The public CI workflow runs the README's test command on Linux, macOS and Windows, for every supported Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

pytestmark = pytest.mark.skipif(not WORKFLOW.exists(), reason="the workflow is not shipped in the wheel")


def test_the_workflow_covers_three_platforms_and_the_supported_pythons():
    text = WORKFLOW.read_text(encoding="utf-8")
    assert re.search(r"os: \[ubuntu-latest, macos-latest, windows-latest\]", text)
    assert re.search(r'python: \["3\.11", "3\.12", "3\.13"\]', text)
    assert "fail-fast: false" in text  # one platform's failure must not hide another's


def test_the_workflow_runs_what_the_readme_and_ci_run():
    text = WORKFLOW.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[test]'" in readme and "pip install --quiet '.[test]'" in text
    assert re.search(r'"\$bin/pytest"\s*$', text, flags=re.M)  # the installed pytest, off the checkout's sys.path
    assert 'VIDEOGEN_EXPECT_INSTALLED: "1"' in text
    assert "bin=.venv/Scripts" in text  # Windows venvs keep their scripts there
