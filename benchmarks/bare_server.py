"""The baseline: a bare mcp 2.3 low-level server with one trivial tool, nothing else.

Started exactly like ours (a Python script on stdio, or streamable HTTP at /mcp under uvicorn), so the difference
between the two is what videogen-mcp adds. Kept deliberately minimal: only what any low-level server imports.

    python benchmarks/bare_server.py              # stdio
    python benchmarks/bare_server.py http PORT    # streamable HTTP at http://127.0.0.1:PORT/mcp
"""

import sys

import anyio
import mcp_types as t
from mcp.server import Server

TOOLS = [
    t.Tool(
        name="echo",
        description="Return the text it is given.",
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "additionalProperties": False},
    )
]


async def list_tools(ctx, params):
    return t.ListToolsResult(tools=TOOLS)


async def call_tool(ctx, params):
    text = str((params.arguments or {}).get("text", ""))
    return t.CallToolResult(content=[t.TextContent(text=text)])


server = Server("bare", version="0.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def run_stdio() -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        import uvicorn

        app = server.streamable_http_app(host="127.0.0.1")
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", lifespan="on")
    else:
        anyio.run(run_stdio)
