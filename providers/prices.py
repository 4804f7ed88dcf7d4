"""What a job will cost, before it is sent: the price table (`catalogs/prices.json`) and `estimate`, a pure function
of the model id and the normalized request. Nothing here does I/O beyond reading the packaged table once.

    from providers.prices import estimate
    est = estimate("apimodels/kling-v3-omni", VideoRequest(model="kling-v3-omni", prompt="x", duration=5))
    est.usd, est.basis   # 0.3165, "5 s x $0.0633/s (std mode (the default), no audio)"
    est.source, est.as_of  # where the price comes from, and its date; est.usd is None (basis: why) when unknown

A gateway's own figure from new-api's `GET /api/pricing` (`gateway_prices.GatewayPrice`) may be passed as `hint`:
it is used only when the table has no row, and labelled as the hint it is.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from providers import catalogs
from providers.base import ModelInfo, VideoRequest

if TYPE_CHECKING:
    from providers.gateway_prices import GatewayPrice

LIST_PRICE_NOTE = "vendor list price; the gateway's own price may differ"
FPS = 24  # Seedance bills tokens per frame; its videos are 24 fps [apps-preview-cost.md §3]
_RESOLUTION_IN_NAME = re.compile(r"^(?P<base>.+)-(?P<res>\d{3,4}p)$", re.IGNORECASE)  # OmniRouters' Kling-3.0-1080p
_FOUR_K = {"4k", "2160p", "4096p"}
_MODES = {"720p": "std", "1080p": "pro", "4k": "4k"}  # Kling says resolution through `mode` [seed 000, 003]


@dataclass(frozen=True)
class Estimate:
    """A job's estimated price: `usd` with what it assumes (`basis`) and where the price comes from, or `usd` None
    with the reason in `basis`."""

    usd: float | None
    basis: str
    source: str = ""
    as_of: str | None = None
    kind: str = "none"  # "gateway" (its own price), "vendor" (a list price), "hint" (/api/pricing), "free", "none"
    unit_price: float | None = None
    unit: str | None = None  # "second", "clip", "million_tokens"
    quantity: float | None = None  # seconds, 1 clip, or millions of tokens
    currency: str = "USD"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.usd is not None

    def summary(self) -> str:
        """One line for the ledger and for texts: the figure, its basis and its source."""
        head = f"${self.usd:.4f}: " if self.usd is not None else ""
        tail = f"; {self.source}" + (f", as of {self.as_of}" if self.as_of else "") if self.source else ""
        return head + self.basis + tail

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"usd": self.usd, "basis": self.basis}
        if self.source:
            out.update(source=self.source, as_of=self.as_of, kind=self.kind)
        if self.unit_price is not None:
            out.update(unit_price=self.unit_price, unit=self.unit, quantity=self.quantity, currency=self.currency)
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Row:
    gateway: str | None
    model: str
    when: dict[str, Any]
    unit: str
    price: float
    currency: str
    source: str  # key into the table's sources

    def matches(self, facts: dict[str, Any]) -> bool:
        for key, wanted in self.when.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if facts.get(key) not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    sources: dict[str, dict[str, str]]
    vendor_models: dict[str, str]
    pixels: dict[str, tuple[int, int]]

    def rows_for(self, provider: str, name: str) -> tuple[list[Row], str | None]:
        """The rows pricing `provider/name`: the gateway's own, else its vendor's list (with that vendor model)."""
        own = [r for r in self.rows if r.gateway == provider and r.model in (name, "*")]
        if own:
            return own, None
        vendor = self.vendor_models.get(f"{provider}/{name}")
        return [r for r in self.rows if r.gateway is None and r.model == vendor], vendor


@cache
def table() -> Table:
    data = json.loads(resources.files(catalogs).joinpath("prices.json").read_text(encoding="utf-8"))
    rows = tuple(Row(**{k: v for k, v in row.items()}) for row in data["rows"])
    for row in rows:
        if row.source not in data["sources"]:
            raise ValueError(f"prices.json: row {row.model} names unknown source {row.source!r}")
    pixels = {k: (int(v[0]), int(v[1])) for k, v in data["pixels"].items()}
    return Table(rows, data["sources"], data["vendor_models"], pixels)


def _info(provider: str, name: str) -> ModelInfo | None:
    try:
        models = catalogs.load(provider)
    except FileNotFoundError:
        return None
    lowered = name.lower()
    return next((m for m in models if m.name.lower() == lowered), None)


def facts(request: VideoRequest, info: ModelInfo | None = None) -> dict[str, Any]:
    """What prices depend on, from the normalized request (options win: they are merged last into the body)."""
    options = request.options or {}
    resolution = (request.resolution or "").lower() or None
    match = _RESOLUTION_IN_NAME.match(request.model)
    if resolution is None and match:
        resolution = match["res"].lower()
    if resolution in _FOUR_K:
        resolution = "4k"
    mode = options.get("mode") if isinstance(options.get("mode"), str) else _MODES.get(resolution or "")
    audio: bool | None = request.audio
    if options.get("sound") in ("on", "off"):  # Kling's own field, when passed through options
        audio = options["sound"] == "on"
    listed = options.get("video_list")
    videos: list[Any] = listed if isinstance(listed, list) else []
    keep = any(isinstance(v, dict) and v.get("keep_original_sound") == "yes" for v in videos)
    duration = request.duration
    if duration is None and info is not None:
        duration = info.default_duration
    return {"mode": mode, "audio": audio, "video_input": bool(request.reference_videos or videos),
            "keep_sound": keep, "resolution": resolution, "duration": duration}


def describe(when: dict[str, Any]) -> str:
    """A row's conditions in words: "std mode, no audio"."""
    words: list[str] = []
    for key, wanted in when.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        given = [v for v in values if v is not None]
        default = None in values
        match key:
            case "mode":
                words.append(f"{'/'.join(given)} mode" + (" (the default)" if default else ""))
            case "audio":
                words.append("with audio" if True in given else "no audio")
            case "video_input":
                words.append("with a video input" if True in given else "no video input")
            case "keep_sound":
                words.append("keeping the input video's sound" if True in given else "")
            case "resolution":
                words.append("/".join(given) + (" (or unset)" if default else ""))
            case "duration":
                words.append(f"{'/'.join(map(str, given))} s clip")
    return ", ".join(w for w in words if w) or "any settings"


