"""Who may call `serve --http`, and as whom: bearer tokens named by principal (VIDEOGEN_HTTP_TOKENS, or the one
VIDEOGEN_HTTP_TOKEN), or OAuth access tokens (server/cli/oauth.py). The accepted token rides in the request's
scope as the SDK's AuthenticatedUser and in its auth context: the SDK binds each MCP session (and each sealed
requestState) to it, the surface reads its principal."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.routing import Route

from server.settings import Settings
from server.tasks import DEFAULT_PRINCIPAL

PRINCIPAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")


class Rejected(Exception):
    """The token is not accepted; the message (never the token) is what the client reads."""


class Unavailable(Exception):
    """The token cannot be checked right now (the OAuth issuer's keys are out of reach)."""


class Verifier(Protocol):
    def check(self, token: str) -> Awaitable[AccessToken]: ...


class StaticTokens:
    """Fixed tokens, each naming its principal; compared in constant time against every one."""

    def __init__(self, principals: dict[str, str]) -> None:  # principal -> token
        self._pairs = [(p, t.encode()) for p, t in principals.items()]

    async def check(self, token: str) -> AccessToken:
        given = token.encode()
        found = None
        for principal, expected in self._pairs:  # no early exit: timing says nothing about which token matched
            if hmac.compare_digest(given, expected):
                found = principal
        if found is None:
            raise Rejected("unknown token")
        return AccessToken(token=token, client_id=found, scopes=[], subject=found)

    async def verify_token(self, token: str) -> AccessToken | None:  # the SDK's TokenVerifier protocol
        try:
            return await self.check(token)
        except Rejected:
            return None


def token_principals(settings: Settings) -> dict[str, str]:
    """principal -> token from VIDEOGEN_HTTP_TOKEN (the default principal) and VIDEOGEN_HTTP_TOKENS; ValueError
    naming the entry (by position, never by its token) when one is malformed or repeats a name or a token."""
    pairs: list[tuple[str, str]] = []
    if settings.http_token is not None:
        pairs.append((DEFAULT_PRINCIPAL, settings.http_token.get_secret_value()))
    for n, (principal, token) in enumerate(settings.http_principals(), 1):
        if not PRINCIPAL_NAME.fullmatch(principal) or not token:
            raise ValueError(f"VIDEOGEN_HTTP_TOKENS entry {n} is not 'principal:token' (a principal is 1-64 "
                             "letters, digits or ._@+-; pairs are separated by commas)")
        pairs.append((principal, token))
    principals: dict[str, str] = {}
    for principal, token in pairs:
        if principal in principals:
            raise ValueError(f"principal {principal!r} is named twice (VIDEOGEN_HTTP_TOKEN is principal "
                             f"{DEFAULT_PRINCIPAL!r})")
        if token in principals.values():
            raise ValueError(f"principal {principal!r} has the same token as another principal")
        principals[principal] = token
    return principals


class Guard:
    """ASGI: every HTTP request but `public_paths` carries `Authorization: Bearer <token>` the verifier accepts.
    A refusal is 401 with a WWW-Authenticate challenge (RFC 6750; OAuth mode adds RFC 9728's resource_metadata)."""

    def __init__(self, app: Any, verifier: Verifier, *, public_paths: Iterable[str] = (),
                 resource_metadata: str | None = None) -> None:
        self.app = app
        self.verifier = verifier
        self._public = frozenset(public_paths)
        self._metadata = resource_metadata

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self._public:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse(send, 401, None, "send 'Authorization: Bearer <token>'")
            return
        try:
            access = await self.verifier.check(token.strip())
        except Rejected as exc:
            await self._refuse(send, 401, "invalid_token", str(exc))
            return
        except Unavailable as exc:
            await self._refuse(send, 503, "temporarily_unavailable", str(exc))
            return
        user = AuthenticatedUser(access)
        scope["user"], scope["auth"] = user, AuthCredentials(access.scopes)
        context = auth_context_var.set(user)  # what the SDK's AuthContextMiddleware does: handlers see it too
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(context)

    async def _refuse(self, send: Any, status: int, error: str | None, description: str) -> None:
        params = [f'error="{error}"', f'error_description="{_quoted(description)}"'] if error else []
        if self._metadata:
            params.append(f'resource_metadata="{self._metadata}"')
        challenge = "Bearer " + ", ".join(params) if params else 'Bearer realm="videogen-mcp"'
        body = json.dumps({"error": error or "invalid_request", "error_description": description}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", challenge.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


@dataclass(frozen=True)
class HttpAuth:
    """How `serve --http` authenticates: the verifier, and the public routes that go with it (OAuth metadata)."""

    verifier: Verifier
    routes: list[Route] = field(default_factory=list)
    resource_metadata: str | None = None  # the RFC 9728 metadata URL named in every challenge (OAuth)

    def guard(self, app: Any) -> Guard:
        return Guard(app, self.verifier, public_paths=[r.path for r in self.routes],
                     resource_metadata=self.resource_metadata)
