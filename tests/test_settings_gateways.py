"""Gateway settings follow from the registry's rows: `<PREFIX>_API_KEY` and `<PREFIX>_BASE_URL` for each gateway,
read from the environment and from `.env`, with the names interface.md gives."""

from __future__ import annotations

import pytest

from providers.registry import GATEWAY_IDS, SPECS
from server.settings import Settings


def aliases() -> set[str]:
    return {field.validation_alias.choices[0] for field in Settings.model_fields.values()}


def test_each_gateway_row_gives_its_two_variables_and_nothing_is_hand_written():
    gateway_vars = {name for name in aliases() if not name.startswith("VIDEOGEN_")}
    rows = [SPECS[i] for i in GATEWAY_IDS]
    assert gateway_vars == {f"{s.env_prefix}_{what}" for s in rows for what in ("API_KEY", "BASE_URL")}
    assert {"ORCAROUTER_API_KEY", "INFINITYBLUE_BASE_URL"} <= gateway_vars  # interface.md's names, unchanged


@pytest.mark.parametrize("provider_id", GATEWAY_IDS)
def test_the_environment_configures_each_gateway(monkeypatch, provider_id):
    prefix = SPECS[provider_id].env_prefix
    monkeypatch.setenv(f"{prefix}_API_KEY", "sk-from-env-1234")
    monkeypatch.setenv(f"{prefix}_BASE_URL", "http://127.0.0.1:9")
    settings = Settings(_env_file=None)
    config = settings.gateways()[provider_id]
    assert config.base_url == "http://127.0.0.1:9" and config.api_key.get_secret_value() == "sk-from-env-1234"
    assert "sk-from-env-1234" in settings.secrets()  # so the log filter redacts it


def test_a_dotenv_file_configures_them_too_and_a_blank_key_is_unset(monkeypatch, tmp_path):
    for spec in SPECS.values():
        monkeypatch.delenv(f"{spec.env_prefix}_API_KEY", raising=False)
    (tmp_path / ".env").write_text("OCTOPUSX_API_KEY=sk-from-dotenv-5678\nAPIMODELS_API_KEY=  \n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    active = Settings(VIDEOGEN_SANDBOX=False).gateways()
    assert list(active) == ["octopusx"] and active["octopusx"].base_url == SPECS["octopusx"].default_base_url
    assert "APIMODELS_API_KEY" in Settings(VIDEOGEN_SANDBOX=False).missing_keys()
