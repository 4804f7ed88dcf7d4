"""The request helper (messages, redaction, status classification) and the catalogs (every model the docs name)."""

from __future__ import annotations

import email.utils
import time
from datetime import timedelta

import httpx2
import pytest
from pydantic import SecretStr

from providers import catalogs, errors
from providers.http import GatewayHTTP, clean_text, gateway_message
from providers.registry import SPECS, adapter_class

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-DO-NOT-LEAK-1234"


@pytest.mark.parametrize(("body", "message"), [
    ({"error": {"message": "quota exhausted", "type": "orcarouter_api_error", "code": "quota_insufficient"}},
     "quota exhausted"),
    ({"error": "plain string"}, "plain string"),
    ({"code": "task_not_exist", "message": "task_not_exist", "data": None}, "task_not_exist"),
    ({"code": 402, "msg": "Insufficient credits", "data": None}, "Insufficient credits"),
    ({"detail": "Not Found"}, "Not Found"),
    ([1, 2], ""), (None, ""),
])
def test_gateway_message_shapes(body, message):
    assert gateway_message(body) == message


def test_clean_text_strips_keys_control_characters_and_length():
    text = f"bad key {KEY}\x00\x1b[31m\n next" + "x" * 500
    cleaned = clean_text(text, secret=KEY)
    assert KEY not in cleaned and "\x00" not in cleaned and "\x1b" not in cleaned and "\n" not in cleaned
    assert len(cleaned) <= 300 and cleaned.endswith("…")
    assert "SENTINEL" not in clean_text("Authorization: Bearer sk-OTHER-KEY-9999 refused")  # any key-like text
    assert clean_text("模型不存在") == "模型不存在"  # OrcaRouter may answer in Chinese: keep it


