"""The price table and `estimate`: the seed's published prices, vendor list prices labelled as such, an honest
`None` with its reason, and new-api's /api/pricing read as a hint."""

from __future__ import annotations

import json

import pytest

from providers import catalogs
from providers.base import MediaRef, VideoRequest
from providers.gateway_prices import parse
from providers.prices import LIST_PRICE_NOTE, estimate, price_block, table
from providers.registry import SPECS


def req(model: str, **kw) -> VideoRequest:
    return VideoRequest(model=model.split("/", 1)[1], prompt="a lighthouse", **kw)


# apimodels.app's own table (seed 003, "Detailed Pricing (85% off)"), $/s by model, mode, audio, keep sound.
SEED_003 = [
    ("kling-video-o1", "720p", False, False, 0.0633), ("kling-video-o1", "720p", True, False, 0.0956),
    ("kling-video-o1", "1080p", False, False, 0.0853), ("kling-video-o1", "1080p", True, False, 0.1280),
    ("kling-v3-omni", "720p", False, False, 0.0633), ("kling-v3-omni", "720p", False, True, 0.0853),
    ("kling-v3-omni", "720p", True, False, 0.0956), ("kling-v3-omni", "1080p", False, False, 0.0853),
    ("kling-v3-omni", "1080p", False, True, 0.1059), ("kling-v3-omni", "1080p", True, False, 0.1280),
]


@pytest.mark.parametrize(("name", "resolution", "audio", "keep", "per_second"), SEED_003)
def test_apimodels_estimates_are_the_seed_prices(name, resolution, audio, keep, per_second):
    options = {"video_list": [{"video_url": "https://x.test/a.mp4", "keep_original_sound": "yes"}]} if keep else {}
    est = estimate(f"apimodels/{name}", req(f"apimodels/{name}", duration=7, resolution=resolution, audio=audio,
                                            options=options))
    assert est.usd == round(7 * per_second, 6)
    assert (est.unit_price, est.unit, est.quantity) == (per_second, "second", 7)
    assert est.kind == "gateway" and "seed 003" in est.source and est.as_of == "2026-11-30"
    assert LIST_PRICE_NOTE not in est.source  # the gateway's own price, not a vendor's


def test_the_done_when_figure_5_s_std_is_5_x_0_0633():
    est = estimate("apimodels/kling-v3-omni", req("apimodels/kling-v3-omni", duration=5, resolution="720p"))
    assert est.usd == 0.3165 and est.basis.startswith("5 s x $0.0633/s (std mode")
    assert est.public()["unit_price"] == 0.0633 and est.public()["quantity"] == 5


def test_unset_mode_audio_and_duration_use_the_documented_defaults():
    est = estimate("apimodels/kling-v3-omni", req("apimodels/kling-v3-omni"))  # std, sound off, 5 s [seed 003]
    assert est.usd == 0.3165 and "the default duration" in est.basis and "std mode (the default)" in est.basis


def test_options_override_the_mode_and_sound_as_they_override_the_body():
    est = estimate("apimodels/kling-video-o1", req("apimodels/kling-video-o1", duration=5,
                                                    options={"mode": "pro", "sound": "on"}))
    assert est.usd == round(5 * 0.1280, 6)


def test_a_vendor_list_price_on_a_reseller_is_labelled_as_such():
    est = estimate("orcarouter/kling/kling-v3", req("orcarouter/kling/kling-v3", duration=10, resolution="1080p",
                                                     audio=True))
    assert est.usd == 1.68 and est.kind == "vendor" and LIST_PRICE_NOTE in est.source
    assert est.as_of == "2026-05-29"
    block = price_block("orcarouter/kling/kling-v3")
    assert block is not None and LIST_PRICE_NOTE in block["basis"] and block["usd_per_second"] == 0.084


def test_kling_video_input_and_4k_rows():
    ref = (MediaRef(url="https://x.test/in.mp4"),)
    with_video = estimate("octopusx/Kling-3.0-Omni", req("octopusx/Kling-3.0-Omni", duration=5, reference_videos=ref))
    assert with_video.usd == round(5 * 0.126, 6) and "with a video input" in with_video.basis
    four_k = estimate("orcarouter/kling/kling-v3-omni", req("orcarouter/kling/kling-v3-omni", duration=5,
                                                            resolution="4k", audio=True))
    assert four_k.usd == 2.1
    silent_4k = estimate("orcarouter/kling/kling-v3-omni", req("orcarouter/kling/kling-v3-omni", duration=5,
                                                               resolution="4k"))
    assert silent_4k.usd is None and "no price known" in silent_4k.basis and "4k" in silent_4k.basis


