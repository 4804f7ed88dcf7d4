"""Cost through the real SDK client, in both protocol eras, against fake gateways: the dry run, caps, the unpriced
rule, the budget, the cost on the task, the gateway's /api/pricing in the listing; nothing reaches a gateway on any
refusal or dry run."""

from __future__ import annotations

import pytest
from fakes.gateways import FakeGateway, Timeline, fake_for
from mcp import Client
from mcp_support import make_settings

from server.app import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
KEY = "sk-COST-SENTINEL-4417"
OMNI = "apimodels/kling-v3-omni"


def gateway_server(tmp_path, gw: FakeGateway, provider: str, **env: object):
    prefix = provider.upper()
    settings = make_settings(tmp_path, VIDEOGEN_SANDBOX=False, **{f"{prefix}_API_KEY": KEY,
                                                                  f"{prefix}_BASE_URL": gw.base_url}, **env)
    return build_server(settings, download_default=False, extra_mounts={gw.base_url: gw.transport()})


@pytest.mark.parametrize("mode", MODES)
async def test_dry_run_of_5_s_std_is_5_x_0_0633_with_its_source_and_sends_nothing(tmp_path, mode):
    gw = fake_for("apimodels", api_key=KEY)
    async with Client(gateway_server(tmp_path, gw, "apimodels"), mode=mode) as c:
        r = await c.call_tool("generate_video", {"model": OMNI, "prompt": "a harbour at dawn", "duration": 5,
                                                 "resolution": "720p", "dry_run": True})
        listed = await c.call_tool("get_video_task", {"task_id": "vg_" + "0" * 32})
    assert not r.is_error, r.content[0].text
    dry = r.structured_content
    assert dry["dry_run"] is True and dry["model"] == OMNI
    est = dry["estimate"]
    assert (est["usd"], est["unit_price"], est["quantity"], est["unit"]) == (0.3165, 0.0633, 5, "second")
    assert "seed 003" in est["source"] and est["as_of"] == "2026-11-30" and est["kind"] == "gateway"
    assert dry["request"]["duration"] == 5 and dry["request"]["model"] == "kling-v3-omni"
    assert dry["send"]["url"].endswith("/api/v1/video/generations")
    assert dry["send"]["body"] == {"model": "kling-v3-omni", "prompt": "a harbour at dawn", "mode": "std",
                                   "duration": "5"}
    assert "$0.3165" in r.content[0].text and "nothing was sent" in r.content[0].text
    assert KEY not in str(dry) and KEY not in r.content[0].text
    assert gw.requests == [] and listed.is_error  # nothing reached the gateway, no task was created


@pytest.mark.parametrize("mode", MODES)
async def test_max_cost_usd_below_the_estimate_refuses_before_sending(tmp_path, mode):
    gw = fake_for("apimodels", api_key=KEY)
    async with Client(gateway_server(tmp_path, gw, "apimodels"), mode=mode) as c:
        r = await c.call_tool("generate_video", {"model": OMNI, "prompt": "x", "duration": 10,
                                                 "resolution": "1080p", "audio": True, "max_cost_usd": 1.0})
    assert r.is_error
    text = r.content[0].text
    assert "$1.2800" in text and "max_cost_usd $1" in text and "Nothing was sent" in text
    assert "shorter duration" in text  # what to do
    assert gw.requests == []


async def test_the_default_cap_applies_and_the_argument_overrides_it(tmp_path):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    server = gateway_server(tmp_path, gw, "apimodels", VIDEOGEN_MAX_COST_USD=0.2)
    async with Client(server) as c:
        refused = await c.call_tool("generate_video", {"model": OMNI, "prompt": "x", "duration": 5})
        assert refused.is_error and "VIDEOGEN_MAX_COST_USD $0.2" in refused.content[0].text
        assert "max_cost_usd >= 0.3165" in refused.content[0].text
        assert gw.requests == []
        ok = await c.call_tool("generate_video", {"model": OMNI, "prompt": "x", "duration": 5, "max_cost_usd": 0.5,
                                                  "wait_seconds": 5})
    assert not ok.is_error, ok.content[0].text
    task = ok.structured_content
    assert task["cost"]["estimate_usd"] == 0.3165 and "0.0633" in task["cost"]["basis"]
    assert gw.created == 1


