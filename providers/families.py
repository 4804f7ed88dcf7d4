"""Canonical model ids: one name per model, whichever gateways sell it, and the gateway model serving it on each
(`catalogs/families.json`). Pure data, loaded once on first use; what differs between the members is in their catalogs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Family:
    id: str  # the canonical id, e.g. "kling-v3-omni"
    name: str  # "Kling 3.0 Omni"
    gateways: tuple[tuple[str, str], ...]  # (provider id, that gateway's model name), in table order
    note: str = ""

    def model_on(self, provider_id: str) -> str | None:
        return dict(self.gateways).get(provider_id)


@cache
def table() -> dict[str, Family]:
    """Every family by canonical id, in file order."""
    data = json.loads(resources.files("providers.catalogs").joinpath("families.json").read_text(encoding="utf-8"))
    out: dict[str, Family] = {}
    for entry in data["families"]:
        family = Family(entry["id"], entry["name"], tuple(entry["gateways"].items()), entry.get("note", ""))
        if family.id in out or "/" in family.id:
            raise ValueError(f"families.json: {family.id!r} is repeated or has a '/' (kept for gateway ids)")
        out[family.id] = family
    return out


def get(canonical: str) -> Family | None:
    """The family of a canonical id (case-insensitive)."""
    return table().get(canonical.strip().lower())


@cache
def _members() -> dict[tuple[str, str], str]:
    return {(pid, name.lower()): f.id for f in table().values() for pid, name in f.gateways}


def canonical_of(provider_id: str, model_name: str) -> str | None:
    """The canonical id a gateway's model belongs to, or None (sandbox and discovered models have none)."""
    return _members().get((provider_id, model_name.lower()))
