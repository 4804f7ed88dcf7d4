"""Adopting a gateway job by the gateway's own task id, and matching `unknown` tasks against a gateway's task
listing (where the gateway has one). Never guesses: a listed job is taken only when exactly one matches."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import anyio

from providers.base import Provider, TaskSnapshot, TaskStatus
from providers.errors import NotFound
from providers.registry import SPECS
from server.ledger import adoption
from server.ledger.store import Ledger, LedgerConflict, TaskRow, new_task_id
from server.tasks import DEFAULT_PRINCIPAL, AdoptError

log = logging.getLogger(__name__)
MATCH_BEFORE = 30.0  # s: a job may carry a creation time a little before our row (the gateway's clock)
MATCH_AFTER = 300.0  # s: the gateway creates the job after our row was written, within the submit's time
UNKNOWN_MODEL = "unknown"  # the model of a job adopted from elsewhere whose gateway does not say


def console(provider_id: str) -> str:
    """Where a person finds the gateway's task ids (as far as its docs say); "" when nowhere (the sandbox)."""
    spec = SPECS.get(provider_id)
    return spec.console if spec is not None else f"the {provider_id} dashboard"


def how_to_adopt(provider_id: str, task_id: str) -> str:
    """The exact call and command that attach the gateway's job to an `unknown` task."""
    if not console(provider_id):
        return ""
    return (f"Find the job's id in {console(provider_id)}, then call get_video_task with "
            f'provider="{provider_id}", upstream_task_id="<id>" and task_id="{task_id}" (or run: '
            f"videogen-mcp adopt {provider_id} <id> --task {task_id}).")


async def query(provider: Provider, upstream_id: str, timeout: float) -> TaskSnapshot:
    """The gateway's view of its job `upstream_id`; AdoptError when it has no such job (nothing is recorded)."""
    try:
        with anyio.fail_after(timeout):
            snap = await provider.get(upstream_id)
    except NotFound:
        where = f" Check the id in {console(provider.id)}." if console(provider.id) else ""
        raise AdoptError(f"{provider.id} has no task {upstream_id!r}; nothing was recorded.{where}") from None
    return snap.model_copy(update={"upstream_id": upstream_id})


async def follow(ledger: Ledger, provider: Provider, upstream_id: str, *, task_id: str | None, download: bool,
                 timeout: float, changes_for: Callable[[TaskRow, TaskSnapshot], dict[str, Any]],
                 principal: str | None = None) -> TaskRow:
    """The task that follows gateway job `upstream_id`: the one already following it; else `task_id`, or the one
    `unknown` task the job matches (model, prompt, creation time); else a new task. AdoptError when the gateway
    has no such job (nothing is recorded) or the named task cannot take it. `changes_for`: what a gateway's
    snapshot writes to a row (polling.snapshot_changes, passed in: polling imports this module). Only
    `principal`'s own tasks take the job; a job another principal's task follows is refused without naming it.
    principal None: the operator (CLI), for whom every task counts; a new task is then the default principal's."""

    row = await adoption.by_upstream(ledger, provider.id, upstream_id)
    if row is None:
        snap = await query(provider, upstream_id, timeout)
        picked = pick(await adoption.orphans(ledger, provider.id, principal=principal), snap)
        into = task_id or (picked.task_id if picked is not None else None)
        new = replace(new_row(provider, upstream_id, snap, download=download, now=ledger.now()),
                      principal=principal or DEFAULT_PRINCIPAL)

        def changes(current: TaskRow) -> dict[str, Any]:
            wanted = replace(current, download=current.download or download)
            return changes_for(wanted, snap) | {"download": wanted.download}

        try:
            row, _ = await adoption.adopt(ledger, provider.id, upstream_id, into=into, strict=task_id is not None,
                                          new=new, changes=changes, principal=principal)
        except LedgerConflict as exc:
            raise AdoptError(f"Task {task_id} cannot take {provider.id} job {upstream_id}: {exc}.") from None
    if principal is not None and row.principal != principal:
        raise AdoptError(f"{provider.id} job {upstream_id} is already followed by a task of another client of this "
                         "server; it cannot be followed twice.")
    if task_id is not None and row.task_id != task_id:
        raise AdoptError(f"{provider.id} job {upstream_id} is already followed by task {row.task_id}; use that.")
    return row


