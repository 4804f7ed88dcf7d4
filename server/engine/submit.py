"""The submit policy: what a job is recorded as, sending it (retrying only failures that provably happened before
the gateway could act), and the words an agent reads when a submit failed, is ambiguous, was interrupted, or was reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio

from providers.base import ModelInfo, Provider, TaskSnapshot, VideoRequest
from providers.errors import BadResponse, ProviderError, TransportFailure
from server.ledger.store import TaskRow
from server.engine import adopt
from server.engine.schedule import Timing, backoff

log = logging.getLogger(__name__)


def _canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_SECRET_NAME = re.compile(r"(?i)(^|[_-])(api[_-]?key|token|secret|password|authorization)$")


def describe_request(provider_id: str, request: VideoRequest) -> tuple[str, str]:
    """(fingerprint, JSON to record) for a request. Inline images become a digest; secret-looking options are
    dropped. The fingerprint covers everything the gateway would see, so identical requests (and only those) collide.
    """

    def walk(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("data:"):
            head = value[5:].split(",", 1)[0]
            return f"data:{head};sha256={hashlib.sha256(value.encode()).hexdigest()};bytes={len(value)}"
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    data = {"provider": provider_id, "request": walk(request.model_dump(mode="json"))}
    fingerprint = hashlib.sha256(_canonical_json(data).encode()).hexdigest()
    options = data["request"].get("options") or {}
    data["request"]["options"] = {k: "[redacted]" if _SECRET_NAME.search(str(k)) else v for k, v in options.items()}
    return fingerprint, _canonical_json(data)


@dataclass(frozen=True)
class Outcome:
    """accepted: the gateway took it (snapshot has the id). rejected: a definitive refusal. exhausted: pre-send
    failures until the budget ran out. ambiguous: it may or may not exist; never resend."""

    kind: Literal["accepted", "rejected", "exhausted", "ambiguous"]
    snapshot: TaskSnapshot | None = None
    error: BaseException | None = None
    attempts: int = 1


async def send(provider: Provider, request: VideoRequest, key: str, timing: Timing, *, rng: random.Random,
               attempt_timeout: float, budget: float | None = None, info: ModelInfo | None = None) -> Outcome:
    """Submit once, or again only after a failure with `sent=False` that may pass (connect errors, 429, 503).
    `budget` (default timing.submit_budget) bounds the retries; 0: none (a routed submit moves to the next gateway).
    `info`: the model as resolved at the tool boundary, handed to the adapter as is."""
    deadline = anyio.current_time() + (timing.submit_budget if budget is None else budget)
    attempt = 0
    while True:
        attempt += 1
        try:
            with anyio.fail_after(attempt_timeout):  # a backstop for an adapter whose client has no timeout
                snap = await provider.submit(request, idempotency_key=key, info=info)
        except ProviderError as exc:
            if exc.sent is not False:
                return Outcome("ambiguous", error=exc, attempts=attempt)
            if not (exc.retryable or isinstance(exc, TransportFailure)):
                return Outcome("rejected", error=exc, attempts=attempt)  # a definitive 4xx
            delay = backoff(attempt - 1, base=timing.retry_base, cap=timing.retry_cap, retry_after=exc.retry_after,
                            retry_after_cap=timing.retry_after_cap, rng=rng)
            if anyio.current_time() + delay > deadline:
                return Outcome("exhausted", error=exc, attempts=attempt)
            await anyio.sleep(delay)
            continue
        except Exception as exc:  # our own timeout, or an error nobody classified: it may have been sent
            return Outcome("ambiguous", error=exc, attempts=attempt)
        if not snap.upstream_id:
            return Outcome("ambiguous", error=BadResponse(f"{provider.id} accepted the job without a task id"),
                           attempts=attempt)
        return Outcome("accepted", snapshot=snap, attempts=attempt)


def can_find(provider: Provider | None) -> bool:
    return provider is not None and provider.capabilities.find


async def find(provider: Provider | None, key: str, timeout: float) -> TaskSnapshot | None:
    """The gateway's answer to "did you create a job for this idempotency key?", where it offers a lookup."""
    if provider is None or not can_find(provider):
        return None
    try:
        with anyio.fail_after(timeout):
            snap = await provider.find(key)
    except Exception as exc:
        log.warning("lookup by idempotency key on %s failed: %r", provider.id, exc)
        return None
    return snap if snap is not None and snap.upstream_id else None


def failure_changes(outcome: Outcome, budget: float) -> dict[str, Any]:
    error = outcome.error
    code = getattr(error, "code", "submit_failed")
    if outcome.kind == "rejected":
        message = f"{error} No job was created, so nothing was billed."
    else:
        message = (f"{error} Gave up after {outcome.attempts} attempts in {budget:.0f} s; the gateway never took "
                   "the job, so it is safe to submit again.")
    return {"state": "failed", "error_code": code, "error_message": message}


def ambiguous_changes(provider: Provider, error: BaseException | None, task_id: str) -> dict[str, Any]:
    reason = str(error) if isinstance(error, ProviderError) else f"{type(error).__name__} after sending"
    message = (
        f"The submit to {provider.id} may or may not have created a job ({reason}). It was NOT sent again: a second "
        "submit could be billed twice. "
        + ("This server keeps asking the gateway for it by idempotency key; call get_video_task later. "
           if can_find(provider) else
           "This server keeps looking for it in the gateway's task list; call get_video_task later. "
           if provider.task_listing else "")
        + adopt.how_to_adopt(provider.id, task_id)
        + " If the gateway's dashboard shows no such job, submit again with a new idempotency_key.")
    return {"state": "unknown", "error_code": "submit_ambiguous", "error_message": message}


def interrupted_changes(row: TaskRow | None) -> dict[str, Any]:
    when = adoption = ""
    if row is not None:
        when = " for a job created at " + datetime.fromtimestamp(row.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        hint = adopt.how_to_adopt(row.provider, row.task_id)
        adoption = f" {hint}" if hint else ""
    return {"state": "unknown", "error_code": "submit_interrupted", "error_message": (
        "The server stopped while this job was being submitted, so it is unknown whether the gateway received it. "
        f"It was NOT resubmitted (that could bill twice). Check the gateway's dashboard{when}; if there is none, "
        f"submit again with a new idempotency_key.{adoption}")}


def reuse_reason(row: TaskRow, fingerprint: str, key: str | None, now: float) -> str:
    age = max(0.0, now - row.created_at)
    if key is not None:
        other = "" if row.fingerprint == fingerprint else " (for a different request)"
        return (f"idempotency_key {key!r} already belongs to task {row.task_id}{other}, created {age:.0f} s ago; "
                "nothing new was submitted or billed. Pass a new idempotency_key to start another job.")
    return (f"An identical request (same model and parameters) was submitted {age:.0f} s ago as task {row.task_id}, "
            "so this is the same job: nothing new was submitted or billed. To start another job anyway, pass a new "
            "idempotency_key.")
