"""Runtime: what every MCP handler receives as its lifespan context (built by server.app, read by server.surface)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
import mcp_types as t

from providers.base import Provider
from server.settings import Settings
from server.surface.schemas import tool_definitions

if TYPE_CHECKING:
    from server.engine.core import Engine

log = logging.getLogger("videogen")
DISCOVERY_TTL = 600.0


@dataclass
class Runtime:
    """What every handler sees as its lifespan context."""

    settings: Settings
    client: httpx2.AsyncClient
    providers: dict[str, Provider]
    engine: Callable[[], Awaitable[Engine]]  # `await rt.engine()`: the running engine, started if need be
    download_default: bool
    _discovered: dict[str, float] = field(default_factory=dict)
    # provider id -> (monotonic time read, its GET /api/pricing rows by model): hints, see surface/cost.py
    price_hints: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _tools: list[t.Tool] | None = None

    def tools(self) -> list[t.Tool]:
        """Tool definitions from the catalogs, built once per process (schemas are data, not code)."""
        if self._tools is None:
            self._tools = tool_definitions(self.providers, self.settings.default_wait)
        return self._tools

    async def discover(self, provider: Provider) -> None:
        """Ask the gateway for models the catalog lacks, at most every DISCOVERY_TTL s; never fails the caller."""
        last = self._discovered.get(provider.id)
        if last is not None and time.monotonic() - last < DISCOVERY_TTL:
            return
        self._discovered[provider.id] = time.monotonic()
        try:
            await provider.discover()
        except Exception as exc:  # discovery is a nicety; the catalog still answers
            log.warning("model discovery on %s failed: %s", provider.id, exc)