def mock(status: int, body: object = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        if raw is not None:
            return httpx2.Response(status, content=raw, headers=headers)
        return httpx2.Response(status, json=body, headers=headers)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


async def test_error_carries_gateway_message_code_and_advice_without_the_key():
    async with mock(402, {"error": {"message": f"no credit for {KEY}", "code": "quota_insufficient"}}) as client:
        http = GatewayHTTP(client, provider="OrcaRouter", base_url="https://gw", api_key=SecretStr(KEY),
                           env="ORCAROUTER_API_KEY")
        with pytest.raises(errors.QuotaError) as caught:
            await http.post_json("/v1/video/generations", {"model": "m"})
    text = str(caught.value)
    assert "OrcaRouter answered HTTP 402" in text and "quota_insufficient" in text and "top up" in text
    assert KEY not in text and KEY not in repr(caught.value) and KEY not in repr(http)


async def test_task_not_exist_is_not_found():
    async with mock(400, {"code": "task_not_exist", "message": "task_not_exist", "data": None}) as client:
        http = GatewayHTTP(client, provider="G", base_url="https://gw", api_key=SecretStr(KEY), env="G_API_KEY")
        with pytest.raises(errors.NotFound):
            await http.get_json("/v1/video/generations/x")


async def test_retry_after_as_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    async with mock(429, {"error": {"message": "upstream saturated"}}, {"Retry-After": when}) as client:
        http = GatewayHTTP(client, provider="G", base_url="https://gw", api_key=SecretStr(KEY), env="G_API_KEY")
        with pytest.raises(errors.RateLimited) as caught:
            await http.get_json("/x")
    assert 25 <= caught.value.retry_after <= 30


async def test_non_json_success_is_bad_response():
    async with mock(200, raw=b"<html>hello</html>") as client:
        http = GatewayHTTP(client, provider="G", base_url="https://gw", api_key=SecretStr(KEY), env="G_API_KEY")
        with pytest.raises(errors.BadResponse):
            await http.get_json("/x")


def test_ids_cannot_escape_the_path():
    assert GatewayHTTP.segment("../../admin?x=1") == "..%2F..%2Fadmin%3Fx%3D1"
    assert GatewayHTTP.segment("sora-2:task_1") == "sora-2%3Atask_1"


# Every model each gateway's doc names (seeds 000-004; providers.md §2-§6).
DOC_MODELS = {
    "orcarouter": ["kling/kling-v2-master", "kling/kling-v2-1-master", "kling/kling-v2-5-turbo", "kling/kling-v2-6",
                   "kling/kling-v3", "kling/kling-video-o1", "kling/kling-v3-omni",
                   "byteplus/dreamina-seedance-2-0-260128"],
    "omnirouters": ["Kling-3.0-omni-1080p", "Kling-3.0-720p", "Kling-3.0-omni", "Veo-3.1-1080p", "Veo-3.1-fast-720p",
                    "Sora-2.0-720p", "Hailuo-2.3-fast-768p", "Hailuo-2.3-1080p", "Vidu-q2-720p", "Vidu-q2-turbo-720p",
                    "Vidu-q2-pro-1080p", "Vidu-q3-720p", "Vidu-q3-turbo-1080p", "Vidu-q3-pro-2048p",
                    "Vidu-q3-mix-4096p", "Seedance-1.5-pro-720p", "Jimeng-3.0pro-1080p", "Hunyuan-1.5-720p",
                    "Mingmou-1.0-4096p"],
    "octopusx": ["Kling-3.0-Omni", "Kling-2.6", "Kling-2.5", "doubao-seedance-2-0-260128"],
    "apimodels": ["kling-video-o1", "kling-v3-omni", "kling-v2-6", "kling-v3", "kling-motion-control"],
    "infinityblue": ["kling-v2-5-turbo", "kling-v2-1-master", "veo_3_1", "veo_3_1-fast"],
}


@pytest.mark.parametrize("provider_id", list(DOC_MODELS))
def test_every_documented_model_is_known(provider_id):
    provider = adapter_class(provider_id)(None, base_url="http://x.invalid", api_key=None)
    for name in DOC_MODELS[provider_id]:
        assert provider.model(name) is not None, name


def test_omnirouters_seconds_rules_match_the_doc():
    p = adapter_class("omnirouters")(None, base_url="http://x.invalid", api_key=None)
    rules = {"Kling-O1": range(3, 11), "Kling-3.0": range(3, 16), "Kling-3.0-omni": range(3, 16),
             "Veo-3.1": (4, 6, 8), "Sora-2.0": (4, 8, 12), "Vidu-q2-pro": range(1, 11), "Vidu-q3-mix": range(1, 17),
             "Seedance-1.5-pro": range(4, 13), "Seedance-2.0": range(4, 16), "Jimeng-3.0pro": (5, 10)}
    for name, allowed in rules.items():
        assert p.model(name).durations == tuple(allowed), name
    assert p.model("Hailuo-2.3-768p").durations == (6, 10) and p.model("Hailuo-2.3-1080p").durations == (10,)


@pytest.mark.parametrize("provider_id", list(SPECS))
def test_catalog_entries_are_coherent(provider_id):
    for info in catalogs.load(provider_id):
        if info.durations and info.default_duration is not None:
            assert info.default_duration in info.durations, info.name
        assert set(info.audio_resolutions) <= set(info.resolutions), info.name
        assert set(info.durations_by_resolution) <= set(info.resolutions), info.name
        assert info.note, info.name
        assert not info.discovered


def test_lifetimes_from_the_docs():
    apimodels = {m.name: m for m in catalogs.load("apimodels")}
    assert all(m.url_lifetime == timedelta(days=7) for m in apimodels.values())
    orca = {m.name: m for m in catalogs.load("orcarouter")}
    assert orca["kling/kling-v3"].url_lifetime == timedelta(days=30)
    assert orca["byteplus/dreamina-seedance-2-0-260128"].url_lifetime == timedelta(hours=12)
    omni = {m.name: m for m in catalogs.load("omnirouters")}
    assert omni["Sora-2.0"].url_lifetime == timedelta(hours=1) and omni["Veo-3.1"].url_lifetime == timedelta(days=2)
