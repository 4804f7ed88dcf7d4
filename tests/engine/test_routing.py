"""Resolving a model id and choosing its route over the real adapters and catalogs (no HTTP: routing sends nothing),
and the health record that pushes a failing gateway back for a while."""

from __future__ import annotations

import httpx2
import pytest
from pydantic import SecretStr

from providers.base import VideoRequest
from providers.errors import ModelNotAvailable, QuotaError, RateLimited, Unavailable, UpstreamError
from providers.registry import SPECS, GatewayConfig, build
from server.engine.health import COOL_BASE, Health
from server.engine.routing import RouteError, choose, resolve
from server.settings import parse_policy


@pytest.fixture
def providers():
    client = httpx2.AsyncClient()
    return {pid: build(pid, client, GatewayConfig(SPECS[pid].default_base_url, SecretStr("sk-x")))
            for pid in ("orcarouter", "omnirouters", "octopusx", "apimodels")}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def route(providers, model="kling-v3-omni", policy="cheapest", health=None, **fields):
    resolved = resolve(providers, model)
    request = VideoRequest(model=resolved.name, prompt="a lighthouse at dawn", **fields)
    return choose(resolved, request, policy=parse_policy(policy), health=health or Health())


def order(r) -> list[str]:
    return [c.gateway for c in r.candidates]


def test_a_canonical_id_names_every_configured_seller_in_registry_order(providers):
    resolved = resolve(providers, " Kling-V3-Omni ")
    assert not resolved.pinned and resolved.canonical == "kling-v3-omni"
    assert [c.model_id for c in resolved.options] == [
        "orcarouter/kling/kling-v3-omni", "omnirouters/Kling-3.0-omni", "octopusx/Kling-3.0-Omni",
        "apimodels/kling-v3-omni"]


def test_a_gateway_id_pins_that_gateway_and_knows_its_canonical_id(providers):
    r = route(providers, "orcarouter/kling/kling-v3-omni", policy="pin:apimodels")  # the id wins over the policy
    assert r.pinned and order(r) == ["orcarouter"] and r.candidates[0].info.name == "kling/kling-v3-omni"
    assert resolve(providers, "orcarouter/kling/kling-v3-omni").canonical == "kling-v3-omni"


@pytest.mark.parametrize(("model", "says"), [
    ("kling-v3-omny", "Did you mean kling-v3-omni"),
    ("veo-3.1", "veo-3.1 (Veo 3.1) is sold by omnirouters, infinityblue"),
    ("nowhere/x", "provider one of: orcarouter, omnirouters, octopusx, apimodels"),
    ("orcarouter/kling/kling-v9", "Did you mean orcarouter/kling/kling-v"),
])
def test_unknown_or_unserved_ids_are_refused_naming_what_exists(providers, model, says):
    if model == "veo-3.1":
        providers = {k: v for k, v in providers.items() if k != "omnirouters"}
    with pytest.raises(RouteError) as caught:
        resolve(providers, model)
    assert says in str(caught.value)
    if model == "veo-3.1":
        assert "OMNIROUTERS_API_KEY, INFINITYBLUE_API_KEY" in str(caught.value)


def test_cheapest_puts_the_priced_gateway_first_and_says_why(providers):
    r = route(providers, duration=5)
    assert order(r) == ["apimodels", "orcarouter", "omnirouters", "octopusx"]
    assert r.candidates[0].estimate_usd == pytest.approx(0.3165)
    assert r.why == "cheapest known estimate, $0.32"


def test_preference_and_pinning_follow_the_policy(providers):
    assert order(route(providers, policy="prefer:octopusx")) == ["octopusx", "apimodels", "orcarouter", "omnirouters"]
    assert route(providers, policy="prefer:octopusx").why == "VIDEOGEN_ROUTING prefers octopusx"
    assert order(route(providers, policy="pin:omnirouters,orcarouter")) == ["omnirouters", "orcarouter"]
    assert order(route(providers, "kling-v3", policy="cheapest; kling-v3=pin:apimodels")) == ["apimodels"]
    with pytest.raises(RouteError, match=r"VIDEOGEN_ROUTING \(pin:infinityblue\) leaves no gateway"):
        route(providers, policy="pin:infinityblue")


def test_gateways_that_cannot_take_the_request_are_skipped_with_their_reason(providers):
    r = route(providers, resolution="4k")  # only OrcaRouter's Kling 3.0 Omni renders 4k
    assert order(r) == ["orcarouter"]
    assert any(s.startswith("apimodels: kling-v3-omni on apimodels.app takes resolution 720p or 1080p")
               for s in r.skipped)


def test_a_request_no_gateway_can_take_is_refused_naming_what_each_allows(providers):
    with pytest.raises(RouteError) as caught:
        route(providers, duration=20)
    text = str(caught.value)
    assert text.startswith("No configured gateway can make kling-v3-omni as asked.")
    for gateway in ("orcarouter", "omnirouters", "octopusx", "apimodels"):
        assert f"{gateway}: " in text
    assert "takes duration 3 to 15 s (got 20)" in text


def test_one_gateway_refusing_gives_its_own_message(providers):
    with pytest.raises(RouteError) as caught:
        route(providers, "orcarouter/kling/kling-v2-6", duration=7)
    assert str(caught.value) == "kling/kling-v2-6 on OrcaRouter takes duration 5 or 10 s (got 7)."


def test_a_failing_gateway_goes_last_for_a_while_then_recovers(providers):
    clock = Clock()
    health = Health(clock)
    health.failed("apimodels", "kling-v3-omni", Unavailable("overloaded", status=503, sent=False))
    r = route(providers, health=health)
    assert order(r)[-1] == "apimodels" and "pushed back for now: apimodels (overloaded)" in r.why
    clock.now += COOL_BASE + 1
    assert order(route(providers, health=health))[0] == "apimodels"  # the cool-down is over
    health.failed("apimodels", "kling-v3-omni", Unavailable("overloaded", status=503, sent=False))
    health.failed("apimodels", "kling-v3-omni", Unavailable("overloaded", status=503, sent=False))
    clock.now += COOL_BASE + 1
    assert health.pushed_back("apimodels", "kling-v3-omni") == "overloaded"  # repeated: the wait doubled
    health.succeeded("apimodels", "kling-v3-omni")
    assert health.pushed_back("apimodels", "kling-v3-omni") is None  # a success clears it at once


def test_what_each_failure_says_about_the_gateway():
    clock = Clock()
    health = Health(clock)
    health.failed("a", "m1", ModelNotAvailable("a does not serve m1", status=503))
    assert health.pushed_back("a", "m1") == "does not serve the model" and health.pushed_back("a", "m2") is None
    health.failed("b", "m1", RateLimited("slow", status=429, sent=False, retry_after=5))
    health.failed("c", "m1", QuotaError("no quota", status=403, sent=False))
    health.failed("d", "m1", UpstreamError("502", status=502, sent=True))  # may have created a job: not health
    clock.now += 6
    assert health.pushed_back("b", "m1") is None and health.pushed_back("c", "m1") == "out of quota"
    assert health.pushed_back("d", "m1") is None
