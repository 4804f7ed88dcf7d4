"""The contract every registered provider keeps, checked over real loopback HTTP against its fake gateway; and a
gateway added as ARCHITECTURE.md says (tests/fakes/newfork.py: one small file, a catalog, a registry row) keeps it too.

Submit + poll to the end, failures parsed, every error status typed, and a sentinel API key never shows up in any
exception text, repr, traceback, log record or printed output.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from fakes import newfork
from fakes.gateways import GATEWAY_SHAPES, FakeGateway, Timeline, fake_for
from pydantic import SecretStr

from providers import errors
from providers.base import Capabilities, MediaRef, ModelInfo, Provider, TaskSnapshot, TaskStatus, VideoRequest
from providers.registry import GATEWAY_IDS, SPECS, GatewayConfig, build, http_mounts

pytestmark = pytest.mark.anyio

PROVIDERS = [*SPECS, newfork.SPEC.id]
GATEWAYS = [*GATEWAY_IDS, newfork.SPEC.id]
SENTINEL = "sk-SENTINEL-DO-NOT-LEAK-1234"
IMAGE = "https://img.example.com/first.png"
INLINE = "data:image/png;base64,iVBORw0KGgo="  # for models that read images only inline (new-api's Veo)


@dataclass
class Rig:
    provider: Provider
    client: httpx2.AsyncClient
    gateway: FakeGateway | None  # None for the embedded sandbox


@asynccontextmanager
async def rig(provider_id: str, *, loopback: bool = False, **fake: object) -> AsyncIterator[Rig]:
    """The provider wired to its fake gateway, in-process or on a real loopback port (sandbox: its own gateway)."""
    if SPECS[provider_id].keyless:
        config = GatewayConfig(SPECS[provider_id].default_base_url, None, {"seconds": 0})
        async with httpx2.AsyncClient(mounts=http_mounts({provider_id: config})) as client:
            yield Rig(build(provider_id, client, config), client, None)
        return
    gw = fake_for(provider_id, api_key=SENTINEL, **fake)
    if not loopback:
        async with gw.client(timeout=10) as client:
            yield Rig(build(provider_id, client, GatewayConfig(gw.base_url, SecretStr(SENTINEL))), client, gw)
        return
    with gw.serve() as base_url:
        async with httpx2.AsyncClient(timeout=10) as client:
            yield Rig(build(provider_id, client, GatewayConfig(base_url, SecretStr(SENTINEL))), client, gw)


def basic_request(info: ModelInfo, prompt: str = "a lighthouse at dawn") -> VideoRequest:
    """Duration, aspect ratio and a first frame, where the model takes them."""
    return VideoRequest(
        model=info.name,
        prompt=prompt,
        duration=info.default_duration if info.durations and info.default_duration in info.durations else None,
        aspect_ratio=info.aspect_ratios[0] if info.aspect_ratios else None,
        first_frame=MediaRef(url=INLINE if info.image_input == "data" else IMAGE) if info.first_frame else None,
        reference_videos=(MediaRef(url="https://v.example.com/m.mp4"),) if info.family == "kling-motion" else (),
    )


async def poll_to_end(provider: Provider, upstream_id: str) -> TaskSnapshot:
    with anyio.fail_after(10):
        while True:
            snapshot = await provider.get(upstream_id)
            if snapshot.status.terminal:
                return snapshot
            await anyio.sleep(0.02)


def assert_no_leak(*texts: str) -> None:
    for text in texts:
        assert SENTINEL not in text
        assert "SENTINEL" not in text


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


@pytest.fixture(autouse=True)
def _new_gateway_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """NewFork's registry row and fake shape, for the test's duration (the real gateways have theirs in the code)."""
    monkeypatch.setitem(SPECS, newfork.SPEC.id, newfork.SPEC)
    monkeypatch.setitem(GATEWAY_SHAPES, newfork.SPEC.id, newfork.SHAPE)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx2's included, at its most talkative


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_is_a_provider_with_a_catalog(provider_id):
    async with rig(provider_id) as r:
        assert isinstance(r.provider, Provider)
        assert r.provider.id == provider_id and r.provider.sandbox is SPECS[provider_id].keyless
        models = r.provider.models()
        assert models and all(r.provider.model(m.name) == m for m in models)
        assert SENTINEL not in repr(r.provider)


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_optional_parts_are_declared_as_data(provider_id):
    async with rig(provider_id) as r:
        caps = r.provider.capabilities
        assert isinstance(caps, Capabilities) and caps.mounts is SPECS[provider_id].keyless
        assert urlsplit(r.gateway.base_url if r.gateway else SPECS[provider_id].default_base_url).hostname in (
            caps.trusted_hosts)  # the gateway's own result and content URLs
        assert caps.find is (provider_id == "sandbox")  # no real gateway looks a job up by its key
        assert caps.content_proxy is (provider_id != "apimodels")  # new-api's /v1/videos/{id}/content


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_every_catalog_model_submits_and_finishes(provider_id, caplog, capsys):
    async with rig(provider_id, loopback=True) as r:
        for info in r.provider.models():
            accepted = await r.provider.submit(basic_request(info))
            assert accepted.status in (TaskStatus.QUEUED, TaskStatus.RUNNING) and accepted.upstream_id
            done = await poll_to_end(r.provider, accepted.upstream_id)
            assert done.status is TaskStatus.SUCCEEDED, done
            assert done.upstream_id == accepted.upstream_id and done.progress == 100 and done.video_url
            proxy = r.provider.content_request(done.upstream_id) if r.provider.capabilities.content_proxy else None
            url, headers = proxy if proxy else (done.video_url, {})
            response = await r.client.get(url, headers=headers)
            assert response.status_code == 200 and response.content[4:8] == b"ftyp"
        if r.gateway is not None:
            assert r.gateway.created == len(r.provider.models())
    assert_no_leak(caplog.text, *capsys.readouterr())


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_failed_task_is_parsed_with_its_reason(provider_id):
    async with rig(provider_id, loopback=True) as r:
        info = r.provider.models()[0]
        if r.gateway is not None:
            r.gateway.script(Timeline(seconds=0, fail="Content policy violation"))
        accepted = await r.provider.submit(basic_request(info, "a storm [fail]"))
        done = await poll_to_end(r.provider, accepted.upstream_id)
        assert done.status is TaskStatus.FAILED and done.error_code and done.error_message
        assert done.video_url is None
        expected = "sandbox_failure" if r.gateway is None else None
        if expected:
            assert done.error_code == expected
        else:
            assert "Content policy violation" in done.error_message


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_unknown_task_is_not_found(provider_id):
    async with rig(provider_id) as r:
        with pytest.raises(errors.NotFound) as caught:
            await r.provider.get("task_does_not_exist")
        assert_no_leak(*exception_texts(caught.value))


STATUSES = [
    (400, errors.InvalidRequest, False), (401, errors.AuthError, False), (402, errors.QuotaError, False),
    (403, errors.AuthError, False), (404, errors.NotFound, False), (413, errors.TooLarge, False),
    (429, errors.RateLimited, False), (500, errors.UpstreamError, True), (502, errors.UpstreamError, True),
    (503, errors.Unavailable, False), (504, errors.UpstreamError, True),
]


@pytest.mark.parametrize("provider_id", GATEWAYS)
@pytest.mark.parametrize(("status", "kind", "sent"), STATUSES, ids=[str(s[0]) for s in STATUSES])
async def test_submit_error_status_is_typed_and_keeps_the_key_secret(provider_id, status, kind, sent, caplog, capsys):
    async with rig(provider_id, loopback=status in (401, 429, 502)) as r:
        assert r.gateway is not None
        r.gateway.inject(status, route="submit", echo_key=True, retry_after=7 if status == 429 else None)
        with pytest.raises(kind) as caught:
            await r.provider.submit(basic_request(r.provider.models()[0]))
        exc = caught.value
        assert type(exc) is kind and exc.status == status and exc.sent is sent
        assert SPECS[provider_id].title in str(exc) and f"HTTP {status}" in str(exc)
        assert f"injected error {status}" in str(exc)  # the gateway's own words reach the agent...
        if status == 429:
            assert exc.retry_after == 7 and exc.retryable
        assert r.gateway.created == 0
    assert_no_leak(*exception_texts(exc), caplog.text, *capsys.readouterr())  # ...but never the key it echoed


@pytest.mark.parametrize("provider_id", GATEWAYS)
async def test_rate_limit_without_retry_after(provider_id):
    async with rig(provider_id) as r:
        r.gateway.inject(429, route="submit")
        with pytest.raises(errors.RateLimited) as caught:
            await r.provider.submit(basic_request(r.provider.models()[0]))
        assert caught.value.retry_after is None


@pytest.mark.parametrize("provider_id", GATEWAYS)
@pytest.mark.parametrize(("status", "kind"), [(401, errors.AuthError), (429, errors.RateLimited),
                                              (500, errors.UpstreamError), (503, errors.Unavailable)])
async def test_poll_error_status_is_typed(provider_id, status, kind, caplog):
    async with rig(provider_id) as r:
        accepted = await r.provider.submit(basic_request(r.provider.models()[0]))
        r.gateway.inject(status, route="poll", echo_key=True)  # no fallback route for these
        with pytest.raises(kind) as caught:
            await r.provider.get(accepted.upstream_id)
        assert caught.value.status == status
        done = await poll_to_end(r.provider, accepted.upstream_id)  # the injection is spent; the task is intact
        assert done.status is TaskStatus.SUCCEEDED
    assert_no_leak(*exception_texts(caught.value), caplog.text)


@pytest.mark.parametrize("provider_id", GATEWAYS)
async def test_wrong_key_is_an_auth_error_naming_the_variable(provider_id):
    gw = fake_for(provider_id, api_key="sk-the-right-one")
    async with gw.client() as client:
        provider = build(provider_id, client, GatewayConfig(gw.base_url, SecretStr(SENTINEL)))
        with pytest.raises(errors.AuthError) as caught:
            await provider.submit(basic_request(provider.models()[0]))
    assert f"{SPECS[provider_id].env_prefix}_API_KEY" in str(caught.value)
    assert_no_leak(*exception_texts(caught.value))


@pytest.mark.parametrize("provider_id", GATEWAYS)
async def test_unreachable_gateway_is_a_pre_send_transport_failure(provider_id, caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx2.AsyncClient(timeout=5) as client:
        provider = build(provider_id, client, GatewayConfig(f"http://127.0.0.1:{port}", SecretStr(SENTINEL)))
        with pytest.raises(errors.TransportFailure) as caught:
            await provider.submit(basic_request(provider.models()[0]))
    assert caught.value.sent is False and not caught.value.retryable
    assert_no_leak(*exception_texts(caught.value), caplog.text)


@pytest.mark.parametrize("provider_id", GATEWAYS)
@pytest.mark.parametrize("status", [200, 502])
async def test_html_answer_is_typed(provider_id, status):
    async with rig(provider_id) as r:
        r.gateway.inject(status, route="submit", raw=b"<html>Bad Gateway</html>")
        with pytest.raises(errors.BadResponse if status == 200 else errors.UpstreamError) as caught:
            await r.provider.submit(basic_request(r.provider.models()[0]))
    assert caught.value.sent is True  # the gateway may have acted: do not resubmit blindly


@pytest.mark.parametrize("code", [401, 402, 404, 500])
async def test_apimodels_error_code_in_a_200_body_is_typed(code):
    async with rig("apimodels") as r:
        r.gateway.inject(code, route="submit", in_body=True, echo_key=True)
        with pytest.raises(errors.ProviderError) as caught:
            await r.provider.submit(basic_request(r.provider.models()[0]))
    assert caught.value.status == code
    assert type(caught.value) is type(errors.error_for_status(code, "", provider="x"))
    assert_no_leak(*exception_texts(caught.value))


@pytest.mark.parametrize("provider_id", PROVIDERS)
async def test_discovery(provider_id):
    async with rig(provider_id) as r:
        found = await r.provider.discover()
        if provider_id in ("apimodels", "sandbox"):
            assert found == []
            return
        assert [m.name for m in found] == ["fake-video-1", "fake-video-2"]  # the chat model is not a video model
        assert all(m.discovered and m.note for m in found)
        assert r.provider.model("fake-video-1") is not None
        accepted = await r.provider.submit(VideoRequest(model="fake-video-1", prompt="x", duration=7))
        assert accepted.upstream_id
