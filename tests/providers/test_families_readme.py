"""The README's canonical model table is the family table (so the docs cannot drift from the routing data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from providers import families

README = Path(__file__).resolve().parents[2] / "README.md"
COLUMNS = ("orcarouter", "omnirouters", "octopusx", "apimodels", "infinityblue")


@pytest.mark.skipif(not README.exists(), reason="README is not shipped in the wheel")
def test_readme_lists_every_canonical_id_with_the_gateway_models_serving_it():
    section = README.read_text(encoding="utf-8").split("### Canonical model ids", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 + len(COLUMNS) and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = {g: c.strip("`") for g, c in zip(COLUMNS, cells[2:], strict=True) if c}
    assert rows == {f.id: dict(f.gateways) for f in families.table().values()}
    assert re.search(r"`VIDEOGEN_ROUTING`", README.read_text(encoding="utf-8"))
