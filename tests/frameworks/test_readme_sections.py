"""The README's framework snippets are the code the framework tests run (modulo the test's own environment)."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).parents[2] / "README.md").read_text()
HERE = Path(__file__).parent


def normalized(code: str) -> str:
    """Drop what only the tests add: their command path and environment."""
    code = code.replace('"command": str(SCRIPT)', '"command": "videogen-mcp"')
    code = re.sub(r', "env": server_env\([^)]*\)', "", code)
    code = re.sub(r"params=\{\"url\": http_url\}", 'params={"url": "http://127.0.0.1:8000/mcp"}', code)
    return re.sub(r"MCPToolset\(http_url[^)]*\)", 'MCPToolset("http://127.0.0.1:8000/mcp")', code)


def test_each_framework_snippet_is_the_tested_code():
    tested = "".join(normalized(p.read_text()) for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    tested = re.sub(r"\s+", " ", tested)
    snippets = {
        "Agents SDK": ['MCPServerStdio(params={"command": "videogen-mcp", "args": []}',
                       'MCPServerStreamableHttp(params={"url": "http://127.0.0.1:8000/mcp"}, name="videogen")',
                       'Agent(name="director", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True})'],
        "LangChain": ['{"transport": "stdio", "command": "videogen-mcp", "args": []}'],
        "Pydantic AI": ['MCPToolset("http://127.0.0.1:8000/mcp")'],
    }
    for framework, lines in snippets.items():
        for line in lines:
            assert line in README, f"README {framework} section lost {line!r}"
            assert line in tested, f"the {framework} tests no longer run {line!r}"
