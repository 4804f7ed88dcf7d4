"""The JWT verifier against a real local issuer (keys made here, metadata and JWKS over loopback HTTP): what it
accepts, every way a token is refused, key caching and rotation, and an issuer that is down or misconfigured."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fakes.issuer import Issuer, ec_key, rsa_key

from server.cli.auth import Rejected, Unavailable
from server.cli.oauth import JwtVerifier, check_issuer, discovery_urls

pytestmark = pytest.mark.anyio
AUD = "http://127.0.0.1:8000/mcp"


def unsigned(alg: str, claims: dict, secret: bytes = b"") -> str:
    """A token with header `alg` signed by hand (HS256 with `secret`, or nothing): what an attacker sends."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    head = part({"alg": alg, "kid": "rsa-1", "typ": "JWT"}) + "." + part(claims)
    signature = hmac.new(secret, head.encode(), hashlib.sha256).digest() if alg == "HS256" else b""
    return head + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


async def test_a_valid_token_names_its_subject_and_keys_are_fetched_once():
    with Issuer() as issuer:
        verifier = JwtVerifier(issuer.url, AUD)
        rsa_access = await verifier.check(issuer.token("alice", audience=AUD))
        ec_access = await verifier.check(issuer.token("bob", audience=[AUD, "other"], kid="ec-1"))
        for _ in range(20):
            await verifier.check(issuer.token("alice", audience=AUD))
    assert (rsa_access.subject, rsa_access.client_id, rsa_access.scopes) == ("alice", "test-client", ["videos"])
    assert rsa_access.claims == {"iss": issuer.url} and rsa_access.resource == AUD
    assert ec_access.subject == "bob"
    assert issuer.fetches == {"/.well-known/oauth-authorization-server": 1, "/jwks.json": 1}


async def test_every_bad_token_is_refused_with_its_reason():
    with Issuer() as issuer:
        verifier = JwtVerifier(issuer.url, AUD)
        public_pem = issuer.published["rsa-1"].public_key().public_bytes(Encoding.PEM, PublicFormat.PKCS1)
        claims = {"iss": issuer.url, "aud": AUD, "sub": "mallory", "exp": 4102444800}
        cases = {
            "not for this server": issuer.token(audience="https://other.example/mcp"),
            "has expired": issuer.token(audience=AUD, lifetime=-120),
            "not issued by": issuer.token(audience=AUD, iss="https://evil.example"),
            "InvalidSignatureError": issuer.token(audience=AUD, key=rsa_key()),  # the kid is real, the key is not
            "does not publish": issuer.token(audience=AUD, kid="rotated-away", key=rsa_key()),
            "signed with one of": unsigned("HS256", claims, public_pem),  # the classic key-confusion attack
            "must be signed": unsigned("none", claims),
            "names no subject": issuer.token(" ", audience=AUD),
            "lacks the 'sub' claim": issuer.token(None, audience=AUD),
            "lacks the 'exp' claim": issuer.token(audience=AUD, exp=None),
            "not a JWT": "not-a-jwt",
            "does not fit": jwt.encode(claims, ec_key(), algorithm="ES256", headers={"kid": "rsa-1"}),
        }
        for reason, token in cases.items():
            with pytest.raises(Rejected, match=reason):
                await verifier.check(token)
            assert await verifier.verify_token(token) is None  # the SDK's TokenVerifier face


async def test_a_token_without_kid_is_taken_only_when_the_issuer_has_one_key():
    with Issuer() as issuer:
        with pytest.raises(Rejected, match="does not publish"):  # two keys: which one is not ours to guess
            await JwtVerifier(issuer.url, AUD).check(issuer.token(audience=AUD, kid=None))
        del issuer.published["ec-1"]
        access = await JwtVerifier(issuer.url, AUD).check(issuer.token(audience=AUD, kid=None))
    assert access.subject == "alice"


async def test_a_rotated_key_is_fetched_but_unknown_keys_do_not_hammer_the_issuer():
    with Issuer() as issuer:
        verifier = JwtVerifier(issuer.url, AUD, refresh_gap=0.3)
        await verifier.check(issuer.token(audience=AUD))
        issuer.published["rsa-2"] = rsa_key()
        for _ in range(5):  # within the gap: refused without asking the issuer again
            with pytest.raises(Rejected, match="does not publish"):
                await verifier.check(issuer.token(audience=AUD, kid="rsa-2"))
        assert issuer.fetches["/jwks.json"] == 1
        await anyio.sleep(0.35)
        assert (await verifier.check(issuer.token("carol", audience=AUD, kid="rsa-2"))).subject == "carol"
        assert issuer.fetches["/jwks.json"] == 2


async def test_keys_are_fetched_again_after_their_lifetime_and_kept_while_the_issuer_is_down():
    with Issuer() as issuer:
        verifier = JwtVerifier(issuer.url, AUD, keys_ttl=0.2, refresh_gap=0.0)
        token = issuer.token(audience=AUD)
        await verifier.check(token)
        await anyio.sleep(0.25)
        await verifier.check(token)
        assert issuer.fetches["/jwks.json"] == 2
    await anyio.sleep(0.25)  # the issuer is gone: the keys it published still check its tokens
    assert (await verifier.check(token)).subject == "alice"


async def test_an_unreachable_or_misconfigured_issuer_is_unavailable_not_a_bad_token():
    with Issuer() as issuer:
        url = issuer.url
    with pytest.raises(Unavailable, match="could not be fetched"):
        await JwtVerifier(url, AUD).check(jwt.encode({"sub": "x"}, rsa_key(), algorithm="RS256",
                                                      headers={"kid": "rsa-1"}))
    with Issuer() as issuer:  # its metadata must name the very issuer configured (RFC 8414 §3.3)
        verifier = JwtVerifier(issuer.url + "/", AUD)
        with pytest.raises(Unavailable):
            await verifier.check(issuer.token(audience=AUD))
    assert issuer.fetches["/jwks.json"] == 0


def test_discovery_follows_the_mcp_spec_order_and_issuers_must_be_https_off_loopback():
    assert discovery_urls("https://id.example") == ["https://id.example/.well-known/oauth-authorization-server",
                                                    "https://id.example/.well-known/openid-configuration"]
    assert discovery_urls("https://id.example/tenant1") == [
        "https://id.example/.well-known/oauth-authorization-server/tenant1",
        "https://id.example/.well-known/openid-configuration/tenant1",
        "https://id.example/tenant1/.well-known/openid-configuration"]
    check_issuer("https://id.example/tenant1")
    check_issuer("http://127.0.0.1:9000")
    for bad in ("http://id.example", "id.example", "https://id.example/?x=1", "ftp://id.example"):
        with pytest.raises(ValueError, match="VIDEOGEN_OAUTH_ISSUER"):
            check_issuer(bad)