def _pick(rows: list[Row], facts_: dict[str, Any]) -> Row | None:
    """The most specific matching row; among equally specific ones the dearest (an estimate errs high)."""
    hits = [r for r in rows if r.matches(facts_)]
    return max(hits, key=lambda r: (len(r.when), r.price)) if hits else None


def estimate(model: str, request: VideoRequest, *, hint: GatewayPrice | None = None) -> Estimate:
    """The estimated price of `request` on `model` ("<provider>/<gateway model>"), or None with the reason."""
    provider, _, name = model.partition("/")
    base = _RESOLUTION_IN_NAME.match(name)
    info = _info(provider, name) or (_info(provider, base["base"]) if base else None)
    prices = table()
    rows, vendor = prices.rows_for(provider, name)
    if not rows and base:
        rows, vendor = prices.rows_for(provider, base["base"])
    facts_ = facts(request, info)
    row = _pick(rows, facts_)
    if row is None:
        return _from_hint(model, facts_, hint) or _unknown(model, rows, facts_)
    source = prices.sources[row.source]
    label = source["text"] + (f" for {vendor} ({LIST_PRICE_NOTE})" if vendor else "")
    what = describe(row.when)
    priced = Estimate(None, "", source=label, as_of=source["as_of"], kind=source["kind"], unit_price=row.price,
                      unit=row.unit, currency=row.currency)
    if source["kind"] == "free":
        return replace(priced, usd=0.0, basis="the sandbox is simulated and free")
    if row.unit == "clip":
        return replace(priced, usd=round(row.price, 6), basis=f"one {what} at ${row.price:g}", quantity=1)
    seconds = facts_["duration"]
    if seconds is None:
        return replace(priced, basis=f"{model} is priced per second but the request sets no duration and the model "
                       "has no default; pass duration")
    if row.unit == "second":
        default = " (the default duration)" if request.duration is None else ""
        return replace(priced, usd=round(row.price * math.ceil(seconds), 6), quantity=math.ceil(seconds),
                       basis=f"{math.ceil(seconds)} s{default} x ${row.price:g}/s ({what})")
    return _tokens(model, row, facts_, seconds, what, priced)


