"""Which gateway takes a job. The model id is resolved once, at the tool boundary, into a Route: the configured
gateways able to serve the request as asked, in the order VIDEOGEN_ROUTING and their recent health give. The engine
carries that one value to the wire, and moves along it only after a failure that provably created nothing.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from providers import families, registry
from providers.base import ModelInfo, Provider, VideoRequest
from providers.errors import ProviderError
from providers.policy import Policy, Strategy
from providers.prices import Estimate, estimate
from server.engine import budget
from server.engine.budget import Limits
from server.engine.health import Health


class RouteError(ValueError):
    """The model id or the request cannot be routed; the message names what would work instead."""


@dataclass(frozen=True)
class Candidate:
    """One gateway's way to serve the request: the adapter and its model, resolved once."""

    provider: Provider
    info: ModelInfo
    cost: Estimate | None = None  # what this gateway would charge for the request, once chosen

    @property
    def estimate_usd(self) -> float | None:
        return None if self.cost is None else self.cost.usd

    @property
    def gateway(self) -> str:
        return self.provider.id

    @property
    def model_id(self) -> str:
        return f"{self.provider.id}/{self.info.name}"

    def request(self, request: VideoRequest) -> VideoRequest:
        """The request as this gateway names the model."""
        return request if request.model == self.info.name else request.model_copy(update={"model": self.info.name})


@dataclass(frozen=True)
class Resolved:
    """What a model id names: a gateway id pins one gateway; a canonical id names every configured seller."""

    asked: str
    canonical: str | None
    options: tuple[Candidate, ...]
    pinned: bool  # a gateway id: exactly that gateway

    @property
    def name(self) -> str:
        """The model name a gateway-neutral request carries (each candidate puts its own on the wire)."""
        return self.options[0].info.name if self.pinned else self.asked


@dataclass(frozen=True)
class Route:
    """The gateways to try, in order, and why. The first that takes the job keeps it; the next is tried only after
    a failure that provably created nothing (server.engine.failover)."""

    asked: str
    canonical: str | None
    candidates: tuple[Candidate, ...]
    why: str
    pinned: bool = True  # a gateway id (or an engine caller's provider): one gateway, no route to record
    skipped: tuple[str, ...] = ()  # gateways selling the model that cannot take this request, with the reason

    @property
    def key(self) -> str:
        """What the request's fingerprint is taken over: the gateway when pinned, else the canonical id."""
        return self.candidates[0].gateway if self.pinned else self.asked

    def record(self, current: Candidate, tried: tuple[Attempt, ...] = ()) -> dict[str, Any] | None:
        """What the ledger keeps about the route (the task object's `route`), with a sentence for the agent; None
        for a pinned id."""
        if self.pinned:
            return None
        out: dict[str, Any] = {"asked": self.asked, "gateway": current.gateway, "why": self.why,
                               "order": [c.model_id for c in self.candidates]}
        if self.skipped:
            out["skipped"] = list(self.skipped)
        if tried:
            out["tried"] = [a.public() for a in tried]
        text = f"Routed {self.asked} to {current.gateway} ({self.why})"
        if tried:
            text += "; " + "; ".join(f"{a.gateway} refused it first without creating a job ({a.code})"
                                     for a in tried) + ", so nothing was billed there"
        out["note"] = text + "."
        return out


def pinned(provider: Provider, request: VideoRequest) -> Route:
    """The one-gateway route of an engine caller that names the provider itself (the model as the request has it)."""
    info = provider.model(request.model) or ModelInfo(name=request.model)
    return Route(f"{provider.id}/{info.name}", None, (Candidate(provider, info),), "pinned by its model id")


@dataclass(frozen=True)
class Attempt:
    """A gateway that refused the job before creating anything."""

    gateway: str
    model: str
    code: str
    message: str
    at: float  # wall time: other processes learn the gateway's health from it (server/engine/health.py)

    @classmethod
    def of(cls, candidate: Candidate, error: BaseException | None) -> Attempt:
        return cls(candidate.gateway, candidate.model_id, getattr(error, "code", "submit_failed"), str(error),
                   time.time())

    def public(self) -> dict[str, Any]:
        return {"gateway": self.gateway, "model": self.model, "code": self.code, "message": self.message,
                "at": round(self.at, 3)}


# ---- resolving a model id -----------------------------------------------------------------------------------------
def resolve(providers: Mapping[str, Provider], asked: str) -> Resolved:
    """The one lookup of a model id: '<provider>/<gateway model>' pins that gateway, a canonical id names the
    configured gateways selling it. Raises RouteError naming the valid ids."""
    asked = asked.strip()
    provider_id, slash, name = asked.partition("/")
    if slash:
        return _gateway_id(providers, asked, provider_id, name)
    family = families.get(asked)
    if family is None:
        raise RouteError(_unknown(providers, asked))
    options = tuple(Candidate(p, info) for pid, p in providers.items()
                    if (gateway_name := family.model_on(pid)) and (info := p.model(gateway_name)) is not None)
    if not options:
        sellers = [pid for pid, _ in family.gateways]
        keys = ", ".join(f"{registry.SPECS[pid].env_prefix}_API_KEY" for pid in sellers)
        raise RouteError(f"{family.id} ({family.name}) is sold by {', '.join(sellers)}, and none of them is "
                         f"configured here: set one of {keys}. Call list_video_models for the models you can use.")
    return Resolved(family.id, family.id, options, pinned=False)


