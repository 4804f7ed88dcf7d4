"""Model catalogs as data: one JSON file per gateway (`<gateway>.json`), loaded lazily into ModelInfo.

File shape: {"gateway", "sources", "defaults": {ModelInfo fields}, "models": [{"name" | "names", ...fields}]};
"durations" may be a list or an inclusive range string "3-15".
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from providers.base import ModelInfo

_FIELDS = set(ModelInfo.model_fields)


def _durations(value: Any) -> Any:
    if isinstance(value, str) and "-" in value:
        low, high = (int(part) for part in value.split("-", 1))
        return list(range(low, high + 1))
    return value


@cache
def load(gateway: str) -> tuple[ModelInfo, ...]:
    """Every model of one gateway, in file order. Unknown keys are an error (a typo must not loosen validation).

    `gateway` names `<gateway>.json` here, or `<package>:<name>` a catalog another package ships (`<name>.json`)."""
    package, _, name = gateway.rpartition(":")
    data = json.loads(resources.files(package or __package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    out: list[ModelInfo] = []
    for entry in data["models"]:
        fields = {**defaults, **{k: v for k, v in entry.items() if k not in ("name", "names", "comment")}}
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"catalog {gateway}.json: unknown fields {sorted(unknown)}")
        fields["durations"] = _durations(fields.get("durations", ()))
        for name in entry.get("names") or [entry["name"]]:
            out.append(ModelInfo(name=name, **fields))
    return tuple(out)
