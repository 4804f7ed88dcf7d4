"""Replicas: real `videogen-mcp serve --http` processes, each with its own home (videos folder), on one PostgreSQL
ledger, the real OrcaRouter adapter against a loopback fake gateway, the SDK's HTTP client. One idempotency key sent
to two replicas at once is one upstream job; a task started on one is waited on and finished by another; a replica
killed with kill -9 mid-job loses nothing (another one's sweep finishes it, nobody asking); a replica without the
saved file fetches the same job's video again."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest
from fakes.engine_stubs import GATEWAY_KEY as KEY
from fakes.engine_stubs import server_env
from fakes.gateways import Timeline, fake_for, serve_on_loopback
from fakes.served import http_process
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
MODEL = "orcarouter/kling/kling-v2-6"
LEASE_TTL = 30.0  # server.engine.schedule.Timing's default: a dead replica's tasks are taken up within it


async def call(origin: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=60) as http:
        async with Client(streamable_http_client(f"{origin}/mcp", http_client=http), mode="legacy") as c:
            result = await c.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return {**result.structured_content, "text": result.content[0].text}


def replicas(stack: ExitStack, tmp_path: Path, gateway_url: str, database_url: str, n: int = 2) -> list[Any]:
    """n replicas on one ledger, each with its own home; [(origin, process, home)]."""
    out = []
    for i in range(n):
        home = tmp_path / f"replica{i}"
        env = server_env(home, gateway_url, VIDEOGEN_DATABASE_URL=database_url, VIDEOGEN_DOWNLOAD="1")
        origin, proc = stack.enter_context(http_process(env))
        out.append((origin, proc, home))
    return out


async def test_one_key_at_two_replicas_at_once_is_one_job_and_each_serves_the_video(tmp_path, postgres):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=1.0))
    with ExitStack() as stack:
        url = stack.enter_context(serve_on_loopback(gw))
        (a, _, home_a), (b, _, home_b) = replicas(stack, tmp_path, url, postgres.new_database())
        job = {"model": MODEL, "prompt": "one key, two replicas", "duration": 5, "idempotency_key": "team-key-1",
               "wait_seconds": 30}
        results: dict[str, dict[str, Any]] = {}

        async def start(origin: str) -> None:
            results[origin] = await call(origin, "generate_video", job)

        async with anyio.create_task_group() as tg:
            tg.start_soon(start, a)
            tg.start_soon(start, b)
        assert results[a]["task_id"] == results[b]["task_id"]
        assert results[a]["status"] == results[b]["status"] == "succeeded", results
        assert gw.created == 1 and len(gw.submits) == 1  # one upstream job for the key

        # The replica that held the lease saved the video in its own folder. As if the other ran on another machine,
        # the file leaves this one's reach: the other then lacks it, says so, and fetches the same job's video.
        task_id = results[a]["task_id"]
        homes = {a: home_a, b: home_b}
        holder = next(o for o in (a, b) if (homes[o] / "videos" / f"{task_id}.mp4").exists())
        other = b if holder == a else a
        saved = homes[holder] / "videos" / f"{task_id}.mp4"
        original = saved.read_bytes()
        saved.rename(tmp_path / "elsewhere.mp4")
        seen = await call(other, "get_video_task", {"task_id": task_id})
        assert "another replica" in seen["warning"] and "no new job" in seen["warning"]
        async with httpx2.AsyncClient(timeout=60) as http:
            video = await http.get(f"{other}/videos/{task_id}.mp4")
        assert video.status_code == 200 and video.content == original
        copy = homes[other] / "videos" / f"{task_id}.mp4"
        assert copy.read_bytes() == original and gw.created == 1  # fetched again, never regenerated
        seen = await call(other, "get_video_task", {"task_id": task_id})
        assert seen["local_path"] == str(copy) and seen.get("warning") is None


async def test_a_task_started_on_one_replica_is_waited_on_and_finished_by_another(tmp_path, postgres):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=2.0))
    with ExitStack() as stack:
        url = stack.enter_context(serve_on_loopback(gw))
        (a, proc_a, _), (b, _, home_b) = replicas(stack, tmp_path, url, postgres.new_database())
        started = await call(a, "generate_video", {"model": MODEL, "prompt": "started on A", "duration": 5,
                                                   "wait_seconds": 0.3})
        assert started["status"] in ("queued", "running"), started
        listed = await call(b, "get_video_task", {"task_id": started["task_id"]})
        assert listed["status"] in ("queued", "running")  # visible on B at once
        proc_a.kill()  # kill -9 mid-job, while A polls it
        proc_a.wait()
        done = await call(b, "get_video_task", {"task_id": started["task_id"], "wait_seconds": 30})
    assert done["status"] == "succeeded", done
    assert done["upstream_task_id"] == started["upstream_task_id"] and gw.created == 1
    assert Path(done["local_path"]).parent == home_b / "videos" and Path(done["local_path"]).exists()


async def test_a_replica_killed_mid_job_loses_nothing_nobody_asking(tmp_path, postgres):
    gw = fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=2.0))
    database = postgres.new_database()
    with ExitStack() as stack:
        url = stack.enter_context(serve_on_loopback(gw))
        (a, proc_a, _), (b, _, home_b) = replicas(stack, tmp_path, url, database)
        started = await call(a, "generate_video", {"model": MODEL, "prompt": "left behind", "duration": 5,
                                                   "wait_seconds": 0.3})
        proc_a.kill()
        proc_a.wait()
        killed = time.monotonic()
        # Nobody calls B about it: B's periodic sweep finds the dead replica's lease and finishes the task.
        state = None
        while time.monotonic() - killed < LEASE_TTL + 10:
            with psycopg.connect(database, autocommit=True) as conn:
                state = conn.execute("SELECT state, download_state, local_path FROM tasks WHERE task_id = %s",
                                     (started["task_id"],)).fetchone()
            if state[0] == "succeeded" and state[1] == "done":
                break
            await anyio.sleep(0.5)
        took = time.monotonic() - killed
    assert state is not None and state[:2] == ("succeeded", "done"), state
    assert took < LEASE_TTL, took
    assert Path(state[2]).parent == home_b / "videos" and gw.created == 1
