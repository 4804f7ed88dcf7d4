"""tools/list stays small: every client keeps it in the model's context on every turn. With all five gateways
configured, the result (compact JSON, as it arrives over stdio) must stay within 6,000 bytes; peers send 11-20 KB.
benchmarks/startup.py reports the same figure beside the cold start."""

from __future__ import annotations

import json
import subprocess

from fakes.served import SCRIPT, server_env

LIMIT = 6000
GATEWAYS = ("ORCAROUTER", "OMNIROUTERS", "OCTOPUSX", "APIMODELS", "INFINITYBLUE")


def tools_list_bytes(env: dict[str, str]) -> tuple[int, dict]:
    """Speak to a real stdio server as a client does: one request, wait for its answer, then the next."""
    proc = subprocess.Popen([str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdin and proc.stdout

    def send(message: dict) -> None:
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()

    def answer(request_id: int) -> dict:
        while line := proc.stdout.readline():
            message = json.loads(line)
            if message.get("id") == request_id:
                return message["result"]
        raise AssertionError("the server closed stdout before answering")

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "size-test", "version": "1"}}})
        answer(1)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        result = answer(2)
    finally:
        proc.stdin.close()
        proc.wait(20)
    return len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()), result


def test_tools_list_with_all_five_gateways_fits_6000_bytes(tmp_path):
    keys = {f"{g}_API_KEY": f"sk-size-{g.lower()}" for g in GATEWAYS}
    urls = {f"{g}_BASE_URL": "http://127.0.0.1:9" for g in GATEWAYS}  # never contacted by tools/list
    size, result = tools_list_bytes(server_env(tmp_path, **keys, **urls))
    assert {tool["name"] for tool in result["tools"]} >= {"generate_video", "get_video_task", "list_video_models"}
    parts = {tool["name"]: len(json.dumps(tool, separators=(",", ":"))) for tool in result["tools"]}
    assert size <= LIMIT, f"tools/list is {size:,} B (limit {LIMIT:,}); per tool: {parts}"
