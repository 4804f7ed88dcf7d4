"""OAuth 2.1 resource-server mode, as the MCP authorization spec describes it: this server publishes its protected
resource metadata (RFC 9728) naming the issuer, and accepts bearer JWTs signed by a key the issuer publishes
(its metadata's `jwks_uri`), issued by it, for this server's audience, and unexpired. The token's `sub` is the
principal."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.routing import Route

from server.cli.auth import HttpAuth, Rejected, Unavailable

log = logging.getLogger(__name__)

# Signatures checked with a public key only: never `none` or HS*, whose "key" a JWKS would hand to anyone.
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
KEYS_TTL = 600.0  # s: keys are fetched again after this, so a rotation needs no restart
REFRESH_GAP = 10.0  # s: the keys are fetched at most this often (an unknown key id, an issuer that is down)
LEEWAY = 30  # s: clock skew allowed on exp / nbf / iat
FETCH_TIMEOUT = 10.0
ROOT_METADATA = "/.well-known/oauth-protected-resource"


def oauth_auth(issuer: str, audience: str | None, resource: str) -> HttpAuth:
    """The HTTP auth for VIDEOGEN_OAUTH_ISSUER: the JWT verifier and the metadata routes for `resource` (this
    server's /mcp URL, also the default audience). ValueError on an unusable issuer URL."""
    check_issuer(issuer)
    metadata = str(build_resource_metadata_url(AnyHttpUrl(resource)))
    # Validated from strings: the model keeps an issuer without a path as written (RFC 8414 compares it exactly).
    document = ProtectedResourceMetadata.model_validate(
        {"resource": resource, "authorization_servers": [issuer], "resource_name": "videogen-mcp"})
    endpoint = cors_middleware(ProtectedResourceMetadataHandler(document).handle, ["GET", "OPTIONS"])
    paths = dict.fromkeys([urlsplit(metadata).path, ROOT_METADATA])  # RFC 9728's path, and the root some clients try
    routes = [Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"]) for path in paths]
    return HttpAuth(JwtVerifier(issuer, audience or resource), routes, metadata)


def check_issuer(issuer: str) -> None:
    """https (plain http only on loopback: a local identity provider, tests), no query or fragment (RFC 8414)."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"VIDEOGEN_OAUTH_ISSUER must be the issuer's https URL (got {issuer!r})")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"VIDEOGEN_OAUTH_ISSUER must use https unless it is on loopback (got {issuer!r})")


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def discovery_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may be, in the MCP spec's order: RFC 8414 and OpenID Connect discovery with the
    issuer's path after the well-known prefix, then OpenID Connect's own form (the path before it)."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    urls = [f"{origin}/.well-known/{name}{path}" for name in ("oauth-authorization-server", "openid-configuration")]
    if path:
        urls.append(f"{origin}{path}/.well-known/openid-configuration")
    return urls


class JwtVerifier:
    """The SDK's TokenVerifier for JWT access tokens from one issuer; keys fetched on first need and cached."""

    def __init__(self, issuer: str, audience: str, *, refresh_gap: float = REFRESH_GAP,
                 keys_ttl: float = KEYS_TTL) -> None:
        self.issuer = issuer
        self.audience = audience
        self._refresh_gap = refresh_gap
        self._keys_ttl = keys_ttl
        self._jwks_uri: str | None = None
        self._keys: list[dict[str, Any]] = []
        self._built: dict[tuple[Any, str], jwt.PyJWK] = {}
        self._fetched = -math.inf  # (monotonic) when the keys were last fetched
        self._tried = -math.inf  # when a fetch last started, failed ones too
        self._ended = -math.inf  # when a fetch last ended
        self._lock = anyio.Lock()

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.check(token)
        except (Rejected, Unavailable):
            return None

    async def check(self, token: str) -> AccessToken:
        """The token's access; Rejected with the reason a client may read; Unavailable without keys to check."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Rejected("the token is not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Rejected(f"the token must be signed with one of {', '.join(sorted(ALGORITHMS))}")
        key = await self._key(header.get("kid"), str(alg))
        try:
            claims = jwt.decode(token, key, algorithms=[str(alg)], audience=self.audience, issuer=self.issuer,
                                leeway=LEEWAY, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Rejected("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Rejected(f"the token is not for this server (its audience must include {self.audience})") from None
        except jwt.InvalidIssuerError:
            raise Rejected(f"the token was not issued by {self.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Rejected(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise Rejected(f"the token is not valid ({type(exc).__name__})") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise Rejected("the token names no subject (sub)")
        return AccessToken(token=token, client_id=str(claims.get("client_id") or claims.get("azp") or subject),
                           scopes=_scopes(claims), expires_at=int(claims["exp"]), resource=self.audience,
                           subject=subject, claims={"iss": claims["iss"]})

    async def probe(self) -> str:
        """For `doctor`: where the issuer's keys are and how many, or Unavailable saying what failed."""
        try:
            keys = await self._fetch()
        except (httpx2.HTTPError, ValueError, AttributeError) as exc:
            raise Unavailable(f"the keys of {self.issuer} could not be fetched: {exc}") from None
        return f"{len(keys)} keys at {self._jwks_uri}"

    async def _key(self, kid: Any, alg: str) -> jwt.PyJWK:
        jwk = self._find(kid)
        if jwk is None or time.monotonic() - self._fetched > self._keys_ttl:
            await self._refresh()
            jwk = self._find(kid)
        if jwk is None:
            if not self._keys:
                raise Unavailable(f"the keys of {self.issuer} could not be fetched; try again shortly")
            raise Rejected("the token is signed with a key the issuer does not publish")
        if (kid, alg) not in self._built:
            try:  # a key that names its algorithm is used with it only; else with the token's, if the type fits
                self._built[kid, alg] = jwt.PyJWK(jwk, None if jwk.get("alg") else alg)
            except jwt.PyJWTError:
                raise Rejected(f"the issuer's key {kid!r} does not fit algorithm {alg}") from None
        return self._built[kid, alg]

    def _find(self, kid: Any) -> dict[str, Any] | None:
        if kid is None:  # unambiguous only when the issuer publishes one key
            return self._keys[0] if len(self._keys) == 1 else None
        return next((k for k in self._keys if k.get("kid") == kid), None)

    async def _refresh(self) -> None:
        """Fetch the keys (discovering jwks_uri first); keep the keys known so far when that fails."""
        asked = time.monotonic()
        async with self._lock:
            if self._ended >= asked or time.monotonic() - self._tried < self._refresh_gap:
                return  # fetched while this caller waited, or just now: the issuer is not asked again
            self._tried = time.monotonic()
            try:
                keys = await self._fetch()
            except (httpx2.HTTPError, ValueError, AttributeError, Unavailable) as exc:
                log.warning("could not fetch the keys of %s: %s", self.issuer, exc)
                return
            finally:
                self._ended = time.monotonic()
            # Signing keys with a public half only: a symmetric `oct` key must never verify anything here.
            self._keys = [k for k in keys if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP")
                          and k.get("use", "sig") == "sig"]
            self._built.clear()
            self._fetched = time.monotonic()

    async def _fetch(self) -> list[Any]:
        async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover(client)
            response = await client.get(self._jwks_uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = response.json().get("keys")
        if not isinstance(keys, list):
            raise Unavailable(f"{self._jwks_uri} holds no key list")
        return keys

    async def _discover(self, client: httpx2.AsyncClient) -> str:
        tried = []
        for url in discovery_urls(self.issuer):
            try:
                response = await client.get(url, headers={"Accept": "application/json"})
            except httpx2.HTTPError as exc:
                tried.append(f"{url}: {type(exc).__name__}")
                continue
            if response.status_code != 200:
                tried.append(f"{url}: HTTP {response.status_code}")
                continue
            metadata = response.json()
            if metadata.get("issuer") != self.issuer:  # RFC 8414 §3.3: the document must name this very issuer
                raise Unavailable(f"{url} names issuer {metadata.get('issuer')!r}, not {self.issuer}")
            uri = metadata.get("jwks_uri")
            if not isinstance(uri, str) or urlsplit(uri).scheme not in ("https", "http"):
                raise Unavailable(f"{url} names no usable jwks_uri")
            return uri
        raise Unavailable(f"no authorization server metadata ({'; '.join(tried)})")


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope", claims.get("scp", []))
    if isinstance(scope, str):
        return scope.split()
    return [str(s) for s in scope] if isinstance(scope, list) else []
