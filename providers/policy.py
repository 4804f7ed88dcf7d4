"""VIDEOGEN_ROUTING, the user's rule for which gateway takes a canonical model id: parsed once, applied as a pure
ordering of the gateways able to serve a request.

    cheapest                 lowest known price estimate first; unpriced gateways after, in registry order (default)
    prefer:orcarouter,octopusx   these first, in this order, then the others as `cheapest` orders them
    pin:apimodels            only these gateways (in this order): never another, even when they fail
    cheapest; seedance-2.0=pin:octopusx   rules separated by `;`; `<canonical id>=` limits a rule to that model
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

T = TypeVar("T")
Kind = Literal["cheapest", "prefer", "pin"]
KINDS: tuple[Kind, ...] = ("cheapest", "prefer", "pin")


@dataclass(frozen=True)
class Strategy:
    kind: Kind = "cheapest"
    gateways: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}:{','.join(self.gateways)}" if self.gateways else self.kind

    def allows(self, gateway: str) -> bool:
        return self.kind != "pin" or gateway in self.gateways

    def arrange(self, items: Sequence[T], gateway: Callable[[T], str],
                estimate: Callable[[T], float | None]) -> list[T]:
        """`items` in this strategy's order (ties keep their given, registry, order); `pin` drops the others."""
        def cheapest(item: T) -> tuple[bool, float]:
            cost = estimate(item)
            return cost is None, cost or 0.0

        if self.kind == "cheapest":
            return sorted(items, key=cheapest)
        listed = [i for g in self.gateways for i in items if gateway(i) == g]
        if self.kind == "pin":
            return listed
        return listed + sorted((i for i in items if gateway(i) not in self.gateways), key=cheapest)


@dataclass(frozen=True)
class Policy:
    default: Strategy = Strategy()
    per_model: Mapping[str, Strategy] = field(default_factory=dict)

    def for_model(self, canonical: str | None) -> Strategy:
        return self.per_model.get(canonical or "", self.default)

    def __str__(self) -> str:
        rules = [str(self.default)] + [f"{model}={rule}" for model, rule in self.per_model.items()]
        return "; ".join(rules)


def parse(text: str | None, *, gateways: Collection[str], models: Collection[str]) -> Policy:
    """The policy in `text` (None or blank: cheapest). Raises ValueError naming what is allowed."""
    default: Strategy | None = None
    per_model: dict[str, Strategy] = {}
    for raw in (text or "").split(";"):
        rule = raw.strip().lower()
        if not rule:
            continue
        model, _, spec = rule.rpartition("=")
        model = model.strip()
        strategy = _strategy(spec.strip(), gateways)
        if not model:
            if default is not None:
                raise ValueError(f"VIDEOGEN_ROUTING has two default rules ({default}; {strategy}); keep one")
            default = strategy
        elif model not in models:
            raise ValueError(f"VIDEOGEN_ROUTING names {model!r}, which is no canonical model id (see "
                             "`videogen-mcp models`)")
        else:
            per_model[model] = strategy
    return Policy(default or Strategy(), per_model)


def _strategy(spec: str, gateways: Collection[str]) -> Strategy:
    kind, _, names = spec.partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise ValueError(f"VIDEOGEN_ROUTING rule {spec!r}: use cheapest, prefer:<gateways> or pin:<gateways> "
                         "(e.g. prefer:orcarouter,apimodels)")
    listed = tuple(n.strip() for n in names.split(",") if n.strip())
    if kind == "cheapest" and listed:
        raise ValueError(f"VIDEOGEN_ROUTING rule {spec!r}: cheapest takes no gateway list")
    if kind != "cheapest" and not listed:
        raise ValueError(f"VIDEOGEN_ROUTING rule {spec!r}: name the gateways, e.g. {kind}:orcarouter")
    unknown = [n for n in listed if n not in gateways]
    if unknown:
        raise ValueError(f"VIDEOGEN_ROUTING names unknown gateway {', '.join(unknown)}; gateways: "
                         f"{', '.join(gateways)}")
    return Strategy(kind, tuple(dict.fromkeys(listed)))
