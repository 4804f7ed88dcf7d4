"""The durable task ledger: one SQLite file (WAL) shared by every server process on this machine, or (postgres.py)
one PostgreSQL database shared by processes on many machines, with the same SQL and semantics. A job's row is
committed before its submit is sent, status changes go to `events`, a lease says which process works on a row.
All database work runs in worker threads, never on the event loop."""

from __future__ import annotations

import builtins
import json
import logging
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import anyio.to_thread

from providers.base import TaskStatus
from server.ledger.owners import owner_alive
from server.ledger.schema import SCHEMA_VERSION, newer_schema, pending_steps
from server.tasks import DEFAULT_PRINCIPAL, Media, Task, TaskCost, TaskError

if TYPE_CHECKING:
    import sqlite3  # imported on first use: not on the server's start-up path

log = logging.getLogger(__name__)
T = TypeVar("T")

SUBMITTING = "submitting"  # row state before the gateway has answered the submit; shown to agents as `unknown`

_SUBMITTING_MESSAGE = (
    "Submission still in flight: the gateway has not answered the submit yet. Do not submit again; call "
    "get_video_task with this task_id (and wait_seconds) to see the outcome."
)


class Conn(Protocol):
    """What a transaction body gets: `execute(sql, params)` with `?` placeholders, returning a cursor (fetchone,
    fetchall, iteration, rowcount). sqlite3.Connection is one; the PostgreSQL backend hands over an adapter."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


class LedgerError(Exception):
    """The ledger could not be used (unwritable folder, a file from a newer version, contention beyond patience)."""


class LedgerConflict(LedgerError):
    """A write broke a uniqueness rule (an upstream task id already followed by another task)."""


class BudgetExceeded(Exception):
    """`create` refused a row: its cost_usd would take the period's spend past the budget. Nothing was written."""

    def __init__(self, spent: float, limit: float) -> None:
        super().__init__(f"budget exceeded: {spent:.4f} of {limit:.4f} reserved")
        self.spent, self.limit = spent, limit


@dataclass(frozen=True, slots=True)
class TaskRow:
    task_id: str
    provider: str
    model: str
    fingerprint: str
    request_json: str
    idempotency_key: str | None
    state: str
    progress: int | None
    video_url: str | None
    local_path: str | None
    expires_at: float | None
    error_code: str | None
    error_message: str | None
    upstream_task_id: str | None
    download: bool
    download_state: str | None
    sandbox: bool
    lease_owner: str | None
    lease_expires: float | None
    warning: str | None
    poll_failures: int
    created_at: float
    updated_at: float
    cost_usd: float | None = None  # the estimate recorded before submitting (None: no price known)
    cost_basis: str | None = None  # what it assumes and where the price comes from; None: never estimated
    route_json: str | None = None
    callback_digest: str | None = None  # a gateway that calls back proves it with the token this is the digest of
    principal: str = DEFAULT_PRINCIPAL
    media_json: str | None = None  # what the saved video holds (server.media.probe), as JSON

    @property
    def terminal(self) -> bool:
        return self.state != SUBMITTING and TaskStatus(self.state).terminal

    @property
    def settled(self) -> bool:
        """Nothing more will happen to it: terminal, and any wanted download is over."""
        return self.terminal and self.download_state != "pending"

    def to_task(self) -> Task:
        error: TaskError | None
        if self.state == SUBMITTING:
            status, error = TaskStatus.UNKNOWN, TaskError(code="submitting", message=_SUBMITTING_MESSAGE)
        else:
            status = TaskStatus(self.state)
            error = TaskError(code=self.error_code, message=self.error_message or "") if self.error_code else None
        return Task(
            task_id=self.task_id, provider=self.provider, model=self.model, status=status, progress=self.progress,
            video_url=self.video_url, local_path=self.local_path, expires_at=_dt(self.expires_at), error=error,
            upstream_task_id=self.upstream_task_id, created_at=_at(self.created_at), updated_at=_at(self.updated_at),
            sandbox=self.sandbox, warning=self.warning,
            cost=None if self.cost_basis is None else TaskCost(estimate_usd=self.cost_usd, basis=self.cost_basis),
            route=json.loads(self.route_json) if self.route_json else None,
            media=Media.model_validate_json(self.media_json) if self.media_json else None,
        )


_COLUMNS = tuple(f.name for f in fields(TaskRow))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM tasks "
# provider and model change only when a routed submit fails over to the next gateway (nothing was created before)
_UPDATABLE = frozenset(_COLUMNS) - {"task_id", "fingerprint", "request_json",
                                    "idempotency_key", "created_at", "sandbox", "callback_digest", "principal"}


def _dt(value: float | None) -> datetime | None:
    return None if value is None else _at(value)


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _row(values: sqlite3.Row | tuple | None) -> TaskRow | None:
    return None if values is None else _made(values)


