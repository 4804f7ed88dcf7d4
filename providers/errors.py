"""Typed provider errors, classified by HTTP status through one table, with messages written for the agent.

Every error says whether the gateway may have acted on the request (`sent`), which is what decides whether a paid
submit may be retried: only `sent=False` failures are provably pre-send.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx2


class ProviderError(Exception):
    """Base class. `code` is stable and short; `str(exc)` is the agent-facing message (never contains a key)."""

    code = "provider_error"
    retryable = False  # may the same request be sent again?

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.sent = sent  # False: the gateway provably never acted on it (safe to resubmit)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class InvalidRequest(ProviderError):
    """Refused by us before sending (or 400 from the gateway): the request does not fit the model."""

    code = "invalid_request"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("sent", False)
        super().__init__(message, **kw)


class AuthError(ProviderError):
    code = "auth"


class QuotaError(ProviderError):
    code = "quota"


class NotFound(ProviderError):
    code = "not_found"


class TooLarge(ProviderError):
    code = "too_large"


class RateLimited(ProviderError):
    code = "rate_limited"
    retryable = True


class Unavailable(ProviderError):
    """503: the gateway is overloaded and says it did not take the job."""

    code = "unavailable"
    retryable = True


class ModelNotAvailable(ProviderError):
    """The gateway has no route for this model (new-api's distributor): a definitive refusal, never retried."""

    code = "model_not_available"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("sent", False)
        super().__init__(message, **kw)


class UpstreamError(ProviderError):
    """5xx other than 503: the gateway or its upstream failed; it may or may not have created the task."""

    code = "upstream_error"


class TransportFailure(ProviderError):
    """No usable HTTP response. `sent=False` for connect errors and pool timeouts; otherwise ambiguous."""

    code = "transport"


class BadResponse(ProviderError):
    """A 2xx response we could not make sense of (no task id, not JSON)."""

    code = "bad_response"


# One table: HTTP status -> (error type, what the agent should do). Anything unlisted falls back by class.
_STATUS_TABLE: dict[int, tuple[type[ProviderError], str]] = {
    400: (InvalidRequest, "The gateway rejected the request; fix the arguments (see list_video_models) and retry."),
    401: (AuthError, "The API key was refused; ask the user to check {env} and restart the server."),
    402: (QuotaError, "The account has no credit left; ask the user to top up, then retry."),
    403: (AuthError, "The key may not use this model or group; pick another model or ask the user to enable it."),
    404: (NotFound, "The gateway does not know this task or route; check the id (get_video_task) or the model."),
    413: (TooLarge, "The request is too large; use smaller images or pass URLs instead of inline files."),
    422: (InvalidRequest, "The gateway rejected the request; fix the arguments (see list_video_models) and retry."),
    429: (RateLimited, "The gateway is rate limiting this key; wait {retry} and try again."),
    503: (Unavailable, "The gateway is overloaded and did not take the job; wait {retry} and try again."),
}


# What the gateway's own error code means, checked before the status (one table per protocol). Each rule:
# code -> (error type, advice, sent). `sent=False` means the gateway provably created no job and billed nothing.
NOT_BILLED = "No job was created, so nothing was billed."
Rule = tuple[type[ProviderError], str, bool]
NEWAPI_CODES: dict[str, Rule] = {
    # middleware/distributor.go: no channel serves the model -> HTTP 503 model_not_found (not an overload).
    "model_not_found": (ModelNotAvailable, "{provider} does not serve model {model}; pick a model from "
                        "list_video_models (or ask the user to enable this one). " + NOT_BILLED, False),
    # types/error.go + billing pre-consume: HTTP 403 with these codes means the quota ran out, not a permission.
    "insufficient_user_quota": (QuotaError, "The account's quota is used up; ask the user to top up, then retry. "
                                + NOT_BILLED, False),
    "pre_consume_token_quota_failed": (QuotaError, "The key's quota is used up; ask the user to raise it or top "
                                       "up, then retry. " + NOT_BILLED, False),
    # OrcaRouter documents 402 quota_insufficient [seed 000].
    "quota_insufficient": (QuotaError, "The account has no credit left; ask the user to top up, then retry. "
                           + NOT_BILLED, False),
    # relay/channel/task/taskcommon UnmarshalMetadata: a field of the wrong type fails while building the upstream
    # body, before any upstream call, and the pre-charge is refunded (relay/relay_task.go).
    "build_request_failed": (InvalidRequest, "The gateway could not build the vendor request from these arguments "
                             "(a field of the wrong type or form); fix the arguments or options. " + NOT_BILLED,
                             False),
    # relay/relay_task.go respondTaskError: an unknown task id is HTTP 400 task_not_exist.
    "task_not_exist": (NotFound, "The gateway does not know this task; check the id (get_video_task).", False),
}
# apimodels.app's own protocol: the numeric `code` in the envelope is the status [seed 003]; no string codes.
APIMODELS_CODES: dict[str, Rule] = {}


def parse_retry_after(value: str | None, *, cap: float = 120.0) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, cap))


def error_for_status(
    status: int,
    gateway_message: str,
    *,
    provider: str,
    env: str = "the API key",
    retry_after: float | None = None,
    code: str = "",
    codes: dict[str, Rule] | None = None,
    model: str | None = None,
) -> ProviderError:
    """Turn a gateway error into the typed error: its own code first (`codes`), then its HTTP status."""
    rule = (codes if codes is not None else NEWAPI_CODES).get(code)
    detail = f": {gateway_message}" if gateway_message else ""
    if rule is not None:
        kind, advice, sent = rule
        advice = advice.format(provider=provider, model=model or "this model")
        message = f"{provider} answered HTTP {status}{detail}. {advice}"
        return kind(message, provider=provider, status=status, retry_after=retry_after, sent=sent)
    kind, advice = _STATUS_TABLE.get(status, (UpstreamError if status >= 500 else ProviderError, ""))
    if not advice:
        advice = (
            "The gateway failed; if this was a submit, the job may or may not exist: check get_video_task before "
            "trying again." if status >= 500 else "The gateway refused the request."
        )
    retry = f"{retry_after:.0f} s" if retry_after else "a little"
    message = f"{provider} answered HTTP {status}{detail}. {advice.format(env=env, retry=retry)}"
    # 4xx, 429 and 503 mean the gateway took no action; other 5xx may have created the task.
    sent = not (400 <= status < 500 or status == 503)
    return kind(message, provider=provider, status=status, retry_after=retry_after, sent=sent)


def error_for_transport(exc: httpx2.HTTPError, *, provider: str) -> TransportFailure:
    """Classify a transport exception: connect errors and pool timeouts are pre-send, the rest are ambiguous."""
    pre_send = isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout))
    if pre_send:
        message = f"Could not reach {provider} ({type(exc).__name__}); nothing was sent."
    else:
        message = (
            f"The connection to {provider} failed after the request was sent ({type(exc).__name__}); "
            "the gateway may have acted on it."
        )
    return TransportFailure(message, provider=provider, sent=not pre_send)
