"""Who is calling: the principal every task, video and resource belongs to. Over HTTP with tokens or OAuth it is
the identity the HTTP layer authenticated (server/cli/auth.py puts the SDK's AuthenticatedUser in the request's
scope); stdio, in-process clients and unauthenticated loopback HTTP are the one default principal."""

from __future__ import annotations

from typing import Any

from server.tasks import DEFAULT_PRINCIPAL


def principal_of(request: Any) -> str:
    """`request`: the Starlette request behind a call (ServerRequestContext.request; None on stdio)."""
    scope = getattr(request, "scope", None) or {}
    token = getattr(scope.get("user"), "access_token", None)  # duck-typed: this module loads on the start path
    if token is None:
        return DEFAULT_PRINCIPAL
    return str(token.subject or token.client_id)
