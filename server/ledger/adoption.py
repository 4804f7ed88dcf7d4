"""Adoption in the ledger: one gateway job (provider, upstream id) is followed by at most one task, ever.

The schema's UNIQUE (provider, upstream_task_id) is the rule; attaching to an `unknown` task or inserting a new one
happens in the same exclusive transaction (store.Ledger._write) that looks for an existing follower, so processes
adopting the same job at once all end up with the same task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from server.ledger.store import _COLUMNS, _SELECT, Conn, Ledger, LedgerConflict, TaskRow, _fetch, _made, _row

How = Literal["existing", "attached", "created"]
ORPHAN_STATES = ("unknown",)  # a settled submit whose job id never came back (submitting rows are still in flight)


async def by_upstream(ledger: Ledger, provider: str, upstream_id: str) -> TaskRow | None:
    sql = _SELECT + "WHERE provider = ? AND upstream_task_id = ?"
    return await ledger._run(lambda c: _row(c.execute(sql, (provider, upstream_id)).fetchone()), write=False)


async def orphans(ledger: Ledger, provider: str, limit: int = 200, *, principal: str | None = None) -> list[TaskRow]:
    """`unknown` tasks of `provider` that know no gateway job: what an adopted or listed job may belong to
    (only `principal`'s, when given)."""
    mine, args = "", [provider, limit]
    if principal is not None:
        mine, args = "AND principal = ? ", [provider, principal, limit]
    sql = (_SELECT + "WHERE provider = ? AND upstream_task_id IS NULL AND state = 'unknown' " + mine +
           "ORDER BY created_at DESC LIMIT ?")
    return await ledger._run(lambda c: [_made(r) for r in c.execute(sql, args)], write=False)


async def adopt(ledger: Ledger, provider: str, upstream_id: str, *, into: str | None, strict: bool,
                new: TaskRow, changes: Callable[[TaskRow], dict[str, Any]], principal: str | None = None,
                ) -> tuple[TaskRow, How]:
    """Follow `upstream_id` with: the task already following it; else task `into` (an unknown task of `provider`
    with no job id, of `principal` when given); else the row `new`. strict: `into` was named by the agent, so a task
    that cannot take the job is an error (LedgerConflict), not a reason to make a new one."""

    def body(conn: Conn) -> tuple[TaskRow, How]:
        found = _row(conn.execute(_SELECT + "WHERE provider = ? AND upstream_task_id = ?",
                                  (provider, upstream_id)).fetchone())
        if found is not None:
            return found, "existing"
        now = ledger.now()
        if into is not None:
            current = _fetch(conn, into, ledger.for_update)
            if current is not None and principal is not None and current.principal != principal:
                current = None  # another principal's task is as absent as one that never was
            if (current is not None and current.provider == provider and current.upstream_task_id is None
                    and current.state in ORPHAN_STATES):
                delta = changes(current) | {"upstream_task_id": upstream_id, "updated_at": now}
                sets = ", ".join(f"{k} = ?" for k in delta)
                conn.execute(f"UPDATE tasks SET {sets} WHERE task_id = ?", (*delta.values(), into))
                row = replace(current, **delta)
                _event(conn, row, now, f"adopted gateway job {upstream_id}")
                return row, "attached"
            if strict:
                raise LedgerConflict(_why_not(current, provider))
        row = replace(new, **(changes(new) | {"upstream_task_id": upstream_id}))
        conn.execute(f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                     tuple(getattr(row, c) for c in _COLUMNS))
        _event(conn, row, now, f"adopted gateway job {upstream_id}")
        return row, "created"

    return await ledger._write(body)


def _event(conn: Conn, row: TaskRow, now: float, detail: str) -> None:
    conn.execute("INSERT INTO events (task_id, at, state, progress, error_code, detail) VALUES (?, ?, ?, ?, ?, ?)",
                 (row.task_id, now, row.state, row.progress, row.error_code, detail))


def _why_not(row: TaskRow | None, provider: str) -> str:
    if row is None:
        return "there is no such task"
    if row.provider != provider:
        return f"it belongs to {row.provider}, not {provider}"
    if row.upstream_task_id:
        return f"it already follows gateway job {row.upstream_task_id}"
    return f"it is {row.state}, not unknown"
