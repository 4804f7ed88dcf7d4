"""The shared authenticated request helper: one place that sends, classifies errors and keeps the key secret.

The key lives in a `SecretStr` until the Authorization header is built. Every body a gateway sends back is scrubbed
of it here, on arrival (`scrub`), so no failure reason, message or URL can carry it into a result, log or ledger row.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import SecretStr

from providers.errors import (
    NEWAPI_CODES,
    BadResponse,
    Rule,
    ProviderError,
    TransportFailure,
    error_for_status,
    error_for_transport,
    parse_retry_after,
)

log = logging.getLogger("providers.http")

MAX_MESSAGE = 300  # gateway text we quote back to the agent
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)?sk-[A-Za-z0-9_\-]{4,}")  # key-looking text a gateway may echo back


def clean_text(text: str, *, secret: str | None = None, limit: int = MAX_MESSAGE) -> str:
    """Gateway text made safe to show: no key, no control characters, bounded length."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = _BEARER.sub("[redacted]", text)
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (parsed JSON) with every configured key replaced in every string, keys of objects included."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def normalize_base_url(base_url: str) -> str:
    """The gateway root: a trailing `/` or `/v1` (as OrcaRouter's docs write it) is dropped; routes add `/v1`."""
    url = base_url.strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def gateway_message(body: Any) -> str:
    """The human message inside an error body: {"error":{"message"}}, {"error":"..."}, {"message"} or {"msg"}."""
    if not isinstance(body, dict):
        return body if isinstance(body, str) else ""
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return error["message"]
    if isinstance(error, str) and error:
        return error
    for key in ("message", "msg", "detail"):
        if isinstance(body.get(key), str) and body[key]:
            return body[key]
    return ""


def gateway_code(body: Any) -> str:
    """The gateway's own error code, when it gives a string one (`task_not_exist`, `quota_insufficient`, ...)."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return error["code"]
    return body["code"] if isinstance(body.get("code"), str) else ""


def parse_json(content: bytes) -> Any:
    """JSON or None; never raises."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


class GatewayHTTP:
    """Authenticated JSON calls against one gateway base URL, with every failure turned into a typed error."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        *,
        provider: str,
        base_url: str,
        api_key: SecretStr | None,
        env: str,
        codes: dict[str, Rule] | None = None,
    ) -> None:
        self._client = client
        self.provider = provider
        self.base_url = normalize_base_url(base_url)
        self._key = api_key  # SecretStr: its repr is '**********'
        self.env = env
        self.codes = NEWAPI_CODES if codes is None else codes  # the protocol's error-code table

    def __repr__(self) -> str:
        return f"GatewayHTTP(provider={self.provider!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        return self.base_url + path

    @staticmethod
    def segment(value: str) -> str:
        """A task id made safe to put in a URL path (ids like `sora-2:task_…` exist; `/` must not escape)."""
        return quote(value, safe="")

    def auth_headers(self) -> dict[str, str]:
        if self._key is None:
            return {}
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def _secret(self) -> str | None:
        return self._key.get_secret_value() if self._key is not None else None

    def secrets(self) -> tuple[str, ...]:
        secret = self._secret()
        return (secret,) if secret and secret.strip() else ()

    def scrub(self, value: Any) -> Any:
        """Gateway-originated data without the key (every response passes here before anyone reads it)."""
        return scrub(value, self.secrets())

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (),
        model: str | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return (status, parsed JSON body). Non-2xx raises the typed error from the status table.

        `ok_statuses` lets a caller see chosen error statuses itself (e.g. 501 to fall back to another route);
        `model` names the model in a model-not-available error.
        """
        all_headers = {"Accept": "application/json", **(headers or {}), **self.auth_headers()}
        try:
            response = await self._client.request(
                method, self.url(path), json=json_body, params=params, headers=all_headers
            )
        except httpx2.HTTPError as exc:
            raise error_for_transport(exc, provider=self.provider) from exc
        except httpx2.InvalidURL as exc:
            fix = self.env.replace("API_KEY", "BASE_URL")
            raise TransportFailure(
                f"{self.provider}'s base URL {self.base_url!r} is not a valid URL; fix {fix}.",
                provider=self.provider,
                sent=False,
            ) from exc
        body = self.scrub(parse_json(response.content))
        log.debug("%s %s %s -> %s", self.provider, method, path, response.status_code)
        if 200 <= response.status_code < 300 or response.status_code in ok_statuses:
            return response.status_code, body
        raw = self.scrub(response.text) if body is None else ""
        raise self.error(response.status_code, body, response.headers.get("Retry-After"), raw, model=model)

    def error(
        self, status: int, body: Any, retry_after: str | None = None, raw: str = "", *, model: str | None = None
    ) -> ProviderError:
        """The typed error for a gateway error: its code first (this protocol's table), then its status."""
        body = self.scrub(body)
        message = gateway_message(body) or (raw if body is None else "")
        code = gateway_code(body)
        if code and code not in message and code != "success":
            message = f"{message} ({code})" if message else code
        if status == 400 and code == "task_not_exist":  # respondTaskError: unknown task id = 400 [new-api]
            status = 404
        return error_for_status(
            status,
            clean_text(message, secret=self._secret()),
            provider=self.provider,
            env=self.env,
            retry_after=parse_retry_after(retry_after),
            code=code,
            codes=self.codes,
            model=model,
        )

    async def post_json(
        self, path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None, model: str | None = None
    ) -> Any:
        _, data = await self.request("POST", path, json_body=body, headers=headers, model=model)
        return self.require_json(data)

    async def get_json(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        _, data = await self.request("GET", path, params=params)
        return self.require_json(data)

    def require_json(self, data: Any) -> Any:
        if data is None:
            raise BadResponse(
                f"{self.provider} answered with something that is not JSON; the gateway may be misconfigured "
                "(check the base URL) or down. Try again later.",
                provider=self.provider,
            )
        return data
