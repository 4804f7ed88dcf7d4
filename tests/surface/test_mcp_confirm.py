"""Above VIDEOGEN_CONFIRM_ABOVE_USD the user approves first: asked through the real SDK client in both eras
(2025-11-25 elicitation/create; 2026-07-28 input_required with a sealed requestState). A decline sends nothing; a
client that cannot ask must pass max_cost_usd at or above the estimate, never a silent submit."""

from __future__ import annotations

import json

import mcp_types as t
import pytest
from fakes.gateways import Timeline, fake_for
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_support import make_settings

from server.app import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
KEY = "sk-CONFIRM-SENTINEL-2208"
JOB = {"model": "apimodels/kling-v3-omni", "prompt": "a harbour", "duration": 5, "wait_seconds": 5}  # $0.3165


def confirming_server(tmp_path, gw, **env):
    settings = make_settings(tmp_path, VIDEOGEN_SANDBOX=False, APIMODELS_API_KEY=KEY,
                             APIMODELS_BASE_URL=gw.base_url, VIDEOGEN_CONFIRM_ABOVE_USD=0.25, **env)
    return build_server(settings, download_default=False, extra_mounts={gw.base_url: gw.transport()})


def answering(action: str, confirm: bool = True, asked: list | None = None):
    async def callback(context, params: t.ElicitRequestParams) -> t.ElicitResult:
        if asked is not None:
            asked.append(params)
        return t.ElicitResult(action=action, content={"confirm": confirm} if action == "accept" else None)
    return callback


@pytest.mark.parametrize("mode", MODES)
async def test_the_user_is_asked_and_an_accept_submits_once(tmp_path, mode):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    asked: list = []
    async with Client(confirming_server(tmp_path, gw), mode=mode, elicitation_callback=answering("accept",
                                                                                                   asked=asked)) as c:
        r = await c.call_tool("generate_video", JOB)
    assert not r.is_error, r.content[0].text
    assert r.structured_content["status"] == "succeeded" and gw.created == 1
    assert len(asked) == 1
    question = asked[0]
    assert "$0.32" in question.message and "seed 003" in question.message
    assert question.requested_schema["properties"]["confirm"]["type"] == "boolean"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "confirm"), [("decline", False), ("cancel", False), ("accept", False)])
async def test_a_decline_sends_nothing_and_says_how_to_proceed(tmp_path, mode, action, confirm):
    gw = fake_for("apimodels", api_key=KEY)
    async with Client(confirming_server(tmp_path, gw), mode=mode,
                      elicitation_callback=answering(action, confirm)) as c:
        r = await c.call_tool("generate_video", JOB)
        recent = await c.read_resource("videogen://tasks")
    assert r.is_error
    text = r.content[0].text
    assert "Not approved" in text and "$0.3165" in text and "Nothing was sent" in text
    assert "max_cost_usd=0.3165" in text  # how to proceed once the user agrees
    assert gw.requests == [] and json.loads(recent.contents[0].text) == {"tasks": []}  # no task recorded


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_is_refused_until_max_cost_usd_covers_the_estimate(tmp_path, mode):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    async with Client(confirming_server(tmp_path, gw), mode=mode) as c:  # no callback: no elicitation capability
        refused = await c.call_tool("generate_video", JOB)
        assert refused.is_error and "cannot ask them" in refused.content[0].text
        assert "call again with max_cost_usd=0.3165" in refused.content[0].text and gw.requests == []
        too_low = await c.call_tool("generate_video", {**JOB, "max_cost_usd": 0.3})
        assert too_low.is_error and gw.requests == []
        ok = await c.call_tool("generate_video", {**JOB, "max_cost_usd": 0.3165})
    assert not ok.is_error, ok.content[0].text
    assert gw.created == 1


async def test_below_the_threshold_nobody_is_asked(tmp_path):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    asked: list = []
    async with Client(confirming_server(tmp_path, gw), elicitation_callback=answering("accept", asked=asked)) as c:
        r = await c.call_tool("generate_video", {**JOB, "duration": 3})  # 3 x $0.0633 = $0.19
    assert not r.is_error and asked == [] and gw.created == 1


async def test_the_2026_07_28_question_carries_a_sealed_request_state_bound_to_the_call(tmp_path):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    async with Client(confirming_server(tmp_path, gw), mode="auto", elicitation_callback=answering("accept")) as c:
        first = await c.session.call_tool("generate_video", JOB, allow_input_required=True)
        assert isinstance(first, t.InputRequiredResult)
        assert set(first.input_requests) == {"confirm_cost"}
        state = first.request_state
        assert state and state.startswith("v1.") and "quote" not in state  # sealed (AES-GCM), not readable
        yes = {"confirm_cost": t.ElicitResult(action="accept", content={"confirm": True})}
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await c.session.call_tool("generate_video", JOB, input_responses=yes, request_state=state[:-4] + "AAAA")
        with pytest.raises(MCPError, match="Invalid or expired requestState"):  # bound to these arguments
            await c.session.call_tool("generate_video", {**JOB, "duration": 15}, input_responses=yes,
                                      request_state=state)
        assert gw.requests == []
        done = await c.session.call_tool("generate_video", JOB, input_responses=yes, request_state=state)
    assert isinstance(done, t.CallToolResult) and not done.is_error
    assert gw.created == 1


@pytest.mark.parametrize("mode", MODES)
async def test_over_stateless_http_the_modern_era_asks_and_the_legacy_one_falls_back_to_the_argument(tmp_path, mode):
    """Stateless HTTP has no back channel for a 2025-11-25 elicitation/create: the call must not hang or submit,
    it says how to approve by argument. 2026-07-28's input_required needs no back channel, so the user is asked."""
    from fakes.served import http_server, server_env

    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    asked: list = []
    with gw.serve() as gateway_url:
        env = server_env(tmp_path, APIMODELS_API_KEY=KEY, APIMODELS_BASE_URL=gateway_url,
                         VIDEOGEN_CONFIRM_ABOVE_USD="0.25", VIDEOGEN_ALLOW_PRIVATE_URLS="1")
        with http_server(env, args=("--stateless",)) as origin:
            async with Client(f"{origin}/mcp", mode=mode,
                              elicitation_callback=answering("accept", asked=asked)) as c:
                r = await c.call_tool("generate_video", JOB)
    if mode == "auto":
        assert not r.is_error and len(asked) == 1 and gw.created == 1, r.content[0].text
    else:
        assert r.is_error and "cannot ask them" in r.content[0].text and "max_cost_usd=0.3165" in r.content[0].text
        assert asked == [] and gw.requests == []
