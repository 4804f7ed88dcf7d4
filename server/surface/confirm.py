"""Asking the user before an expensive job, where the client can: form elicitation in both protocol eras.

2025-11-25: a server-to-client `elicitation/create` while the call waits. 2026-07-28: the call answers
`input_required` with the question and a `requestState`; the client asks, then calls again with the answer.
`requestState` is sealed (AES-GCM, bound to the call's arguments, 10 min) by the SDK's RequestStateBoundary, which
`install` puts in front of every call, so the handler only ever reads state it minted itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import anyio
import mcp_types as t
from mcp.server.context import ServerRequestContext
from mcp_types.version import is_version_at_least

log = logging.getLogger("videogen")
KEY = "confirm_cost"  # the inputRequests key
MODERN = "2026-07-28"  # the first protocol whose tools/call carries elicitation as input_required
ASK_TIMEOUT = 120.0  # seconds; a client that declares elicitation but never shows the form must not hang the call
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Start this paid job?", "default": False}},
    "required": ["confirm"],
}
Answer = Literal["accept", "decline", "unavailable"]


def can_ask(ctx: ServerRequestContext) -> bool:
    """The client declared form elicitation (a bare `elicitation: {}` predates modes and means form)."""
    caps = ctx.session.client_capabilities
    found = caps.elicitation if caps is not None else None
    return found is not None and (found.form is not None or found.url is None)


def modern(ctx: ServerRequestContext) -> bool:
    return is_version_at_least(ctx.protocol_version, MODERN)


def _accepted(result: t.ElicitResult) -> bool:
    return result.action == "accept" and bool((result.content or {}).get("confirm"))


async def ask(ctx: ServerRequestContext, message: str, quote: str) -> Answer | t.InputRequiredResult:
    """The user's answer to `message`, or (2026-07-28) the input_required result that asks it.

    `quote` identifies what was asked (the estimate); an answer is only taken for the same quote, so a price that
    changed between the two rounds is asked again.
    """
    if modern(ctx):
        params = ctx.params or {}
        state, answer = _state(params.get("requestState")), (params.get("inputResponses") or {}).get(KEY)
        if answer is not None and state.get("quote") == quote:
            try:
                return "accept" if _accepted(t.ElicitResult.model_validate(answer)) else "decline"
            except ValueError:
                return "decline"
        request = t.ElicitRequest(params=t.ElicitRequestFormParams(message=message, requested_schema=SCHEMA))
        return t.InputRequiredResult(input_requests={KEY: request}, request_state=json.dumps({"quote": quote}))
    try:
        with anyio.fail_after(ASK_TIMEOUT):
            result = await ctx.session.elicit_form(message, SCHEMA, related_request_id=ctx.request_id)
    except TimeoutError:
        return "decline"
    except Exception as exc:  # no back channel (stateless HTTP), or the client refused the request
        log.info("elicitation unavailable: %s", exc)
        return "unavailable"
    return "accept" if _accepted(result) else "decline"


def _state(value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def install(server: Any, audience: str = "videogen-mcp") -> None:
    """Seal every 2026-07-28 requestState this server mints. An ephemeral key: state is good only in the process
    that minted it, which a stdio server and a single HTTP worker are (the SDK already loads its crypto)."""
    from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity

    server.middleware.append(RequestStateBoundary(RequestStateSecurity.ephemeral(), default_audience=audience))
