"""A canonical model id through the MCP SDK client, over real loopback HTTP to two fake gateways that behave like
new-api: routing by price and by preference, failover only when the first gateway created nothing, one upstream job
in all, and the result naming the gateway that took it."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from fakes.faults import HttpFault, HttpFaults
from fakes.gateways import FakeGateway, Timeline, fake_for
from fakes.loopback import serve_on_loopback
from mcp import Client
from mcp_support import make_settings

from server.app import build_server

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-ROUTE-5150"
CALL = {"model": "kling-v3-omni", "prompt": "a paper boat on a rainy street", "duration": 5, "wait_seconds": 20}
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, the connect is refused


def two_gateways(tmp_path: Path, urls: dict[str, str], **env: object):
    keys = {f"{p.upper()}_API_KEY": KEY for p in urls} | {f"{p.upper()}_BASE_URL": u for p, u in urls.items()}
    return build_server(make_settings(tmp_path, VIDEOGEN_SANDBOX=False, **keys, **env), download_default=True)


def orca(**kw) -> FakeGateway:
    return fake_for("orcarouter", api_key=KEY, timeline=Timeline(seconds=0), **kw)


def apimodels() -> FakeGateway:
    return fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))


async def generate(tmp_path, urls, call=CALL, **env):
    async with Client(two_gateways(tmp_path, urls, **env)) as c:
        return await c.call_tool("generate_video", call)


async def test_model_not_found_on_the_first_gateway_runs_the_job_on_the_second(tmp_path):
    first, second = orca(serves=set()), apimodels()  # OrcaRouter routes no model: new-api's distributor 503
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        r = await generate(tmp_path, {"orcarouter": a, "apimodels": b}, VIDEOGEN_ROUTING="prefer:orcarouter")
    task, text = r.structured_content, r.content[0].text
    assert task["status"] == "succeeded", text
    assert task["provider"] == "apimodels" and task["model"] == "apimodels/kling-v3-omni"
    assert (len(first.submits), first.created, second.created) == (1, 0, 1)  # one upstream job in all
    assert task["route"]["tried"][0]["code"] == "model_not_available"
    assert "Routed kling-v3-omni to apimodels" in text and "orcarouter refused it first" in text
    assert Path(task["local_path"]).read_bytes()[4:8] == b"ftyp"
    assert KEY not in text and KEY not in str(task)


@pytest.mark.parametrize("first_fails", ["unreachable", "quota", "overloaded"])
async def test_each_pre_send_failure_of_the_first_gateway_moves_on_with_one_job(tmp_path, first_fails):
    first, second = orca(), apimodels()
    if first_fails == "quota":
        first.out_of_quota = True  # new-api's 403 insufficient_user_quota
    elif first_fails == "overloaded":
        first.inject(503, route="submit", retry_after=0)
    with ExitStack() as stack:
        a = UNREACHABLE if first_fails == "unreachable" else stack.enter_context(serve_on_loopback(first))
        b = stack.enter_context(serve_on_loopback(second))
        r = await generate(tmp_path, {"orcarouter": a, "apimodels": b}, VIDEOGEN_ROUTING="prefer:orcarouter")
    task = r.structured_content
    assert task["status"] == "succeeded" and task["provider"] == "apimodels", r.content[0].text
    assert first.created + second.created == 1 and second.created == 1


@pytest.mark.parametrize("fault", [HttpFault(502, after=True), HttpFault(500, after=True), HttpFault(502)])
async def test_an_ambiguous_submit_on_the_first_gateway_never_reaches_the_second(tmp_path, fault):
    first, second = orca(), apimodels()
    faulty = HttpFaults(first)
    faulty.add("submit", fault)
    with serve_on_loopback(faulty) as a, serve_on_loopback(second) as b:
        r = await generate(tmp_path, {"orcarouter": a, "apimodels": b}, call={**CALL, "wait_seconds": 3},
                           VIDEOGEN_ROUTING="prefer:orcarouter")
    task = r.structured_content
    assert task["status"] == "unknown" and task["error"]["code"] == "submit_ambiguous", r.content[0].text
    assert task["provider"] == "orcarouter" and second.submits == [] and second.created == 0
    assert "NOT sent again" in r.content[0].text


async def test_cheapest_known_estimate_picks_the_priced_gateway(tmp_path):
    first, second = orca(), apimodels()  # apimodels lists $0.0633/s for Kling 3.0 Omni; OrcaRouter lists no price
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        r = await generate(tmp_path, {"orcarouter": a, "apimodels": b})
    task = r.structured_content
    assert task["status"] == "succeeded" and task["provider"] == "apimodels"
    assert task["route"]["why"] == "cheapest known estimate, $0.32" and first.submits == []


async def test_a_request_neither_gateway_can_take_is_refused_before_sending(tmp_path):
    first, second = orca(), apimodels()
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        r = await generate(tmp_path, {"octopusx": a, "apimodels": b}, call={**CALL, "resolution": "4k"})
    text = r.content[0].text
    assert r.is_error and text.startswith("No configured gateway can make kling-v3-omni as asked.")
    assert "octopusx: " in text and "apimodels: " in text and "720p or 1080p" in text
    assert "Nothing was sent" in text and first.requests == [] and second.requests == []


async def test_list_video_models_shows_canonical_ids_with_their_gateways(tmp_path):
    async with Client(two_gateways(tmp_path, {"orcarouter": UNREACHABLE, "apimodels": UNREACHABLE})) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        r = await c.call_tool("list_video_models", {})
    enum = tools["generate_video"].input_schema["properties"]["model"]["enum"]
    assert "kling-v3-omni" in enum and "seedance-2.0" in enum and "veo-3.1" not in enum
    families = {f["id"]: f for f in r.structured_content["families"]}
    omni = families["kling-v3-omni"]
    assert omni["gateways"] == ["apimodels/kling-v3-omni", "orcarouter/kling/kling-v3-omni"]
    assert omni["differs"]["resolutions"] == {"orcarouter": ["720p", "1080p", "4k"], "apimodels": ["720p", "1080p"]}
    models = {m["id"]: m for m in r.structured_content["models"]}
    assert models["orcarouter/kling/kling-v3-omni"]["canonical"] == "kling-v3-omni"
    assert "- kling-v3-omni (Kling 3.0 Omni) on apimodels, orcarouter" in r.content[0].text


async def test_a_gateway_that_failed_is_tried_last_by_the_next_call(tmp_path):
    first, second = orca(), apimodels()
    first.out_of_quota = True
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        async with Client(two_gateways(tmp_path, {"orcarouter": a, "apimodels": b},
                                       VIDEOGEN_ROUTING="prefer:orcarouter")) as c:
            one = await c.call_tool("generate_video", CALL)
            two = await c.call_tool("generate_video", {**CALL, "prompt": "a second paper boat"})
    assert one.structured_content["route"]["tried"][0]["code"] == "quota"
    route = two.structured_content["route"]
    assert route["gateway"] == "apimodels" and "tried" not in route
    assert "pushed back for now: orcarouter (out of quota)" in route["why"]
    assert len(first.submits) == 1 and second.created == 2  # the second call never asked the gateway out of quota


async def test_a_dry_run_of_a_canonical_id_says_where_it_would_go(tmp_path):
    first, second = orca(), apimodels()
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        r = await generate(tmp_path, {"orcarouter": a, "apimodels": b}, call={**CALL, "dry_run": True})
    assert not r.is_error and r.structured_content["dry_run"] is True
    assert r.structured_content["model"] == "apimodels/kling-v3-omni"
    assert r.structured_content["route"]["order"] == ["apimodels/kling-v3-omni", "orcarouter/kling/kling-v3-omni"]
    assert "It would go to apimodels (cheapest known estimate, $0.32); if it refused before creating anything, " \
           "then orcarouter." in r.content[0].text
    assert first.requests == [] and second.requests == []


async def test_the_cap_applies_to_each_gateway_on_the_route(tmp_path):
    first, second = orca(), apimodels()  # apimodels $0.32 for 5 s; OrcaRouter at Kling's list price, $0.42
    with serve_on_loopback(first) as a, serve_on_loopback(second) as b:
        urls = {"orcarouter": a, "apimodels": b}
        fits = await generate(tmp_path, urls, call={**CALL, "max_cost_usd": 0.35, "dry_run": True})
        over = await generate(tmp_path, urls, call={**CALL, "max_cost_usd": 0.1})
    assert fits.structured_content["route"]["order"] == ["apimodels/kling-v3-omni"]  # OrcaRouter would exceed it
    assert over.is_error and "above max_cost_usd $0.1" in over.content[0].text
    assert first.submits == [] and second.submits == []
