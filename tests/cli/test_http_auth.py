"""The HTTP auth pieces in process: token pairs as configured, the guard's answers (401 challenges, 503 when the
issuer is out of reach, the principal handed on), and the Host/Origin names a public URL adds."""

from __future__ import annotations

import httpx2
import pytest
from mcp.server.auth.middleware.auth_context import get_access_token
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.cli.auth import Guard, Rejected, StaticTokens, Unavailable, token_principals
from server.cli.http import resource_url, security_settings
from server.settings import Settings
from server.surface.principal import principal_of
from server.tasks import DEFAULT_PRINCIPAL

pytestmark = pytest.mark.anyio


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)


def test_token_pairs_name_principals_and_the_single_token_is_the_default_one():
    got = token_principals(settings(VIDEOGEN_HTTP_TOKEN="solo-1234", VIDEOGEN_HTTP_TOKENS=" alice:a-1:x , bob:b-2,"))
    assert got == {DEFAULT_PRINCIPAL: "solo-1234", "alice": "a-1:x", "bob": "b-2"}  # a token may hold colons
    assert token_principals(settings(VIDEOGEN_HTTP_TOKEN=" ", VIDEOGEN_HTTP_TOKENS="")) == {}
    for bad in ("alice", ":tok", "al ice:tok", "alice:", "x" * 65 + ":tok"):
        with pytest.raises(ValueError, match="entry 1"):
            token_principals(settings(VIDEOGEN_HTTP_TOKENS=bad))
    with pytest.raises(ValueError, match="'default' is named twice"):
        token_principals(settings(VIDEOGEN_HTTP_TOKEN="t-1", VIDEOGEN_HTTP_TOKENS="default:t-2"))
    every = settings(VIDEOGEN_HTTP_TOKEN="solo-1234", VIDEOGEN_HTTP_TOKENS="alice:a-secret-1").secrets()
    assert {"solo-1234", "a-secret-1"} <= set(every)  # the log filter redacts each token, not only the whole list


class Flaky:
    """A verifier whose issuer is out of reach."""

    async def check(self, token: str):
        raise Unavailable("the keys of https://id.example could not be fetched; try again shortly")


async def whoami(request: Request) -> JSONResponse:
    token = get_access_token()  # the SDK's auth context (requestState sealing binds to it)
    return JSONResponse({"principal": principal_of(request), "context": token.subject if token else None})


async def ask(verifier, headers: dict[str, str], path: str = "/who", **guard) -> httpx2.Response:
    app = Guard(Starlette(routes=[Route("/who", whoami), Route("/open", whoami)]), verifier, **guard)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path, headers=headers)


async def test_the_guard_hands_on_the_principal_and_challenges_everyone_else():
    tokens = StaticTokens({"alice": "tok-a", "bob": "tok-b"})
    assert (await ask(tokens, {"Authorization": "Bearer tok-b"})).json() == {"principal": "bob", "context": "bob"}
    assert (await ask(tokens, {"Authorization": "bearer  tok-a "})).json()["principal"] == "alice"
    wrong = await ask(tokens, {"Authorization": "Bearer tok-c"}, resource_metadata="http://t/.well-known/x")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert wrong.headers["www-authenticate"] == ('Bearer error="invalid_token", error_description="unknown token", '
                                                 'resource_metadata="http://t/.well-known/x"')
    for headers in ({}, {"Authorization": "Basic dG9rLWE="}, {"Authorization": "Bearer "}):
        r = await ask(tokens, headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="videogen-mcp"'
    opened = await ask(tokens, {}, path="/open", public_paths=["/open"])
    assert opened.json() == {"principal": DEFAULT_PRINCIPAL, "context": None}  # a public path: unauthenticated
    with pytest.raises(Rejected):
        await tokens.check("tok-")
    assert await tokens.verify_token("tok-a") is not None and await tokens.verify_token("nope") is None


async def test_an_issuer_out_of_reach_is_503_not_a_bad_token():
    r = await ask(Flaky(), {"Authorization": "Bearer eyJ.x.y"})
    assert r.status_code == 503 and "www-authenticate" not in r.headers
    assert r.json()["error"] == "temporarily_unavailable"


def test_a_public_url_is_accepted_by_the_host_checks_and_names_the_oauth_resource():
    checks = security_settings("0.0.0.0", settings(VIDEOGEN_PUBLIC_URL="https://videos.example/vg/"))
    assert "videos.example" in checks.allowed_hosts and "https://videos.example" in checks.allowed_origins
    assert "evil.example:*" not in checks.allowed_hosts
    assert resource_url(settings(VIDEOGEN_PUBLIC_URL="https://videos.example/vg/"), "0.0.0.0", 80) == \
        "https://videos.example/vg/mcp"
    assert resource_url(settings(), "::1", 8000) == "http://[::1]:8000/mcp"
    with pytest.raises(ValueError, match="VIDEOGEN_PUBLIC_URL"):
        resource_url(settings(), "0.0.0.0", 8000)