def new_row(provider: Provider, upstream_id: str, snap: TaskSnapshot, *, download: bool, now: float) -> TaskRow:
    """The record of a job this server never submitted (or whose task it cannot tell): no request, no key."""
    request = {"provider": provider.id, "adopted": upstream_id}
    data = json.dumps(request, sort_keys=True, separators=(",", ":"))
    created = snap.created_at.timestamp() if snap.created_at is not None else now
    return TaskRow(
        task_id=new_task_id(), provider=provider.id, model=f"{provider.id}/{snap.model or UNKNOWN_MODEL}",
        fingerprint=hashlib.sha256(data.encode()).hexdigest(), request_json=data, idempotency_key=None,
        state=TaskStatus.UNKNOWN.value, progress=None, video_url=None, local_path=None, expires_at=None,
        error_code=None, error_message=None, upstream_task_id=None, download=download, download_state=None,
        sandbox=bool(provider.sandbox), lease_owner=None, lease_expires=None, warning=None, poll_failures=0,
        created_at=min(created, now), updated_at=now)


def matches(row: TaskRow, snap: TaskSnapshot) -> bool:
    """Could `snap` be the job `row` submitted? Created in the window after the row (a job with no creation time
    never matches), and the same model and prompt where the gateway says them."""
    name = row.model.partition("/")[2].lower()
    if snap.model and name not in snap.model.lower():  # forks decorate names: a suffix (OctopusX), a prefix
        return False
    prompt = _prompt(row)
    if snap.prompt is not None and prompt is not None and _digest(snap.prompt) != _digest(prompt):
        return False
    if snap.created_at is None:
        return False
    at = snap.created_at.timestamp()
    return row.created_at - MATCH_BEFORE <= at <= row.created_at + MATCH_AFTER


def pick(rows: list[TaskRow], snap: TaskSnapshot) -> TaskRow | None:
    """The one `unknown` task this job belongs to, or None when none or several could (or the gateway gives no
    creation time: then nothing ties the job to one of our tasks, and the agent can name it)."""
    found = [r for r in rows if matches(r, snap)]
    return found[0] if len(found) == 1 else None


async def reconcile(ledger: Ledger, provider: Provider, row: TaskRow) -> TaskSnapshot | None:
    """Look for `row`'s job in the gateway's task listing: the one listed job that matches it and no other
    unknown task, and that no task follows yet; None when there is none or the match is ambiguous."""
    fresh = await ledger.get(row.task_id)
    if fresh is not None and fresh.upstream_task_id:  # adopted meanwhile (get_video_task): follow that job
        return await provider.get(fresh.upstream_task_id)
    since = datetime.fromtimestamp(row.created_at - MATCH_BEFORE, UTC)
    listed = [s for s in await provider.list_tasks(since) if s.upstream_id and matches(row, s)]
    if len(listed) != 1:
        if len(listed) > 1:
            log.info("%s: %d listed jobs match task %s; left alone", provider.id, len(listed), row.task_id)
        return None
    snap = listed[0]
    assert snap.upstream_id is not None
    if await adoption.by_upstream(ledger, provider.id, snap.upstream_id) is not None:
        return None  # already another task's job
    rivals = [r for r in await adoption.orphans(ledger, provider.id)
              if r.task_id != row.task_id and matches(r, snap)]
    return None if rivals else snap


def _prompt(row: TaskRow) -> str | None:
    try:
        value: Any = json.loads(row.request_json).get("request", {}).get("prompt")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
