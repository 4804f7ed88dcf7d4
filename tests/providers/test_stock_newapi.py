"""Every new-api fork's adapter against a fake that runs stock new-api's own submit rules (fakes/newapi_rules.py):
the vendor body new-api would build carries what the agent asked for, and its refusals mean what they say."""

from __future__ import annotations

import pytest
from fakes.gateways import fake_for
from fakes.newapi_rules import Refusal, accept, vendor_request
from fakes.requests import req
from pydantic import SecretStr

from providers import errors
from providers.registry import adapter_class

pytestmark = pytest.mark.anyio
KEY = "sk-test-stock"
DATA = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE="


async def upstream(provider_id: str, request):
    gw = fake_for(provider_id, api_key=KEY)
    async with gw.client() as client:
        provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        accepted = await provider.submit(request)
    return gw.tasks[accepted.upstream_id].upstream


@pytest.mark.parametrize(("provider_id", "model"), [
    ("orcarouter", "kling/kling-v3"), ("infinityblue", "kling-v2-5-turbo"), ("octopusx", "Kling-2.6"),
])
async def test_kling_gets_the_ratio_asked_for_or_16_9_never_the_stock_1_1(provider_id, model):
    asked = await upstream(provider_id, req(model, duration=5, aspect_ratio="9:16"))
    unset = await upstream(provider_id, req(model, duration=5))
    assert asked["aspect_ratio"] == "9:16" and unset["aspect_ratio"] == "16:9"
    assert asked["duration"] == "5"


async def test_infinityblue_veo_fields_are_the_ones_the_gemini_adaptor_reads():
    body = await upstream("infinityblue", req("veo_3_1", duration=6, aspect_ratio="9:16", resolution="1080p",
                                              negative_prompt="blur", seed=9, first_frame=DATA, audio=True))
    assert body["parameters"] == {"aspectRatio": "9:16", "resolution": "1080p", "durationSeconds": 6,
                                  "negativePrompt": "blur", "seed": 9, "generateAudio": True}
    assert body["instances"][0]["image"]["bytesBase64Encoded"] == DATA.split(",", 1)[1]


@pytest.mark.parametrize(("provider_id", "model"), [
    ("orcarouter", "byteplus/dreamina-seedance-2-0-260128"), ("octopusx", "doubao-seedance-2-0-260128"),
])
async def test_seedance_gets_the_prompt_as_its_text_item(provider_id, model):
    body = await upstream(provider_id, req(model, duration=5, aspect_ratio="16:9", first_frame=DATA))
    texts = [item for item in body["content"] if item["type"] == "text"]
    assert texts == [{"type": "text", "text": "a red fox runs through snow"}]
    assert body["ratio"] == "16:9" and body["duration"] == 5


async def test_a_wrongly_typed_option_is_a_definite_invalid_request_not_an_ambiguous_submit():
    gw = fake_for("orcarouter", api_key=KEY)
    async with gw.client() as client:
        provider = adapter_class("orcarouter")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        with pytest.raises(errors.InvalidRequest, match="nothing was billed") as caught:
            await provider.submit(req("kling/kling-v3", duration=5, options={"cfg_scale": "high"}))
    assert caught.value.sent is False and gw.created == 0


async def test_an_unrouted_model_is_not_available_and_names_it():
    gw = fake_for("orcarouter", api_key=KEY, serves=set())
    async with gw.client() as client:
        provider = adapter_class("orcarouter")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        with pytest.raises(errors.ModelNotAvailable, match=r"kling/kling-v3.*list_video_models"):
            await provider.submit(req("kling/kling-v3", duration=5))


def test_the_fake_rules_themselves():
    served = {"kling-v2-6"}.__contains__
    with pytest.raises(Refusal) as empty:
        accept({"model": "kling-v2-6", "prompt": " "}, served)
    assert (empty.value.status, empty.value.code) == (400, "invalid_request")
    with pytest.raises(Refusal) as unrouted:
        accept({"model": "nope", "prompt": "x"}, served)
    assert (unrouted.value.status, unrouted.value.code) == (503, "model_not_found")
    kept = accept({"model": "kling-v2-6", "prompt": "x", "width": 1280, "seed": 3, "metadata": '{"mode":"pro"}'},
                  served)
    assert "width" not in kept and "seed" not in kept and kept["metadata"] == {"mode": "pro"}
    assert vendor_request(kept)["aspect_ratio"] == "1:1"  # no size, no ratio: stock Kling's default
    with pytest.raises(Refusal) as typed:
        vendor_request({**kept, "metadata": {"duration": 5}})
    assert (typed.value.status, typed.value.code) == (500, "build_request_failed")
