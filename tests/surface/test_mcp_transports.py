"""The installed `videogen-mcp` as real clients see it: a stdio subprocess (both eras) and streamable HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from fakes.served import http_server, server_env
from mcp.client.stdio import StdioServerParameters, stdio_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SCRIPT = Path(sys.executable).parent / "videogen-mcp"
SENTINEL = "sk-SENTINEL-DO-NOT-LEAK-5150"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_subprocess_generates_on_the_sandbox_with_progress(tmp_path, mode):
    events: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append(progress)

    # A configured (unreachable) gateway key proves the key never leaks into stderr or results.
    # DEBUG: every library's log lines reach stderr, where the redaction filter must catch the key.
    env = server_env(tmp_path, INFINITYBLUE_API_KEY=SENTINEL, INFINITYBLUE_BASE_URL="http://127.0.0.1:9",
                     VIDEOGEN_LOG_LEVEL="DEBUG")
    errlog = tmp_path / "stderr.txt"
    params = StdioServerParameters(command=str(SCRIPT), args=[], env=env)
    with errlog.open("w") as stderr:
        async with Client(stdio_client(params, errlog=stderr), mode=mode, read_timeout_seconds=60) as c:
            names = sorted(t.name for t in (await c.list_tools()).tools)
            assert names == ["generate_video", "get_video_task", "list_video_models"]
            r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a kite",
                                                     "wait_seconds": 30}, progress_callback=on_progress)
            await anyio.sleep(0.2)
            bad = await c.call_tool("generate_video", {"model": "infinityblue/kling-v2-5-turbo", "prompt": "x",
                                                       "duration": 99})
    task = r.structured_content
    assert task["status"] == "succeeded", r.content[0].text
    assert Path(task["local_path"]).read_bytes()[4:8] == b"ftyp"
    assert events and events == sorted(events)
    assert bad.is_error
    assert "videogen-mcp DEBUG" in errlog.read_text()  # the server's stderr really was captured
    for text in (r.content[0].text, bad.content[0].text, errlog.read_text(), str(task)):
        assert SENTINEL not in text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_serves_both_eras_with_host_checks(tmp_path, mode):
    with http_server(server_env(tmp_path)) as origin:
        url = f"{origin}/mcp"
        progress: list[float] = []

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append(p)

        async with Client(url, mode=mode) as c:
            r = await c.call_tool("generate_video", {"model": "sandbox/veo-sim", "prompt": "rain on glass",
                                                     "wait_seconds": 30}, progress_callback=on_progress)
        assert r.structured_content["status"] == "succeeded"
        assert r.structured_content["local_path"]  # HTTP saves too: the served copy is the link clients can open
        assert progress
        async with httpx2.AsyncClient() as raw:  # DNS-rebinding protection: a foreign Host is refused
            bad = await raw.post(url, headers={"Host": "evil.example", "Content-Type": "application/json"},
                                 content=b"{}")
        assert bad.status_code in (400, 403, 421)


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    env = server_env(tmp_path)
    done = subprocess.run([str(SCRIPT), "task", "vg_nope"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "no task" in done.stderr


def test_cli_generate_saves_an_mp4_on_the_sandbox(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([str(SCRIPT), "generate", "a lighthouse at dawn", "--out", str(out)],
                          env=server_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = list(out.glob("*.mp4"))
    assert len(files) == 1 and files[0].read_bytes()[4:8] == b"ftyp"
    assert str(files[0]) in done.stdout.replace("\n", "")


def test_cli_models_and_doctor(tmp_path):
    env = server_env(tmp_path)
    models = subprocess.run([str(SCRIPT), "models", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert models.returncode == 0 and "sandbox/kling-sim" in models.stdout
    doctor = subprocess.run([str(SCRIPT), "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert "ORCAROUTER_API_KEY" in doctor.stdout and "sandbox" in doctor.stdout


async def test_two_stdio_servers_on_one_home_same_key_make_one_upstream_task(tmp_path):
    """Claude Desktop's duplicate-process case, as clients see it: two real servers, one ledger, one key."""
    from fakes.gateways import Timeline, fake_for

    gw = fake_for("orcarouter", api_key=SENTINEL, timeline=Timeline(seconds=0.5))
    results: list[dict] = []
    with gw.serve() as base_url:
        env = server_env(tmp_path, VIDEOGEN_SANDBOX="0", ORCAROUTER_API_KEY=SENTINEL, ORCAROUTER_BASE_URL=base_url)
        args = {"model": "orcarouter/kling/kling-v2-6", "prompt": "one job", "duration": 5,
                "idempotency_key": "same-key", "wait_seconds": 30}

        async def one_server() -> None:
            async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=env), mode="legacy",
                              read_timeout_seconds=60) as c:
                await c.list_tools()
                results.append((await c.call_tool("generate_video", args)).structured_content)

        async with anyio.create_task_group() as tg:
            tg.start_soon(one_server)
            tg.start_soon(one_server)
    assert len(results) == 2 and results[0]["task_id"] == results[1]["task_id"]
    assert all(r["status"] == "succeeded" for r in results), results
    assert gw.created == 1 and len(gw.submits) == 1
