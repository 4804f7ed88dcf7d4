"""The one explicit registry of gateways: id -> how to configure it and which adapter class speaks its dialect.

Adapter modules are imported only when their gateway is active, so an unused gateway costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import httpx2
from pydantic import SecretStr

from providers.base import Provider


@dataclass(frozen=True)
class ProviderSpec:
    id: str
    title: str
    env_prefix: str  # <PREFIX>_API_KEY, <PREFIX>_BASE_URL
    default_base_url: str  # without the /v1 part
    adapter: str  # "module:Class"
    docs: str = ""
    keyless: bool = False
    console: str = ""  # where a person sees the gateway's task ids (to adopt an `unknown` task); "" = nowhere
    # The least interval between status checks the gateway's docs ask for (s; 0 = none said). new-api's own task
    # routes send no poll hint (relay/relay_task.go RelayTaskFetch sets only Content-Type) and refresh a job from
    # its vendor every 15 s (service/task_polling.go TaskPollingLoop); a 429 is answered by the engine's backoff.
    poll_interval: float = 0.0
    callback_option: str = ""  # the body field that takes a completion webhook URL ("" = no callbacks)


SPECS: dict[str, ProviderSpec] = {
    spec.id: spec
    for spec in (
        ProviderSpec("orcarouter", "OrcaRouter", "ORCAROUTER", "https://api.orcarouter.ai",
                     "providers.orcarouter:OrcaRouter", "https://docs.orcarouter.ai",
                     console="the OrcaRouter web console, Task log page (new-api: /console/task)"),
        ProviderSpec("omnirouters", "OmniRouters", "OMNIROUTERS", "https://omnirouters.com",
                     "providers.omnirouters:OmniRouters", "https://omnirouters.com",
                     console="the OmniRouters web console, Task log page (new-api: /console/task)"),
        ProviderSpec("octopusx", "OctopusX", "OCTOPUSX", "https://octopusx.ai",
                     "providers.octopusx:OctopusX", "https://octopusx.ai",
                     console="the OctopusX web console, Task log page (new-api: /console/task)"),
        ProviderSpec("apimodels", "apimodels.app", "APIMODELS", "https://apimodels.app",
                     "providers.apimodels:ApiModels", "https://apimodels.app",
                     console="the apimodels.app Console",
                     poll_interval=5.0, callback_option="callback_url"),  # "Poll every 5-10 seconds" [seed 003]
        ProviderSpec("infinityblue", "InfinityBlue", "INFINITYBLUE", "https://api.getinfinityblue.com",
                     "providers.infinityblue:InfinityBlue", "https://newdocs.getinfinityblue.com",
                     console="the InfinityBlue web console, Task log page (new-api: /console/task)",
                     poll_interval=5.0),  # "poll every 5-10 s" [seed 004 docs, providers.md §6]
        ProviderSpec("sandbox", "Sandbox (simulated, free)", "VIDEOGEN_SANDBOX", "http://sandbox.videogen.invalid",
                     "providers.sandbox:Sandbox", keyless=True),
    )
}
GATEWAY_IDS = tuple(i for i, s in SPECS.items() if not s.keyless)


@dataclass(frozen=True)
class GatewayConfig:
    """What the server hands the registry for one active gateway."""

    base_url: str
    api_key: SecretStr | None = None
    options: dict[str, Any] = field(default_factory=dict)  # adapter-specific (e.g. sandbox job seconds)


def adapter_class(provider_id: str) -> Any:
    """The adapter class the row names ("module:Class"), its module imported now."""
    module, _, name = SPECS[provider_id].adapter.partition(":")
    return getattr(importlib.import_module(module), name)


def build(provider_id: str, client: httpx2.AsyncClient, config: GatewayConfig) -> Provider:
    """Instantiate one adapter. Every adapter takes (client, *, base_url, api_key, **options)."""
    cls = adapter_class(provider_id)
    return cls(client, base_url=config.base_url.rstrip("/"), api_key=config.api_key, **config.options)


def http_mounts(configs: dict[str, GatewayConfig]) -> dict[str, httpx2.AsyncBaseTransport]:
    """Transports the shared client must route through (the embedded sandbox gateway lives in-process)."""
    mounts: dict[str, httpx2.AsyncBaseTransport] = {}
    for provider_id, config in configs.items():
        cls = adapter_class(provider_id)
        if cls.capabilities.mounts:
            mounts.update(cls.mounts(config))
    return mounts