def test_per_clip_prices_and_resolution_in_the_name():
    clip = estimate("octopusx/Kling-2.6", req("octopusx/Kling-2.6", duration=10, resolution="1080p", audio=True))
    assert clip.usd == 1.40 and clip.unit == "clip"
    named = estimate("omnirouters/Kling-3.0-omni-1080p", req("omnirouters/Kling-3.0-omni-1080p", duration=5))
    assert named.usd == round(5 * 0.112, 6) and "pro mode" in named.basis  # 1080p in the name means pro


def test_veo_list_prices():
    assert estimate("infinityblue/veo_3_1", req("infinityblue/veo_3_1", duration=8)).usd == 3.2
    assert estimate("omnirouters/Veo-3.1", req("omnirouters/Veo-3.1", duration=4, resolution="4096p")).usd == 2.4
    assert estimate("infinityblue/veo_3_1-fast", req("infinityblue/veo_3_1-fast", duration=6)).usd == 0.9


def test_seedance_tokens_follow_the_formula_but_a_cny_price_gives_no_usd():
    est = estimate("octopusx/doubao-seedance-2-0-260128",
                   req("octopusx/doubao-seedance-2-0-260128", duration=5, resolution="720p"))
    # 5 s x 1280 x 720 x 24 / 1024 = 108,000 tokens (Ark's own sample reports 108,900 for 5 s at 720p 16:9)
    assert est.usd is None and "108,000 tokens" in est.basis and "CNY" in est.basis
    assert est.public()["amount"] == round(0.108 * 46, 4)


def test_no_price_is_none_with_the_reason():
    est = estimate("omnirouters/Sora-2.0", req("omnirouters/Sora-2.0", duration=4))
    assert est.usd is None and est.basis == "no price known for omnirouters/Sora-2.0" and not est.known
    assert price_block("omnirouters/Sora-2.0") is None


def test_the_sandbox_is_free():
    est = estimate("sandbox/kling-sim", req("sandbox/kling-sim", duration=10))
    assert est.usd == 0.0 and est.kind == "free"


def test_every_table_entry_names_a_real_catalog_model_and_source():
    names = {f"{pid}/{m.name}" for pid in SPECS for m in catalogs.load(pid)}
    prices = table()
    assert set(prices.vendor_models) <= names
    for row in prices.rows:
        assert row.source in prices.sources and row.unit in ("second", "clip", "million_tokens")
        if row.gateway is not None and row.model != "*":
            assert f"{row.gateway}/{row.model}" in names
        if row.gateway is None:
            assert row.model in prices.vendor_models.values()
    for source in prices.sources.values():
        assert len(source["as_of"]) == 10 and source["kind"] in ("gateway", "vendor", "free")


# new-api's GET /api/pricing body (controller/pricing.go GetPricing; rows are model/pricing.go `Pricing`)
PRICING = {"success": True, "group_ratio": {"default": 1, "vip": 0.8}, "usable_group": {"default": "Default"},
           "data": [{"model_name": "Kling-2.5", "quota_type": 1, "model_price": 0.05, "model_ratio": 0,
                     "enable_groups": ["default", "vip"]},
                    {"model_name": "gpt-4o-mini", "quota_type": 0, "model_ratio": 0.075, "model_price": 0,
                     "enable_groups": ["default"]}]}


def test_gateway_pricing_is_a_hint_used_only_where_the_table_has_nothing():
    hints = parse(json.loads(json.dumps(PRICING)), today="2026-12-02")
    hint = hints["Kling-2.5"]
    assert hint.per_second_usd == 0.05 and hint.group == "default"
    assert hints["gpt-4o-mini"].per_second_usd is None and "tokens" in hints["gpt-4o-mini"].meaning
    est = estimate("octopusx/Kling-2.5", req("octopusx/Kling-2.5", duration=10), hint=hint)
    assert est.usd == 0.5 and est.kind == "hint" and "GET /api/pricing (a hint" in est.source
    listed = estimate("octopusx/Kling-2.6", req("octopusx/Kling-2.6", duration=10), hint=hint)
    assert listed.kind == "vendor"  # the table wins where it has a row
    assert parse({"success": False, "message": "login required"}) == {} and parse("<html>") == {}