def _gateway_id(providers: Mapping[str, Provider], asked: str, provider_id: str, name: str) -> Resolved:
    provider = providers.get(provider_id)
    if provider is None or not name:
        known = ", ".join(providers) or "none (no gateway key is set and the sandbox is off)"
        raise RouteError(f"Unknown model {asked!r}: ids are canonical (e.g. kling-v3-omni) or "
                         f"'<provider>/<model>' with provider one of: {known}. Call list_video_models for the ids.")
    info = provider.model(name)
    if info is None:
        ids = [f"{provider.id}/{m.name}" for m in provider.models()]
        close = difflib.get_close_matches(asked, ids, n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(close)}?" if close else f" {provider.id} offers: {', '.join(ids[:30])}."
        raise RouteError(f"Unknown model {asked!r}.{hint} Call list_video_models for details.")
    return Resolved(asked, families.canonical_of(provider.id, info.name), (Candidate(provider, info),), pinned=True)


def _unknown(providers: Mapping[str, Provider], asked: str) -> str:
    served = [f.id for f in families.table().values() if any(pid in providers for pid, _ in f.gateways)]
    gateway_ids = [f"{p.id}/{m.name}" for p in providers.values() for m in p.models()]
    close = difflib.get_close_matches(asked.lower(), served + gateway_ids, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else f" Canonical ids here: {', '.join(served) or 'none'}."
    return f"Unknown model {asked!r}.{hint} Call list_video_models for every id."


# ---- choosing the route -------------------------------------------------------------------------------------------
Estimator = Callable[[Candidate, VideoRequest], Estimate]


def listed_estimate(candidate: Candidate, request: VideoRequest) -> Estimate:
    """The price table's estimate for this gateway's model (providers/prices.py)."""
    return estimate(candidate.model_id, candidate.request(request))


def choose(resolved: Resolved, request: VideoRequest, *, policy: Policy, health: Health,
           estimator: Estimator = listed_estimate) -> Route:
    """The route for `request`: the gateways that can take it as asked, ordered by the policy, those recently
    failing last. Raises RouteError naming what each gateway could do instead when none can."""
    strategy = Strategy("pin", tuple(c.gateway for c in resolved.options)) if resolved.pinned else \
        policy.for_model(resolved.canonical)
    options = [c for c in resolved.options if strategy.allows(c.gateway)]
    if not options:
        sellers = ", ".join(c.gateway for c in resolved.options)
        raise RouteError(f"VIDEOGEN_ROUTING ({strategy}) leaves no gateway for {resolved.asked}; it is configured on "
                         f"{sellers}. Change VIDEOGEN_ROUTING or pass a '<provider>/<model>' id.")
    fit: list[Candidate] = []
    skipped: list[str] = []
    for candidate in options:
        try:
            candidate.provider.validate(candidate.request(request), candidate.info)
        except ProviderError as exc:
            skipped.append(f"{candidate.gateway}: {exc}")
            continue
        fit.append(replace(candidate, cost=estimator(candidate, request)))
    if not fit:
        if len(options) == 1:
            raise RouteError(skipped[0].split(": ", 1)[1])
        raise RouteError(f"No configured gateway can make {resolved.asked} as asked. "
                         + " ".join(_sentence(s) for s in skipped))
    ordered = strategy.arrange(fit, lambda c: c.gateway, lambda c: c.estimate_usd)
    back = {c.gateway: why for c in ordered if (why := health.pushed_back(c.gateway, c.info.name))}
    ordered = [c for c in ordered if c.gateway not in back] + [c for c in ordered if c.gateway in back]
    return Route(resolved.asked, resolved.canonical, tuple(ordered), _why(resolved, strategy, ordered, back),
                 resolved.pinned, tuple(skipped))


def within_limits(route: Route, limits: Limits) -> Route:
    """The route without the gateways the per-job cap or the unpriced rule refuse (server/engine/budget.py); with a
    budget, also without those dearer than the first, whose estimate is what the ledger reserves, so a failover
    never spends more than was reserved. Raises RouteError with the refusals when none is left."""
    kept: list[Candidate] = []
    refused: list[str] = []
    for candidate in route.candidates:
        why = budget.refusal(candidate.model_id, candidate.cost, limits) if candidate.cost is not None else None
        if why is None:
            kept.append(candidate)
        else:
            refused.append(why)
    reserved = kept[0].estimate_usd if kept else None
    if limits.budget is not None and reserved is not None:
        dearer = [c for c in kept[1:] if c.estimate_usd is None or c.estimate_usd > reserved + 1e-9]
        refused += [f"{c.gateway}: dearer than the ${reserved:.2f} the budget reserves" for c in dearer]
        kept = [c for c in kept if c not in dearer]
    if not kept:
        raise RouteError(refused[0] if len(refused) == 1 else " ".join(refused))
    if len(kept) == len(route.candidates):
        return route
    return replace(route, candidates=tuple(kept), skipped=(*route.skipped, *refused))


def _why(resolved: Resolved, strategy: Strategy, ordered: list[Candidate], back: dict[str, str]) -> str:
    first = ordered[0]
    if resolved.pinned:
        text = "pinned by its model id"
    elif strategy.kind == "pin":
        text = f"VIDEOGEN_ROUTING pins {', '.join(strategy.gateways)}"
    elif strategy.kind == "prefer" and first.gateway in strategy.gateways:
        text = f"VIDEOGEN_ROUTING prefers {', '.join(strategy.gateways)}"
    elif first.estimate_usd is not None:
        text = f"cheapest known estimate, ${first.estimate_usd:.2f}"
    else:
        text = "no gateway lists a price for it, so the first configured one"
    if back:
        text += "; pushed back for now: " + ", ".join(f"{g} ({why})" for g, why in back.items())
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."
