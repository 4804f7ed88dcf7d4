"""A local OAuth issuer for the OAuth tests: RSA and EC keys made here, its metadata (RFC 8414) and JWKS served
over real HTTP on loopback (stdlib server in a thread), and access tokens minted with any claims or key."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class Issuer:
    """`with Issuer() as issuer:` serves /.well-known/oauth-authorization-server and /jwks.json at issuer.url.
    `published` maps kid -> private key; the JWKS lists their public halves (change it to rotate keys)."""

    def __init__(self) -> None:
        self.published: dict[str, Any] = {"rsa-1": rsa_key(), "ec-1": ec_key()}
        self.fetches: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.published.items():
            tool = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
            keys.append({**tool.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"})
        return {"keys": keys}

    def token(self, sub: str | None = "alice", *, audience: str, kid: str | None = "rsa-1", key: Any = None,
              lifetime: float = 300, **claims: Any) -> str:
        """A signed access token; `key` signs with another key than the one published under `kid`; a claim given
        as None is left out."""
        signer = key if key is not None else self.published[kid or "rsa-1"]
        alg = "RS256" if isinstance(signer, rsa.RSAPrivateKey) else "ES256"
        now = int(time.time())
        body = {"iss": self.url, "aud": audience, "sub": sub, "iat": now, "exp": int(now + lifetime),
                "client_id": "test-client", "scope": "videos", **claims}
        headers = {"kid": kid} if kid is not None else {}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, signer, algorithm=alg, headers=headers)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches[self.path] += 1
                if self.path == "/.well-known/oauth-authorization-server":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json",
                            "authorization_endpoint": f"{issuer.url}/authorize",
                            "token_endpoint": f"{issuer.url}/token", "response_types_supported": ["code"],
                            "code_challenge_methods_supported": ["S256"]}
                elif self.path == "/jwks.json":
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        return Handler

    def __enter__(self) -> Issuer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
