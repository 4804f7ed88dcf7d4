"""The README stays honest: its configuration table, tool table and quick start match the code and CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(not README.exists(), reason="README is not shipped in the wheel")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def documented_variables() -> set[str]:
    section = readme().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))


def test_every_setting_is_documented_and_nothing_else():
    aliases = {field.validation_alias.choices[0] for field in Settings.model_fields.values()}
    assert documented_variables() == aliases


def test_every_tool_and_argument_is_documented(server):
    import anyio
    from mcp import Client

    async def tools():
        async with Client(server) as c:
            return (await c.list_tools()).tools

    text = readme().split("## Tools", 1)[1].split("\n## ", 1)[0]
    for tool in anyio.run(tools):
        assert f"`{tool.name}`" in text
        for argument in tool.input_schema["properties"]:
            assert f"`{argument}`" in text, f"{tool.name}.{argument} is not in the README's tool table"


def test_quick_start_test_command_is_what_ci_runs():
    quick = readme().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick, flags=re.S)
    assert len(commands) == 2, "the quick start is two commands"
    assert "videogen-mcp generate" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    # CI installs the README's `.[test]` (plus the frameworks extra its tests need, never less) and runs pytest.
    assert re.search(r"pip install --quiet '\.\[test[],]", ci) and "/bin/pytest" in ci and "pytest" in commands[1]
    assert ".venv/bin/pip install '.[test]'" in commands[1]
