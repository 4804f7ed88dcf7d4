"""Gateway errors classified by the gateway's own code first, then status, as new-api's code sends them; each of
these refusals reaches the engine's submit policy as a definite "rejected" after exactly one submit."""

from __future__ import annotations

import random

import pytest
from fakes.gateways import fake_for
from pydantic import SecretStr

from providers import errors
from providers.base import VideoRequest
from providers.http import normalize_base_url
from providers.registry import adapter_class
from server.engine import submit
from server.engine.schedule import Timing

pytestmark = pytest.mark.anyio
KEY = "sk-test-codes"
TIMING = Timing(submit_budget=5.0, retry_base=0.01, retry_cap=0.02)
MODELS = {"orcarouter": "kling/kling-v3", "infinityblue": "kling-v2-5-turbo", "apimodels": "kling-v3"}

# (status, code, task-route envelope?, error type, words the agent must read) — each row cites new-api or a seed
CASES = [
    # middleware/distributor.go: no channel for the model -> 503 model_not_found (OpenAI envelope)
    (503, "model_not_found", False, errors.ModelNotAvailable, ("kling/kling-v3", "list_video_models")),
    # types/error.go / billing: quota exhausted -> 403 insufficient_user_quota or pre_consume_token_quota_failed
    (403, "insufficient_user_quota", False, errors.QuotaError, ("quota", "top up")),
    (403, "pre_consume_token_quota_failed", True, errors.QuotaError, ("quota",)),
    # seed 000: OrcaRouter documents 402 quota_insufficient
    (402, "quota_insufficient", False, errors.QuotaError, ("credit",)),
    # relay/channel/task/taskcommon UnmarshalMetadata: wrong type -> 500 build_request_failed before any upstream
    (500, "build_request_failed", True, errors.InvalidRequest, ("nothing was billed",)),
]


async def one_submit(provider_id: str, gw, model: str | None = None):
    async with gw.client() as client:
        provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        request = VideoRequest(model=model or MODELS[provider_id], prompt="a kite", duration=5)
        return await submit.send(provider, request, "key-1", TIMING, rng=random.Random(1), attempt_timeout=5)


@pytest.mark.parametrize(("status", "code", "task_envelope", "kind", "words"), CASES,
                         ids=[c[1] for c in CASES])
async def test_code_decides_meaning_and_the_submit_is_sent_once(status, code, task_envelope, kind, words):
    gw = fake_for("orcarouter", api_key=KEY)
    gw.inject(status, route="submit", times=5, code=code, task_envelope=task_envelope, message="refused")
    outcome = await one_submit("orcarouter", gw)
    assert outcome.kind == "rejected" and outcome.attempts == 1, outcome
    assert len(gw.submits) == 1
    assert type(outcome.error) is kind and outcome.error.sent is False
    text = submit.failure_changes(outcome, TIMING.submit_budget)["error_message"]
    for word in words:
        assert word.lower() in text.lower(), text
    assert "may or may not" not in text and "wait" not in text.lower()


async def test_plain_503_without_a_code_is_still_an_overload_and_retried():
    gw = fake_for("orcarouter", api_key=KEY)
    gw.inject(503, route="submit", times=1)
    outcome = await one_submit("orcarouter", gw)
    assert outcome.kind == "accepted" and outcome.attempts == 2


async def test_task_not_exist_on_poll_is_not_found():
    gw = fake_for("infinityblue", api_key=KEY)  # an unknown id: 400 {"code":"task_not_exist"} (respondTaskError)
    async with gw.client() as client:
        provider = adapter_class("infinityblue")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        with pytest.raises(errors.NotFound):
            await provider.get("task_" + "0" * 32)


async def test_apimodels_credits_in_the_envelope_are_quota_after_one_submit():
    gw = fake_for("apimodels", api_key=KEY)  # seed 003: 402 credits, possibly inside an HTTP 200 envelope
    gw.inject(402, route="submit", times=3, in_body=True)
    outcome = await one_submit("apimodels", gw)
    assert outcome.kind == "rejected" and outcome.attempts == 1 and len(gw.submits) == 1
    assert isinstance(outcome.error, errors.QuotaError)


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_base_url_with_v1_or_slash_reaches_the_same_routes(suffix):
    gw = fake_for("orcarouter", api_key=KEY)
    async with gw.client() as client:
        provider = adapter_class("orcarouter")(client, base_url=gw.base_url + suffix, api_key=SecretStr(KEY))
        accepted = await provider.submit(VideoRequest(model="kling/kling-v3", prompt="a kite", duration=5))
        await provider.get(accepted.upstream_id)
    assert [r.path.split("/task_")[0] for r in gw.requests] == ["/v1/video/generations"] * 2
    assert normalize_base_url("https://api.orcarouter.ai/v1/") == "https://api.orcarouter.ai"


async def test_an_account_out_of_quota_is_told_to_top_up_after_one_submit():
    gw = fake_for("infinityblue", api_key=KEY)
    gw.out_of_quota = True
    outcome = await one_submit("infinityblue", gw)
    assert outcome.kind == "rejected" and outcome.attempts == 1 and len(gw.submits) == 1
    assert isinstance(outcome.error, errors.QuotaError) and "may not use" not in str(outcome.error)


async def test_an_inline_image_over_the_local_file_cap_is_refused_before_sending():
    from providers.base import MediaRef
    from providers.validate import MAX_INLINE_IMAGE_BYTES

    gw = fake_for("orcarouter", api_key=KEY)
    big = "data:image/png;base64," + "A" * (MAX_INLINE_IMAGE_BYTES // 3 * 4 + 8)
    async with gw.client() as client:
        provider = adapter_class("orcarouter")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        with pytest.raises(errors.InvalidRequest, match="up to 10 MB"):
            await provider.submit(VideoRequest(model="kling/kling-v3", prompt="a kite", first_frame=MediaRef(url=big)))
    assert gw.requests == []