def _made(values: sqlite3.Row | tuple) -> TaskRow:
    data = dict(zip(_COLUMNS, values, strict=True))
    data["download"], data["sandbox"] = bool(data["download"]), bool(data["sandbox"])
    return TaskRow(**data)


def _fetch(conn: Conn, task_id: str, lock: str = "") -> TaskRow | None:
    """The row; `lock`: the backend's `for_update`, when the transaction goes on to change what it read."""
    return _row(conn.execute(_SELECT + "WHERE task_id = ?" + lock, (task_id,)).fetchone())


# What counts against the budget: every task of the period that did not fail (a failed job is refunded: new-api
# service/task_billing.go RefundTaskQuota; Kling bills no failed generation), priced or not (NULL adds nothing).
_SPENT = "FROM tasks WHERE created_at >= ? AND state NOT IN ('failed', 'cancelled')"


def _spent(conn: Conn, since: float, principal: str) -> float:
    """A principal's estimated spend since `since`: each principal has its own budget (issue 13)."""
    sql = "SELECT COALESCE(SUM(cost_usd), 0) " + _SPENT + " AND principal = ?"
    return float(conn.execute(sql, (since, principal)).fetchone()[0])


def make_private(path: Path, *, posix: bool = os.name == "posix") -> None:
    """Owner-only access where file modes mean it (Linux, macOS). On Windows a mode only sets the read-only flag;
    the user's profile folder (%LOCALAPPDATA%) already keeps its files to that user."""
    if posix:
        os.chmod(path, 0o600)


