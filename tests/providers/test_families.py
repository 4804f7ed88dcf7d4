"""The canonical model table agrees with the catalogs, and VIDEOGEN_ROUTING's rules parse and order as documented."""

from __future__ import annotations

import pytest

from providers import catalogs, families, policy
from providers.registry import GATEWAY_IDS


def test_every_member_is_a_catalog_model_and_every_catalog_model_has_one_family():
    seen: dict[tuple[str, str], str] = {}
    for family in families.table().values():
        assert family.id == family.id.lower() and "/" not in family.id and family.gateways
        for provider_id, name in family.gateways:
            assert name in {m.name for m in catalogs.load(provider_id)}, f"{family.id}: {provider_id}/{name}"
            assert (provider_id, name) not in seen, f"{provider_id}/{name} is in {seen[(provider_id, name)]} too"
            seen[(provider_id, name)] = family.id
    unlisted = [f"{g}/{m.name}" for g in GATEWAY_IDS for m in catalogs.load(g) if (g, m.name) not in seen]
    assert unlisted == [], "catalog models with no canonical id"


def test_lookups_ignore_case_and_the_sandbox_has_no_family():
    assert families.get("Kling-V3-Omni") is families.get("kling-v3-omni")
    assert families.canonical_of("octopusx", "kling-3.0-omni") == "kling-v3-omni"
    assert families.canonical_of("omnirouters", "Kling-3.0-omni") == "kling-v3-omni"
    assert families.canonical_of("sandbox", "kling-sim") is None
    sellers = {pid for pid, _ in families.get("kling-v3-omni").gateways}
    assert sellers == {"orcarouter", "omnirouters", "octopusx", "apimodels"}
    assert families.get("seedance-2.0").model_on("octopusx") == "doubao-seedance-2-0-260128"


def parse(text: str | None) -> policy.Policy:
    return policy.parse(text, gateways=GATEWAY_IDS, models=families.table())


@pytest.mark.parametrize(("text", "expected"), [
    (None, "cheapest"),
    ("", "cheapest"),
    ("cheapest", "cheapest"),
    (" Prefer: OrcaRouter , apimodels ", "prefer:orcarouter,apimodels"),
    ("pin:octopusx", "pin:octopusx"),
    ("prefer:apimodels; seedance-2.0=pin:octopusx,orcarouter",
     "prefer:apimodels; seedance-2.0=pin:octopusx,orcarouter"),
    ("veo-3.1=prefer:infinityblue", "cheapest; veo-3.1=prefer:infinityblue"),
])
def test_policies_parse(text, expected):
    assert str(parse(text)) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("fastest", "use cheapest, prefer:<gateways> or pin:<gateways>"),
    ("prefer:", "name the gateways"),
    ("cheapest:orcarouter", "takes no gateway list"),
    ("pin:orcarouter,nowhere", "unknown gateway nowhere; gateways: orcarouter"),
    ("pin:sandbox", "unknown gateway sandbox"),
    ("kling-v9=pin:orcarouter", "'kling-v9', which is no canonical model id"),
    ("cheapest; pin:orcarouter", "two default rules"),
])
def test_bad_policies_name_what_is_allowed(text, says):
    with pytest.raises(ValueError, match="VIDEOGEN_ROUTING") as caught:
        parse(text)
    assert says in str(caught.value)


PRICES = {"orcarouter": None, "omnirouters": 0.9, "octopusx": 0.4, "apimodels": 0.4}  # registry order, ties too


def arranged(text: str, model: str = "kling-v3-omni") -> list[str]:
    strategy = parse(text).for_model(model)
    return strategy.arrange(list(PRICES), gateway=lambda g: g, estimate=PRICES.get)


def test_cheapest_puts_known_prices_first_ties_in_registry_order():
    assert arranged("cheapest") == ["octopusx", "apimodels", "omnirouters", "orcarouter"]


def test_prefer_puts_its_gateways_first_then_the_cheapest_of_the_rest():
    assert arranged("prefer:orcarouter,omnirouters") == ["orcarouter", "omnirouters", "octopusx", "apimodels"]


def test_pin_keeps_only_its_gateways_and_a_model_rule_wins_over_the_default():
    assert arranged("pin:apimodels,orcarouter") == ["apimodels", "orcarouter"]
    assert arranged("pin:apimodels; kling-v3-omni=prefer:orcarouter") == [
        "orcarouter", "octopusx", "apimodels", "omnirouters"]
    assert arranged("pin:apimodels; kling-v3-omni=prefer:orcarouter", model="kling-v3") == ["apimodels"]
