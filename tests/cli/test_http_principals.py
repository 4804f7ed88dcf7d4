"""Principals over a real `serve --http` (uvicorn on loopback, the SDK's HTTP client): VIDEOGEN_HTTP_TOKENS names who
calls, and a principal never sees another's tasks, videos, resources or task ids; idempotency keys and the dedupe
window are per principal; a session answers only the token that opened it; a blank token is no token."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from typing import Any, Literal

import httpx2
import mcp_types as t
import pytest
from fakes.gateways import Timeline, fake_for
from fakes.served import SCRIPT, clean_env, free_port, http_server, server_env
from mcp import Client
from mcp.client import ClientExtension
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from server.surface.tasks_ext import TASKS_EXT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
ALICE, BOB = "alice-token-5521-q", "bob-token-8830-z"
TOKENS = f"alice:{ALICE}, bob:{BOB}"
MISSING = "vg_" + "0" * 32


class TaskParams(t.RequestParams):
    task_id: str


class GetTask(t.Request[TaskParams, Literal["tasks/get"]]):  # SEP-2663's tasks/get, as a task-aware client sends it
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param = "taskId"


class TasksExtension(ClientExtension):
    identifier = TASKS_EXT


@asynccontextmanager
async def connect(origin: str, token: str | None, **options: Any) -> AsyncIterator[tuple[Client, httpx2.AsyncClient]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        transport = streamable_http_client(f"{origin}/mcp", http_client=http)
        async with Client(transport, **{"mode": "legacy", **options}) as client:
            yield client, http


async def generate(client: Client, prompt: str, **extra) -> str:
    r = await client.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": prompt, **extra})
    assert not r.is_error, r.content[0].text
    return r.structured_content["task_id"]


async def test_a_principal_never_sees_another_principals_tasks_videos_resources_or_ids(tmp_path):
    with http_server(server_env(tmp_path, VIDEOGEN_HTTP_TOKENS=TOKENS)) as origin:
        async with connect(origin, ALICE) as (alice, alice_http):
            hers = await generate(alice, "a lighthouse", wait_seconds=30)
            assert (await alice_http.get(f"{origin}/videos/{hers}.mp4")).status_code == 200
        async with connect(origin, BOB) as (bob, bob_http):
            seen = await bob.call_tool("get_video_task", {"task_id": hers})
            assert seen.is_error and "not found" in seen.content[0].text
            his = await generate(bob, "a lighthouse", wait_seconds=30)  # her identical request is not his job
            assert his != hers
            missing = await bob.call_tool("get_video_task", {"task_id": MISSING})
            assert his in missing.content[0].text and hers not in missing.content[0].text  # only his recent ids

            uris = [str(r.uri) for r in (await bob.list_resources()).resources]
            assert f"videogen://tasks/{his}" in uris and f"videogen://videos/{his}" in uris
            assert not [u for u in uris if hers in u]
            listing = await bob.read_resource("videogen://tasks")
            assert [t["task_id"] for t in json.loads(listing.contents[0].text)["tasks"]] == [his]
            for uri in (f"videogen://tasks/{hers}", f"videogen://videos/{hers}"):
                with pytest.raises(MCPError, match="no such task"):
                    await bob.read_resource(uri)
            assert (await bob_http.get(f"{origin}/videos/{hers}.mp4")).status_code == 404
            assert (await bob_http.get(f"{origin}/videos/{his}.mp4")).status_code == 200
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {BOB}"}, timeout=60) as http:
            modern = Client(streamable_http_client(f"{origin}/mcp", http_client=http), extensions=[TasksExtension()])
            async with modern as tasks_client:  # the tasks extension's handle is no way in either
                with pytest.raises(MCPError, match="Unknown task"):
                    await tasks_client.session.send_request(GetTask(params=TaskParams(task_id=hers)), t.Result)
        async with connect(origin, ALICE) as (alice, _):
            assert (await alice.call_tool("get_video_task", {"task_id": his})).is_error
            assert (await alice.call_tool("get_video_task", {"task_id": hers})).structured_content["task_id"] == hers


async def test_the_same_idempotency_key_from_two_principals_is_two_tasks(tmp_path):
    with http_server(server_env(tmp_path, VIDEOGEN_HTTP_TOKENS=TOKENS)) as origin:
        async with connect(origin, ALICE) as (alice, _):
            first = await generate(alice, "rain on a window", idempotency_key="retry-7", wait_seconds=0)
            again = await alice.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "rain on a window",
                                                             "idempotency_key": "retry-7", "wait_seconds": 0})
            assert again.structured_content["task_id"] == first  # her retry: her task, nothing new billed
        async with connect(origin, BOB) as (bob, _):
            r = await bob.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "rain on a window",
                                                       "idempotency_key": "retry-7", "wait_seconds": 30})
        assert r.structured_content["task_id"] != first and first not in r.content[0].text
        assert r.structured_content["status"] == "succeeded", r.content[0].text


async def test_a_session_answers_only_the_token_that_opened_it_and_unknown_tokens_get_401(tmp_path):
    with http_server(server_env(tmp_path, VIDEOGEN_HTTP_TOKENS=TOKENS)) as origin:
        opening = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
        accept = {"Accept": "application/json, text/event-stream"}
        async with httpx2.AsyncClient(timeout=30) as http:
            opened = await http.post(f"{origin}/mcp", json=opening,
                                     headers={**accept, "Authorization": f"Bearer {ALICE}"})
            session = opened.headers["mcp-session-id"]
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            stolen = await http.post(f"{origin}/mcp", json=ping, headers={
                **accept, "Authorization": f"Bearer {BOB}", "Mcp-Session-Id": session})
            own = await http.post(f"{origin}/mcp", json=ping, headers={
                **accept, "Authorization": f"Bearer {ALICE}", "Mcp-Session-Id": session})
            unknown = await http.post(f"{origin}/mcp", json=opening, headers={**accept, "Authorization": "Bearer nope"})
            bare = await http.post(f"{origin}/mcp", json=opening, headers=accept)
    assert opened.status_code == 200 and own.status_code == 200
    assert stolen.status_code == 404  # as if the session did not exist
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == 'Bearer realm="videogen-mcp"'
    assert ALICE not in unknown.text and BOB not in unknown.text


def serve_off_loopback(home, **env: str) -> subprocess.CompletedProcess:
    """`serve --http --host 0.0.0.0` that must refuse before binding anything (killed after 20 s otherwise)."""
    return subprocess.run([str(SCRIPT), "serve", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
                          env=clean_env(home, **env), capture_output=True, text=True, timeout=20)


def test_a_blank_token_is_no_token_so_serving_off_loopback_is_refused(tmp_path):
    for blank in ("", "   "):
        out = serve_off_loopback(tmp_path, VIDEOGEN_HTTP_TOKEN=blank, VIDEOGEN_HTTP_TOKENS=" ")
        assert out.returncode == 1
        assert "refusing to serve on 0.0.0.0 without authentication" in out.stderr
        assert "VIDEOGEN_HTTP_TOKENS" in out.stderr and "Traceback" not in out.stderr


def test_malformed_token_pairs_are_refused_without_showing_a_token(tmp_path):
    secret = "s3cret-value-991"
    for tokens, says in ((f"alice:{ALICE}, {secret}", "entry 2 is not 'principal:token'"),
                         (f"alice:{secret}, bob:{secret}", "same token"),
                         (f"alice:{ALICE}, alice:{secret}", "'alice' is named twice")):
        out = serve_off_loopback(tmp_path, VIDEOGEN_HTTP_TOKENS=tokens)
        assert out.returncode == 1 and says in out.stderr, out.stderr
        assert secret not in out.stderr and ALICE not in out.stderr
    both = serve_off_loopback(tmp_path, VIDEOGEN_HTTP_TOKEN=ALICE, VIDEOGEN_OAUTH_ISSUER="https://id.example")
    assert both.returncode == 1 and "exclusive" in both.stderr


async def test_on_loopback_a_blank_token_serves_like_no_token_at_all(tmp_path):
    with http_server(server_env(tmp_path, VIDEOGEN_HTTP_TOKEN="  ")) as origin:
        async with connect(origin, None) as (client, _):  # before: a blank token failed every request, silently
            names = [t.name for t in (await client.list_tools()).tools]
    assert "generate_video" in names


async def test_one_token_is_one_principal_that_sees_the_tasks_made_before_principals(tmp_path):
    with http_server(server_env(tmp_path)) as origin:  # loopback, no token: the default principal
        async with connect(origin, None) as (client, _):
            earlier = await generate(client, "a kite", wait_seconds=0)
    with http_server(server_env(tmp_path, VIDEOGEN_HTTP_TOKEN=ALICE)) as origin:
        async with connect(origin, ALICE) as (client, _):
            r = await client.call_tool("get_video_task", {"task_id": earlier})
    assert not r.is_error and r.structured_content["task_id"] == earlier


async def test_a_sealed_cost_question_answers_only_the_principal_it_was_asked_of(tmp_path):
    """2026-07-28's input_required hands the client a sealed requestState; the SDK binds it to the authenticated
    principal (the guard sets the SDK's auth context), so another principal cannot approve with it."""
    key = "sk-PRINCIPAL-CONFIRM-3301"
    job = {"model": "apimodels/kling-v3-omni", "prompt": "a harbour", "duration": 5, "wait_seconds": 5}
    gw = fake_for("apimodels", api_key=key, timeline=Timeline(seconds=0))
    yes = {"confirm_cost": t.ElicitResult(action="accept", content={"confirm": True})}
    asks = {"mode": "auto", "elicitation_callback": lambda *_: None}  # the capability; the test answers itself
    with gw.serve() as gateway_url:
        env = server_env(tmp_path, APIMODELS_API_KEY=key, APIMODELS_BASE_URL=gateway_url, VIDEOGEN_SANDBOX="0",
                         VIDEOGEN_CONFIRM_ABOVE_USD="0.25", VIDEOGEN_ALLOW_PRIVATE_URLS="1",
                         VIDEOGEN_HTTP_TOKENS=TOKENS)
        with http_server(env, args=("--stateless",)) as origin:
            async with connect(origin, ALICE, **asks) as (alice, _):
                asked = await alice.session.call_tool("generate_video", job, allow_input_required=True)
                assert isinstance(asked, t.InputRequiredResult) and asked.request_state
                async with connect(origin, BOB, **asks) as (bob, _):
                    with pytest.raises(MCPError, match="Invalid or expired requestState"):
                        await bob.session.call_tool("generate_video", job, input_responses=yes,
                                                    request_state=asked.request_state)
                assert gw.requests == []
                done = await alice.session.call_tool("generate_video", job, input_responses=yes,
                                                     request_state=asked.request_state)
    assert isinstance(done, t.CallToolResult) and not done.is_error, done
    assert gw.created == 1