class Ledger:
    """The ledger's semantics, over SQLite: an async facade over one connection used from worker threads, one
    statement batch at a time. PgLedger (postgres.py) keeps the semantics and replaces the plumbing."""

    shared = False  # True: processes on other machines use it too, so lapsed leases are swept up (engine/core.py)
    for_update = ""  # appended to a SELECT whose row the transaction then changes (PostgreSQL locks the row)
    newest_first = "created_at DESC, rowid DESC"  # the list order; ties (same instant) in insertion order

    def __init__(self, path: Path, *, now: Callable[[], float] = time.time, busy_timeout: float = 5.0,
                 busy_patience: float = 120.0) -> None:
        self.path = Path(path)
        self.now = now
        self._busy_timeout = busy_timeout  # SQLite's own wait for a lock, per statement
        self._patience = busy_patience  # then ours, with backoff, before giving up
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one statement batch at a time on the shared connection
        self._limiter: anyio.CapacityLimiter | None = None

    # -- plumbing ---------------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            try:
                conn.execute("PRAGMA quick_check(1)").fetchone()  # reads the header: a damaged file fails here
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):  # busy/locked/IO: not damage
                    raise
                raise LedgerError(
                    f"The task ledger {self.path} is damaged ({exc}); it was left untouched. Move it aside (for "
                    "example rename it to tasks.sqlite3.damaged) and start again, or restore it from a backup."
                ) from None
            if fresh:
                make_private(self.path)  # prompts are private
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise LedgerError(newer_schema(self.path, version))
                for statement in pending_steps(version):  # (executescript would COMMIT early)
                    conn.execute(statement)
                if version != SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _locked(self, fn: Callable[[Conn], T]) -> T:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return fn(self._conn)

    async def _run(self, fn: Callable[[Conn], T], *, write: bool) -> T:
        """Run fn in a worker thread; SQLITE_BUSY beyond busy_timeout is retried here, never shown to an agent."""
        import sqlite3

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        deadline = time.monotonic() + self._patience
        delay = 0.01
        while True:
            try:
                # A read may be abandoned by a cancelled wait (bounded waits); a write must finish to be known.
                return await anyio.to_thread.run_sync(self._locked, fn, limiter=self._limiter,
                                                      abandon_on_cancel=not write)
            except sqlite3.IntegrityError as exc:
                raise LedgerConflict(str(exc)) from exc
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if "locked" not in text and "busy" not in text:
                    raise LedgerError(f"The task ledger at {self.path} failed: {exc}") from exc
                if time.monotonic() > deadline:
                    raise LedgerError("The task ledger stayed busy (other videogen processes); try again.") from exc
                await anyio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    async def _write(self, fn: Callable[[Conn], T], *, durable: bool = True, exclusive: bool = True) -> T:
        """Run fn in one IMMEDIATE transaction. durable=False: no fsync at commit (WAL still survives a crash of
        the process; only a power cut may lose it), for what is worthless after a power cut anyway: leases, and
        progress ticks.

        exclusive: fn relies on no other write running meanwhile (a decision over several rows: a dedupe, a sum).
        SQLite's one write lock gives that to every transaction; PostgreSQL takes one advisory lock for all such
        transactions. exclusive=False is for bodies that lock what they change themselves (`for_update` on the row
        they read), so that per-task writes (leases, polling) from many processes run side by side there.
        """

        def tx(conn: Any) -> T:  # the SQLite connection (_locked)
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")  # may not change inside a transaction
            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock up front: no read-then-upgrade deadlock
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")
            return result

        return await self._run(tx, write=True)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- reads ------------------------------------------------------------------------------------------------------
    async def get(self, task_id: str) -> TaskRow | None:
        return await self._run(lambda c: _fetch(c, task_id), write=False)

    async def list(self, limit: int = 50, *, principal: str | None = None) -> builtins.list[TaskRow]:
        """Most recent first; only `principal`'s tasks when given."""
        where, args = ("WHERE principal = ? ", (principal, limit)) if principal is not None else ("", (limit,))
        sql = _SELECT + where + f"ORDER BY {self.newest_first} LIMIT ?"
        return await self._run(lambda c: [_made(r) for r in c.execute(sql, args)], write=False)

    async def recent(self, since: float, limit: int = 2000) -> builtins.list[TaskRow]:
        """Tasks created since `since`, newest first: what the gateways did lately (routing's shared health)."""
        sql = _SELECT + "WHERE created_at >= ? ORDER BY created_at DESC LIMIT ?"
        return await self._run(lambda c: [_made(r) for r in c.execute(sql, (since, limit))], write=False)

    async def unsettled(self, limit: int = 10_000, since: float | None = None) -> builtins.list[TaskRow]:
        """Rows something may still happen to: not terminal, or a download still owed (created since `since`)."""
        sql = (_SELECT + "WHERE (state NOT IN ('succeeded', 'failed', 'cancelled') OR download_state = 'pending') "
               "AND created_at >= ? ORDER BY created_at LIMIT ?")
        args = (float("-inf") if since is None else since, limit)
        return await self._run(lambda c: [_made(r) for r in c.execute(sql, args)], write=False)

    async def spend(self, since: float, principal: str | None = None) -> builtins.list[dict[str, Any]]:
        """Estimated spend since `since` per provider: tasks, priced USD total, and how many had no price (only
        `principal`'s tasks when given; everyone's for the operator's CLI)."""
        where, args = (" AND principal = ?", (since, principal)) if principal is not None else ("", (since,))
        sql = ("SELECT provider, COUNT(*), COALESCE(SUM(cost_usd), 0), "
               "SUM(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END) " + _SPENT + where
               + " GROUP BY provider ORDER BY provider")
        keys = ("provider", "tasks", "usd", "unpriced")
        return await self._run(lambda c: [dict(zip(keys, r, strict=True)) for r in c.execute(sql, args)],
                               write=False)

    async def durations(self, since: float, limit: int = 5000) -> builtins.list[tuple[str, str, float]]:
        """(model, request_json, seconds from creation to first seen succeeded) of the jobs this server submitted
        (a `submitting` event: adopted jobs did not start here) that succeeded, created since `since`, newest first."""
        sql = ("SELECT t.model, t.request_json, MIN(e.at) - t.created_at FROM tasks t "
               "JOIN events e ON e.task_id = t.task_id AND e.state = 'succeeded' "
               "WHERE t.state = 'succeeded' AND t.created_at >= ? AND EXISTS "
               "(SELECT 1 FROM events s WHERE s.task_id = t.task_id AND s.state = 'submitting') "
               "GROUP BY t.task_id, t.model, t.request_json, t.created_at ORDER BY t.created_at DESC LIMIT ?")
        return await self._run(lambda c: [(m, r, float(d)) for m, r, d in c.execute(sql, (since, limit))],
                               write=False)

    async def events(self, task_id: str) -> builtins.list[dict[str, Any]]:
        sql = "SELECT at, state, progress, error_code, detail FROM events WHERE task_id = ? ORDER BY id"
        keys = ("at", "state", "progress", "error_code", "detail")
        return await self._run(lambda c: [dict(zip(keys, r, strict=True)) for r in c.execute(sql, (task_id,))],
                               write=False)

    # -- writes -----------------------------------------------------------------------------------------------------
    async def create(self, row: TaskRow, *, dedupe_window: float,
                     budget: tuple[float, float] | None = None) -> tuple[TaskRow, bool]:
        """Insert `row` unless its principal has a task with its idempotency key, or (no key) one with the same
        fingerprint, recent and not failed.

        budget: (limit_usd, since): a new row's cost_usd is reserved against the spend since `since`, or
        BudgetExceeded is raised and nothing is written. Returns (the row now in the ledger, reused). One exclusive
        transaction, so concurrent processes agree: of two racing for the last dollars, one wins.
        """

        def body(conn: Conn) -> tuple[TaskRow, bool]:
            if row.idempotency_key is not None:  # keys and the dedupe window are the principal's own
                found = conn.execute(_SELECT + "WHERE principal = ? AND idempotency_key = ?",
                                     (row.principal, row.idempotency_key)).fetchone()
            elif dedupe_window > 0:
                found = conn.execute(
                    _SELECT + "WHERE principal = ? AND fingerprint = ? AND created_at >= ? "
                    "AND state NOT IN ('failed', 'cancelled') ORDER BY created_at DESC LIMIT 1",
                    (row.principal, row.fingerprint, row.created_at - dedupe_window)).fetchone()
            else:
                found = None
            if found is not None:
                return _made(found), True
            if budget is not None:  # an unpriced row (allowed by policy) reserves nothing, but needs budget left
                spent = _spent(conn, budget[1], row.principal)
                if (spent + row.cost_usd > budget[0] + 1e-9 if row.cost_usd is not None else
                        spent >= budget[0] - 1e-9):
                    raise BudgetExceeded(spent, budget[0])
            conn.execute(f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                         tuple(getattr(row, c) for c in _COLUMNS))
            conn.execute("INSERT INTO events (task_id, at, state) VALUES (?, ?, ?)",
                         (row.task_id, row.created_at, row.state))
            return row, False

        return await self._write(body)

    async def update(self, task_id: str, *, owner: str | None = None, detail: str | None = None,
                     durable: bool = True, **changes: Any) -> TaskRow | None:
        """Apply `changes` (columns) and record an event when the state or error changes.

        With `owner`, only while that owner holds the row's lease (a stale poller must not overwrite a newer one):
        returns None when it does not. Unchanged values cause no write at all. durable=False: see `_write`.
        """
        bad = set(changes) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")

        def body(conn: Conn) -> TaskRow | None:
            current = _fetch(conn, task_id, self.for_update)
            if current is None or (owner is not None and current.lease_owner != owner):
                return None
            delta = {k: v for k, v in changes.items() if getattr(current, k) != v}
            if not delta and detail is None:
                return current
            now = self.now()
            delta["updated_at"] = now
            sets = ", ".join(f"{k} = ?" for k in delta)
            conn.execute(f"UPDATE tasks SET {sets} WHERE task_id = ?", (*delta.values(), task_id))
            new = replace(current, **delta)
            if detail is not None or new.state != current.state or new.error_code != current.error_code:
                conn.execute(
                    "INSERT INTO events (task_id, at, state, progress, error_code, detail) VALUES (?, ?, ?, ?, ?, ?)",
                    (task_id, now, new.state, new.progress, new.error_code, detail))
            return new

        return await self._write(body, durable=durable, exclusive=False)

    async def acquire(self, task_id: str, owner: str, ttl: float) -> TaskRow | None:
        """Take (or keep) the row's lease if it is free, ours, expired, or held by a dead process on this host.

        Returns the row when the lease is ours, None otherwise.
        """

        def body(conn: Conn) -> TaskRow | None:
            current = _fetch(conn, task_id, self.for_update)
            if current is None:
                return None
            now = self.now()
            holder = current.lease_owner
            if holder not in (None, owner) and (current.lease_expires or 0) > now and owner_alive(holder):
                return None
            conn.execute("UPDATE tasks SET lease_owner = ?, lease_expires = ? WHERE task_id = ?",
                         (owner, now + ttl, task_id))
            return replace(current, lease_owner=owner, lease_expires=now + ttl)

        return await self._write(body, durable=False, exclusive=False)

    async def renew(self, owner: str, ttl: float) -> frozenset[str]:
        """Extend every lease `owner` holds (one write for all of a process's pollers); return their task ids."""

        def body(conn: Conn) -> frozenset[str]:
            conn.execute("UPDATE tasks SET lease_expires = ? WHERE lease_owner = ?", (self.now() + ttl, owner))
            return frozenset(r[0] for r in conn.execute("SELECT task_id FROM tasks WHERE lease_owner = ?", (owner,)))

        return await self._write(body, durable=False, exclusive=False)

    async def release(self, owner: str, task_id: str | None = None) -> None:
        """Give up one lease, or all of `owner`'s (shutdown)."""
        args: tuple[str, ...]
        if task_id is None:
            sql, args = "UPDATE tasks SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = ?", (owner,)
        else:
            sql = "UPDATE tasks SET lease_owner = NULL, lease_expires = NULL WHERE task_id = ? AND lease_owner = ?"
            args = (task_id, owner)
        await self._write(lambda c: c.execute(sql, args), durable=False, exclusive=False)


def lease_is_live(row: TaskRow, now: float) -> bool:
    """Someone (maybe us) is working on the row right now."""
    return row.lease_owner is not None and (row.lease_expires or 0) > now and owner_alive(row.lease_owner)


def new_task_id() -> str:
    return "vg_" + secrets.token_hex(16)  # 128 random bits: a handle nobody can guess