async def test_an_unknown_price_is_refused_under_a_cap_unless_allowed(tmp_path):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    args = {"model": "apimodels/kling-motion-control", "prompt": "x",
            "first_frame_image": "https://example.com/a.png", "reference_videos": ["https://example.com/m.mp4"]}
    async with Client(gateway_server(tmp_path / "a", gw, "apimodels", VIDEOGEN_MAX_COST_USD=5)) as c:
        refused = await c.call_tool("generate_video", args)
    assert refused.is_error and "not known" in refused.content[0].text
    assert "VIDEOGEN_ALLOW_UNPRICED=1" in refused.content[0].text and gw.requests == []
    server = gateway_server(tmp_path / "b", gw, "apimodels", VIDEOGEN_MAX_COST_USD=5, VIDEOGEN_ALLOW_UNPRICED=True)
    async with Client(server) as c:
        allowed = await c.call_tool("generate_video", {**args, "wait_seconds": 5})
    assert not allowed.is_error, allowed.content[0].text
    assert allowed.structured_content["cost"] == {"estimate_usd": None,
                                                  "basis": "no price known for apimodels/kling-motion-control"}
    assert gw.created == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_budget_that_fits_two_jobs_refuses_the_third_and_failed_jobs_give_theirs_back(tmp_path, mode):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    server = gateway_server(tmp_path, gw, "apimodels", VIDEOGEN_BUDGET_USD=0.7)  # 2 x $0.3165 fit, 3 do not
    async with Client(server, mode=mode) as c:
        async def job(prompt: str):
            return await c.call_tool("generate_video", {"model": OMNI, "prompt": prompt, "duration": 5,
                                                        "wait_seconds": 5})
        gw.inject(400, route="submit", message="prompt rejected")  # refused before any job exists: not billed
        rejected = await job("refused by the gateway")
        gw.script(Timeline(seconds=0, fail="content policy"))  # a job that fails upstream is refunded as well
        failed = await job("failed upstream")
        assert [rejected.structured_content["status"], failed.structured_content["status"]] == ["failed"] * 2
        first, second, third = await job("one"), await job("two"), await job("three")
    assert not first.is_error and not second.is_error, "the failed jobs gave their reservations back"
    assert third.is_error and gw.created == 3  # "failed upstream", "one", "two"
    text = third.content[0].text
    assert "$0.3165" in text and "$0.6330 of $0.7" in text and "$0.0670 left" in text
    assert "today (UTC)" in text and "VIDEOGEN_BUDGET_USD" in text and "Nothing was sent" in text


@pytest.mark.parametrize("mode", MODES)
async def test_the_sandbox_is_free_and_says_so_on_the_task(settings, mode):
    async with Client(build_server(settings, download_default=False), mode=mode) as c:
        r = await c.call_tool("generate_video", {"model": "sandbox/kling-sim", "prompt": "a cat", "duration": 5,
                                                 "wait_seconds": 0})
    assert r.structured_content["cost"]["estimate_usd"] == 0.0
    assert "free" in r.structured_content["cost"]["basis"]


async def test_list_video_models_shows_prices_and_the_gateways_own_figure_as_a_hint(tmp_path):
    gw = fake_for("octopusx", api_key=KEY)
    gw.pricing = {"success": True, "group_ratio": {"default": 1.5},
                  "data": [{"model_name": "Kling-2.5", "quota_type": 1, "model_price": 0.04, "model_ratio": 0,
                            "enable_groups": ["default"]}]}
    async with Client(gateway_server(tmp_path, gw, "octopusx")) as c:
        r = await c.call_tool("list_video_models", {})
        dry = await c.call_tool("generate_video", {"model": "octopusx/Kling-2.5", "prompt": "x", "duration": 10,
                                                   "dry_run": True})
    models = {m["id"]: m for m in r.structured_content["models"]}
    listed = models["octopusx/Kling-3.0-Omni"]["price"]
    assert listed["usd_per_second"] == 0.084 and "the gateway's own price may differ" in listed["basis"]
    assert listed["as_of"] == "2026-05-29" and listed["table"]
    assert "price" not in models["octopusx/Kling-2.5"]  # no price in our table...
    hint = models["octopusx/Kling-2.5"]["gateway_price"]  # ...but the gateway published its own
    assert hint["usd_per_second"] == 0.06 and hint["group"] == "default" and "per second" in hint["meaning"]
    assert dry.structured_content["estimate"]["usd"] == 0.6 and dry.structured_content["estimate"]["kind"] == "hint"
    pricing = [q for q in gw.requests if q.route == "pricing"]
    assert len(pricing) == 1 and "authorization" not in pricing[0].headers  # the key never goes to /api/pricing
    assert gw.submits == []


async def test_a_dry_run_says_whether_the_job_would_pass_the_cap_and_the_budget(tmp_path):
    gw = fake_for("apimodels", api_key=KEY, timeline=Timeline(seconds=0))
    async with Client(gateway_server(tmp_path, gw, "apimodels", VIDEOGEN_BUDGET_USD=0.5)) as c:
        job = {"model": OMNI, "prompt": "x", "duration": 5}
        fits = await c.call_tool("generate_video", {**job, "dry_run": True})
        capped = await c.call_tool("generate_video", {**job, "dry_run": True, "max_cost_usd": 0.1})
        await c.call_tool("generate_video", {**job, "prompt": "spent", "wait_seconds": 5})
        over = await c.call_tool("generate_video", {**job, "dry_run": True})
    assert not fits.is_error and fits.structured_content["would"] == "be sent; the budget has $0.5000 left today (UTC)"
    assert not capped.is_error and capped.structured_content["would"].startswith("be refused: estimated $0.3165")
    assert "max_cost_usd $0.1" in capped.structured_content["would"]
    assert over.structured_content["would"].startswith("be refused") and "$0.1835 left" in over.content[0].text
    assert gw.created == 1 and len(gw.submits) == 1  # only the real job
