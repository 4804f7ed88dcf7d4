"""A new-api gateway's own price figures, from `GET /api/pricing` (stock new-api serves it without login:
controller/pricing.go GetPricing, rows from model/pricing.go `Pricing`). A hint, never a quote: for video, new-api
multiplies the quota by per-request ratios (`seconds`, resolution, video input) that the route does not publish.

`parse` is pure; `fetch` makes one unauthenticated GET (the API key is never sent to a non-relay route).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2

PRICING_ROUTE = "/api/pricing"
MEANING = ("the gateway's own base price (model_price x group ratio); new-api multiplies it by the request's seconds "
           "on per-second video channels and by resolution ratios it does not publish, while other channels charge "
           "it once per request: read here as per second, the higher reading")


@dataclass(frozen=True)
class GatewayPrice:
    """One row of /api/pricing, reduced to what an estimate can use."""

    model: str
    quota_type: int  # 1: a fixed USD price (model_price); 0: billed by tokens through model_ratio
    model_price: float | None
    model_ratio: float | None
    group: str | None  # the group whose ratio is applied ("default" when the model is enabled for it)
    group_ratio: float
    read_on: str  # YYYY-MM-DD

    @property
    def per_second_usd(self) -> float | None:
        if self.quota_type != 1 or not self.model_price or self.model_price <= 0:
            return None
        return round(self.model_price * self.group_ratio, 6)

    @property
    def meaning(self) -> str:
        if self.per_second_usd is None:
            return f"billed by tokens (model_ratio {self.model_ratio:g}); no per-second figure" if (
                self.model_ratio is not None) else "no price figure"
        return MEANING

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quota_type": self.quota_type, "meaning": self.meaning, "read_on": self.read_on}
        if self.model_price is not None:
            out["model_price"] = self.model_price
        if self.model_ratio is not None and self.quota_type == 0:
            out["model_ratio"] = self.model_ratio
        out.update(group=self.group, group_ratio=self.group_ratio)
        if self.per_second_usd is not None:
            out["usd_per_second"] = self.per_second_usd
        return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse(data: Any, *, today: str | None = None) -> dict[str, GatewayPrice]:
    """model name -> its price, from the body of GET /api/pricing; {} for anything else (a fork without the route,
    an HTML page, `success: false`)."""
    if not isinstance(data, dict) or data.get("success") is False or not isinstance(data.get("data"), list):
        return {}
    read_on = today or datetime.now(UTC).strftime("%Y-%m-%d")
    ratios = {k: r for k, v in (data.get("group_ratio") or {}).items() if (r := _number(v)) is not None}
    out: dict[str, GatewayPrice] = {}
    for row in data["data"]:
        if not isinstance(row, dict) or not isinstance(row.get("model_name"), str):
            continue
        groups = [g for g in row.get("enable_groups") or [] if isinstance(g, str)]
        group, ratio = _group(groups, ratios)
        quota_type = row.get("quota_type")
        out[row["model_name"]] = GatewayPrice(
            model=row["model_name"], quota_type=quota_type if isinstance(quota_type, int) else 0,
            model_price=_number(row.get("model_price")), model_ratio=_number(row.get("model_ratio")),
            group=group, group_ratio=ratio, read_on=read_on)
    return out


def _group(groups: list[str], ratios: dict[str, float]) -> tuple[str | None, float]:
    """The ratio an unknown key most likely pays: its 'default' group's, else the dearest enabled group's (an
    estimate errs high); 1 when the gateway publishes none."""
    if "default" in ratios and ("default" in groups or "all" in groups or not groups):
        return "default", ratios["default"]
    known = [(ratios[g], g) for g in groups if g in ratios]
    if known:
        ratio, group = max(known)
        return group, ratio
    return None, 1.0


async def fetch(client: httpx2.AsyncClient, base_url: str, *, timeout: float = 10.0) -> dict[str, GatewayPrice]:
    """One GET {base}/api/pricing without credentials; {} when the gateway has no such route."""
    response = await client.get(base_url.rstrip("/") + PRICING_ROUTE, timeout=timeout,
                                headers={"Accept": "application/json"})
    if response.status_code != 200:
        return {}
    try:
        return parse(response.json())
    except ValueError:
        return {}
