"""OAuth 2.1 resource-server mode over a real `serve --http`, with a local issuer the test starts (its own RSA and
EC keys, metadata and JWKS over loopback HTTP): the protected resource metadata (RFC 9728), 401 challenges that
name it, JWTs checked for key, issuer, audience and expiry, and each token's `sub` as its principal."""

from __future__ import annotations

import json
import subprocess

import httpx2
import pytest
from fakes.issuer import Issuer, rsa_key
from fakes.served import SCRIPT, http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.slow
OPENING = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream"}


async def call(origin: str, token: str, tool: str, arguments: dict):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{origin}/mcp", http_client=http), mode="legacy") as client:
            return await client.call_tool(tool, arguments)


@pytest.mark.anyio
async def test_oauth_mode_serves_its_metadata_checks_jwts_and_scopes_tasks_by_subject(tmp_path):
    with Issuer() as issuer, http_server(server_env(tmp_path, VIDEOGEN_OAUTH_ISSUER=issuer.url)) as origin:
        resource = f"{origin}/mcp"
        metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
        async with httpx2.AsyncClient(timeout=30) as http:
            for url in (metadata_url, f"{origin}/.well-known/oauth-protected-resource"):
                document = (await http.get(url)).json()  # public: a client reads it before it has a token
                assert document["resource"] == resource and document["authorization_servers"] == [issuer.url]
                assert document["bearer_methods_supported"] == ["header"]

            bare = await http.post(resource, json=OPENING, headers=ACCEPT)
            assert bare.status_code == 401
            assert bare.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url}"'
            refused = {
                "audience": issuer.token(audience="https://other.example/mcp"),
                "expired": issuer.token(audience=resource, lifetime=-120),
                "wrong key": issuer.token(audience=resource, key=rsa_key()),
                "unknown key": issuer.token(audience=resource, kid="elsewhere", key=rsa_key()),
                "issuer": issuer.token(audience=resource, iss="https://evil.example"),
            }
            for why, token in refused.items():
                r = await http.post(resource, json=OPENING, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
                challenge = r.headers.get("www-authenticate", "")
                assert r.status_code == 401, why
                assert challenge.startswith('Bearer error="invalid_token", error_description="'), (why, challenge)
                assert challenge.endswith(f'resource_metadata="{metadata_url}"'), (why, challenge)
            video = await http.get(f"{origin}/videos/vg_{'0' * 32}.mp4")
            assert video.status_code == 401  # the saved videos sit behind the same check

        alice, bob = issuer.token("alice", audience=resource), issuer.token("bob", audience=resource, kid="ec-1")
        made = await call(origin, alice, "generate_video", {"model": "sandbox/kling-sim", "prompt": "a fox",
                                                            "wait_seconds": 30})
        assert made.structured_content["status"] == "succeeded", made.content[0].text
        task_id = made.structured_content["task_id"]
        assert not (await call(origin, alice, "get_video_task", {"task_id": task_id})).is_error
        assert (await call(origin, bob, "get_video_task", {"task_id": task_id})).is_error  # another subject
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice}"}, timeout=30) as http:
            assert (await http.get(f"{origin}/videos/{task_id}.mp4")).status_code == 200
    # The issuer was asked once for its metadata and its keys (cached since), though many tokens were checked.
    assert issuer.fetches["/.well-known/oauth-authorization-server"] == 1
    assert issuer.fetches["/jwks.json"] <= 2  # once, plus at most once for the unknown key id


@pytest.mark.anyio
async def test_an_explicit_audience_is_the_one_tokens_must_carry(tmp_path):
    env = server_env(tmp_path, VIDEOGEN_OAUTH_ISSUER="", VIDEOGEN_OAUTH_AUDIENCE="api://videogen")
    with Issuer() as issuer:
        env["VIDEOGEN_OAUTH_ISSUER"] = issuer.url
        with http_server(env) as origin:
            ok = await call(origin, issuer.token(audience="api://videogen"), "list_video_models", {})
            async with httpx2.AsyncClient(timeout=30) as http:
                url_aud = issuer.token(audience=f"{origin}/mcp")
                r = await http.post(f"{origin}/mcp", json=OPENING,
                                    headers={**ACCEPT, "Authorization": f"Bearer {url_aud}"})
    assert not ok.is_error and r.status_code == 401


def doctor(home, **env: str) -> tuple[int, dict]:
    done = subprocess.run([str(SCRIPT), "doctor", "--json"], env=server_env(home, **env), capture_output=True,
                          text=True, timeout=60)
    return done.returncode, json.loads(done.stdout)["http_auth"]


def test_doctor_reaches_the_issuer_and_says_so(tmp_path):
    with Issuer() as issuer:
        code, auth = doctor(tmp_path, VIDEOGEN_OAUTH_ISSUER=issuer.url)
        assert code == 0 and auth == {"ok": True, "detail": f"OAuth, issuer {issuer.url}: 2 keys at {issuer.url}"
                                                            "/jwks.json"}
        url = issuer.url
    code, auth = doctor(tmp_path, VIDEOGEN_OAUTH_ISSUER=url)  # the issuer is gone
    assert code == 1 and not auth["ok"] and f"{url}/.well-known/oauth-authorization-server: ConnectError" in \
        auth["detail"]
    code, auth = doctor(tmp_path, VIDEOGEN_HTTP_TOKENS="alice:tok-a-1234,ci:tok-c-5678")
    assert code == 0 and auth["detail"] == "bearer tokens for alice, ci" and "tok-" not in json.dumps(auth)
