"""Adding a gateway that reuses a vendor format is one small file plus a catalog (and its registry row): NewFork in
tests/fakes/newfork.py. The provider contract runs over it in test_contract.py; here, the rest of the claim."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fakes import newfork
from fakes.gateways import GATEWAY_SHAPES, fake_for
from fakes.requests import req
from pydantic import create_model

from providers.registry import SPECS, build
from server import settings as settings_module

pytestmark = pytest.mark.anyio
SOURCE = Path(newfork.__file__)


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SPECS, newfork.SPEC.id, newfork.SPEC)
    monkeypatch.setitem(GATEWAY_SHAPES, newfork.SPEC.id, newfork.SHAPE)


def test_it_is_one_small_file_that_imports_only_what_gateways_share():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules - {"__future__", "typing"} == {"providers.base", "providers.newapi", "providers.registry",
                                                  "providers.wire"}
    code = [line for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()
            and not line.lstrip().startswith("#")]
    assert len(code) < 40, "a gateway on an existing vendor format should stay this small"


async def test_its_settings_follow_from_its_row_and_its_jobs_reach_stock_kling(monkeypatch):
    # The settings class is built from the rows at import; built again here with the new row present.
    with_row = create_model("WithNewFork", __base__=settings_module.Settings, **settings_module._gateway_fields())
    gw = fake_for(newfork.SPEC.id, api_key="sk-newfork-1234")
    monkeypatch.setenv("NEWFORK_API_KEY", "sk-newfork-1234")
    monkeypatch.setenv("NEWFORK_BASE_URL", gw.base_url + "/v1/")  # normalised like every gateway's
    config = with_row(_env_file=None, VIDEOGEN_SANDBOX=False).gateways()[newfork.SPEC.id]
    async with gw.client() as client:
        provider = build(newfork.SPEC.id, client, config)
        accepted = await provider.submit(req("kling-v3-omni", duration=5, first_frame="https://i.test/a.png"))
    upstream = gw.tasks[accepted.upstream_id].upstream  # what new-api's Kling channel builds from it
    assert upstream["aspect_ratio"] == "16:9" and upstream["duration"] == "5"
    assert upstream["image_list"] == [{"image_url": "https://i.test/a.png", "type": "first_frame"}]
