"""Completion callbacks for real: `serve --http` with a public URL asks the fake apimodels gateway (on its own
loopback port) to call back; the fake POSTs over HTTP when the job ends, and the task is seen finished at once
with no poll before the end. A forged callback (wrong token, unknown task, a lying body) changes nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from fakes.gateways import Timeline, fake_for
from fakes.served import free_port, http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
KEY = "sk-callback-test-0000"
TOKEN = "test-token-callbacks-4471"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_the_gateway_calls_back_and_forged_callbacks_change_nothing(tmp_path: Path):
    fake = fake_for("apimodels", api_key=KEY)
    fake.script(Timeline(seconds=1.5), Timeline(seconds=120))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with fake.serve() as gateway:
        # Max interval 5 s: a safety check every 20 s, so only the callback can end the first job within seconds.
        env = server_env(tmp_path, APIMODELS_API_KEY=KEY, APIMODELS_BASE_URL=gateway, VIDEOGEN_PUBLIC_URL=origin,
                         VIDEOGEN_HTTP_TOKEN=TOKEN, VIDEOGEN_POLL_MIN_INTERVAL="0.5",
                         VIDEOGEN_POLL_MAX_INTERVAL="5", VIDEOGEN_DOWNLOAD="0")
        with http_server(env, port=port):
            async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
                async with Client(streamable_http_client(f"{origin}/mcp", http_client=http), mode="legacy") as c:
                    started = time.monotonic()
                    done = await c.call_tool("generate_video", {"model": "apimodels/kling-video-o1",
                                                                "prompt": "a kite at dawn", "wait_seconds": 15})
                    took = time.monotonic() - started
                    waiting = await c.call_tool("generate_video", {"model": "apimodels/kling-video-o1",
                                                                   "prompt": "a slow river", "wait_seconds": 0})
                    task, slow = done.structured_content, waiting.structured_content
                    for _ in range(100):  # its submit runs in the background: until the gateway answered it
                        if slow["upstream_task_id"]:
                            break
                        await anyio.sleep(0.05)
                        slow = (await c.call_tool("get_video_task", {"task_id": slow["task_id"]})).structured_content
                    assert task["status"] == "succeeded", done.content[0].text
                    assert took < 8  # the end (1.5 s) was reported at once, not by a safety check at 20 s
                    first, second = fake.tasks[task["upstream_task_id"]], fake.tasks[slow["upstream_task_id"]]
                    ended = first.created + first.timeline.seconds
                    assert [p for p in first.polls if p < ended] == []  # no poll before the end
                    assert [status for tid, status, _ in fake.callbacks.sent if tid == first.id] == [200]
                    url = fake.submits[-1].json["callback_url"]
                    assert url.startswith(f"{origin}/callbacks/{slow['task_id']}/")
                    token = url.rsplit("/", 1)[1]

                    # Forgeries, without our bearer token (the gateway has none): each a 404, nothing polled.
                    async with httpx2.AsyncClient(timeout=10) as anyone:
                        base = f"{origin}/callbacks"
                        wrong = await anyone.post(f"{base}/{slow['task_id']}/{'x' * 32}", json={})
                        unknown = await anyone.post(f"{base}/vg_{'0' * 32}/{token}", json={})
                        other = await anyone.post(f"{base}/{task['task_id']}/{token}", json={})
                        assert wrong.status_code == unknown.status_code == other.status_code == 404
                        assert len(second.polls) == 0
                        # The right token with a lying body: the server reads the job back and believes the gateway.
                        lie = {"code": 200, "msg": "success", "data": {"taskId": second.id, "state": "completed",
                                                                       "resultUrls": ["https://evil.example/x.mp4"]}}
                        accepted = await anyone.post(f"{base}/{slow['task_id']}/{token}", json=lie)
                        assert accepted.status_code == 200
                        refused = await anyone.get(f"{origin}/mcp")  # /mcp itself still wants the bearer token
                        assert refused.status_code == 401
                    deadline = time.monotonic() + 5
                    while not second.polls and time.monotonic() < deadline:
                        await anyio.sleep(0.05)
                    assert len(second.polls) == 1  # read back from the gateway once, at once
                    again = await c.call_tool("get_video_task", {"task_id": slow["task_id"]})
                    assert again.structured_content["status"] in ("queued", "running")
                    assert "evil.example" not in str(again.structured_content)
        ledger = b"".join(p.read_bytes() for p in tmp_path.glob("tasks.sqlite3*"))
        assert token.encode() not in ledger  # only the token's digest is kept
        digests = sqlite3.connect(tmp_path / "tasks.sqlite3").execute(
            "SELECT COUNT(*) FROM tasks WHERE callback_digest IS NOT NULL").fetchone()[0]
        assert digests == 2
