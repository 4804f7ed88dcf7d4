"""Run by the LangChain interpreter (langchain-mcp-adapters pins mcp<2, so it lives in its own environment).

Drives our server through the adapters, builds the next ChatOpenAI (Chat Completions) request from the tool
result without sending it, and prints what happened as one JSON line for test_langchain.py to check.
usage: python langchain_probe.py CONNECTION_JSON ARGS_JSON [--callbacks]
"""

import asyncio
import json
import sys

from langchain_core.messages import AIMessage, HumanMessage
from langchain_mcp_adapters.callbacks import Callbacks
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_openai import ChatOpenAI


def chat_payload(tool_message):
    call = {"id": tool_message.tool_call_id, "name": tool_message.name, "args": {}}
    messages = [HumanMessage("Make a video of a paper boat."), AIMessage("", tool_calls=[call]), tool_message]
    return ChatOpenAI(model="gpt-4o-mini", api_key="x")._get_request_payload(messages)


async def main(connection: dict, args: dict, callbacks: bool) -> dict:
    progress = []

    async def on_progress(value, total, message, context):
        progress.append(value)

    client = MultiServerMCPClient({"videogen": connection},
                                  callbacks=Callbacks(on_progress=on_progress) if callbacks else None)
    tools = {tool.name: tool for tool in await client.get_tools()}
    out = {"tools": sorted(tools), "progress": progress, "calls": []}
    for name, arguments in (("generate_video", args), ("get_video_task", None)):
        if arguments is None:
            arguments = {"task_id": out["calls"][0]["task"]["task_id"], "wait_seconds": None}
        message = await tools[name].ainvoke({"type": "tool_call", "id": "call_1", "name": name, "args": arguments})
        entry = {"status": message.status, "task": (message.artifact or {}).get("structured_content")}
        try:
            entry["sent"] = chat_payload(message)["messages"][-1]
        except ValueError as exc:
            entry["refused"] = str(exc)
        out["calls"].append(entry)
    try:  # the failure this guards against: a file block (what the adapters make of a resource_link)
        from langchain_core.messages import ToolMessage

        chat_payload(ToolMessage(content=[{"type": "file", "url": "videogen://videos/x", "mime_type": "video/mp4"}],
                                 tool_call_id="call_1", name="generate_video"))
    except ValueError as exc:
        out["file_block_refused"] = str(exc)
    return out


if __name__ == "__main__":
    result = asyncio.run(main(json.loads(sys.argv[1]), json.loads(sys.argv[2]), "--callbacks" in sys.argv))
    print(json.dumps(result))