def _tokens(model: str, row: Row, facts_: dict[str, Any], seconds: float, what: str, priced: Estimate) -> Estimate:
    """Seedance bills tokens ~= (input video s + output s) x W x H x fps / 1024 [apps-preview-cost.md §3]."""
    resolution = facts_["resolution"] or "720p"
    size = table().pixels.get(resolution)
    if size is None:
        return replace(priced, basis=f"no token count known for {resolution} on {model}")
    if facts_["video_input"]:
        return replace(priced, basis=f"{model} bills the input video's seconds too, and their length is not known "
                       "before sending")
    tokens = seconds * size[0] * size[1] * FPS / 1024
    amount = round(tokens / 1e6 * row.price, 4)
    basis = (f"about {tokens:,.0f} tokens ({seconds:g} s x {size[0]}x{size[1]} x {FPS} fps / 1024) x "
             f"{row.currency} {row.price:g} per million ({what}) = {row.currency} {amount:g}")
    priced = replace(priced, quantity=round(tokens / 1e6, 6))
    if row.currency != "USD":
        return replace(priced, basis=basis + f"; priced in {row.currency}, so no USD figure", extra={"amount": amount})
    return replace(priced, usd=amount, basis=basis)


def _from_hint(model: str, facts_: dict[str, Any], hint: GatewayPrice | None) -> Estimate | None:
    if hint is None or hint.per_second_usd is None:
        return None
    seconds = facts_["duration"]
    if seconds is None:
        return None
    usd = round(hint.per_second_usd * math.ceil(seconds), 6)
    return Estimate(usd, f"{math.ceil(seconds)} s x ${hint.per_second_usd:g}/s: {hint.meaning}",
                    source=f"{model.partition('/')[0]}'s GET /api/pricing (a hint, read {hint.read_on})",
                    as_of=hint.read_on, kind="hint", unit_price=hint.per_second_usd, unit="second",
                    quantity=math.ceil(seconds))


def _unknown(model: str, rows: list[Row], facts_: dict[str, Any]) -> Estimate:
    if not rows:
        return Estimate(None, f"no price known for {model}")
    keys = ("mode", "audio", "video_input") if facts_["mode"] else ("resolution", "audio", "video_input")
    asked = describe({k: facts_[k] for k in keys if facts_[k] is not None})
    return Estimate(None, f"no price known for {model} with {asked}; list_video_models shows the settings it has "
                    "prices for")


def price_block(model: str) -> dict[str, Any] | None:
    """`list_video_models`' `price` (interface.md): the headline per-second figure (the model's first row, its
    default settings), what it assumes, its source and date, and the table when the price depends on settings."""
    provider, _, name = model.partition("/")
    rows, vendor = table().rows_for(provider, name)
    base = _RESOLUTION_IN_NAME.match(name)
    if not rows and base:
        rows, vendor = table().rows_for(provider, base["base"])
    if not rows:
        return None
    first = rows[0]
    source = table().sources[first.source]
    basis = "simulated and free" if source["kind"] == "free" else describe(first.when)
    out: dict[str, Any] = {"usd_per_second": _per_second(first), "basis": basis
                           + (f"; {LIST_PRICE_NOTE}" if vendor else ""),
                           "source": source["text"] + (f" for {vendor}" if vendor else ""), "as_of": source["as_of"]}
    if first.currency != "USD":
        out[f"{first.currency.lower()}_per_{first.unit}"] = first.price
    if len(rows) > 1:
        out["table"] = [{"when": _plain(r.when), "usd_per_second": _per_second(r)} if r.currency == "USD" else
                        {"when": _plain(r.when), f"{r.currency.lower()}_per_{r.unit}": r.price} for r in rows]
    return out


def _plain(when: dict[str, Any]) -> dict[str, Any]:
    """A row's conditions without the "not given" markers: {"mode": [null, "std"]} -> {"mode": "std"}."""
    out: dict[str, Any] = {}
    for key, wanted in when.items():
        values = [v for v in (wanted if isinstance(wanted, list) else [wanted]) if v is not None]
        out[key] = values[0] if len(values) == 1 else values
    return out


def _per_second(row: Row) -> float | None:
    if row.currency != "USD":
        return None
    if row.unit == "clip":
        return round(row.price / row.when["duration"], 6)
    return row.price if row.unit == "second" else None
