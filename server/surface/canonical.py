"""list_video_models' canonical view: each canonical model id with the configured gateways selling it, in the order
VIDEOGEN_ROUTING tries them for a default request, and what differs between them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import families
from providers.base import Provider, VideoRequest
from providers.policy import Policy
from server.engine.routing import Candidate, listed_estimate

# What may differ from one seller to the next (each gateway's own entry in `models` has the full detail).
COMPARED = ("durations", "resolutions", "aspect_ratios", "inputs", "audio", "negative_prompt", "seed", "price")


def family_entries(providers: Mapping[str, Provider], models: list[dict[str, Any]], policy: Policy
                   ) -> list[dict[str, Any]]:
    """One entry per canonical id that a listed gateway sells; `models` are list_video_models' per-gateway entries,
    whose fields are compared."""
    listed = {m["id"]: m for m in models}
    out = []
    for family in families.table().values():
        sellers = [Candidate(p, info) for pid, p in providers.items()
                   if (name := family.model_on(pid)) and (info := p.model(name)) is not None
                   and f"{pid}/{info.name}" in listed]
        if not sellers:
            continue
        strategy = policy.for_model(family.id)
        ordered = strategy.arrange(sellers, lambda c: c.gateway, default_estimate)
        entry: dict[str, Any] = {"id": family.id, "name": family.name, "gateways": [c.model_id for c in ordered],
                                 "routing": str(strategy)}
        differs = {}
        for key in COMPARED:
            values = {c.gateway: listed[c.model_id].get(key) for c in sellers}
            if len({repr(v) for v in values.values()}) > 1:
                differs[key] = values
        if differs:
            entry["differs"] = differs
        notes = [family.note] if family.note else []
        if not ordered:
            notes.append(f"VIDEOGEN_ROUTING ({strategy}) routes it to no configured gateway; pass a gateway id")
        if notes:
            entry["note"] = " ".join(notes)
        out.append(entry)
    return out


def default_estimate(candidate: Candidate) -> float | None:
    """The estimate for a job with the model's default duration and nothing else set."""
    return listed_estimate(candidate, VideoRequest(model=candidate.info.name)).usd


def family_line(entry: dict[str, Any]) -> str:
    """The entry as one line of list_video_models' text."""
    gateways = ", ".join(g.split("/", 1)[0] for g in entry["gateways"]) or "no gateway (see VIDEOGEN_ROUTING)"
    line = f"- {entry['id']} ({entry['name']}) on {gateways}"
    if entry.get("differs"):
        line += "; they differ in " + ", ".join(entry["differs"])
    return line
