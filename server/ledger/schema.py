"""The ledger's schema as numbered, portable steps (SQLite and PostgreSQL run the same ones)."""

from __future__ import annotations

# The schema as numbered steps: a ledger at version N runs every later step, in one transaction, when it is first
# opened (SQLite keeps N in PRAGMA user_version, PostgreSQL in the table schema_version). The SQL is portable:
# REAL / INTEGER / TEXT columns (PostgreSQL gets DOUBLE PRECISION / BIGINT), no SQLite-only functions or rowid.
# A change is a new step at the end with the next number; a step that has shipped is never edited. (Two branches
# that both add step N: renumber one at the merge.) New TaskRow fields go at the end of the dataclass with defaults.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("""CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,                 -- full id, "<provider>/<gateway model name>"
    fingerprint TEXT NOT NULL,           -- sha256 of the canonical request (dedupe without a key)
    request_json TEXT NOT NULL,          -- canonical request (inline images as digests), never a key
    idempotency_key TEXT UNIQUE,
    state TEXT NOT NULL,                 -- 'submitting' or a TaskStatus value
    progress INTEGER,
    video_url TEXT,
    local_path TEXT,
    expires_at REAL,
    error_code TEXT,
    error_message TEXT,
    upstream_task_id TEXT,
    download INTEGER NOT NULL DEFAULT 0,
    download_state TEXT,                 -- NULL (none wanted yet), 'pending', 'done', 'failed'
    sandbox INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires REAL,
    warning TEXT,
    poll_failures INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (provider, upstream_task_id)
)""",
         "CREATE INDEX tasks_by_fingerprint ON tasks (fingerprint, created_at)",
         "CREATE INDEX tasks_by_created ON tasks (created_at)",
         "CREATE INDEX tasks_by_state ON tasks (state)",
         """CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    at REAL NOT NULL,
    state TEXT NOT NULL,
    progress INTEGER,
    error_code TEXT,
    detail TEXT
)""",
         "CREATE INDEX events_by_task ON events (task_id, id)")),
    # Lease renewal finds a process's rows by owner every few seconds: an index, not a table scan. IF NOT EXISTS:
    # version-1 files made after it was added (unversioned) already have it.
    (2, ("CREATE INDEX IF NOT EXISTS tasks_by_lease ON tasks (lease_owner)",)),
    # A job's estimated price, recorded with the task before it is sent (issue 10): the shared budget is the sum
    # of cost_usd over the period's tasks that did not fail (gateways refund a failed job).
    (3, ("ALTER TABLE tasks ADD COLUMN cost_usd REAL", "ALTER TABLE tasks ADD COLUMN cost_basis TEXT")),
    # A canonical model id's route (issue 11): the gateways in order, those that refused first, the one holding it.
    (4, ("ALTER TABLE tasks ADD COLUMN route_json TEXT",)),
    # A completion callback's proof (issue 16): the digest of the task's token (the token itself is never kept).
    (5, ("ALTER TABLE tasks ADD COLUMN callback_digest TEXT",)),
    # Principals (issue 13): a task belongs to one (an HTTP client's token name or OAuth subject; earlier tasks to
    # the default principal), and an idempotency key is unique per principal. The key column's global UNIQUE cannot
    # be dropped portably (SQLite keeps it in the table's definition), so the keys move to a new column; the old one
    # stays as `unscoped_key`, always NULL (NULLs never collide), and nothing reads it.
    (6, ("ALTER TABLE tasks ADD COLUMN principal TEXT NOT NULL DEFAULT 'default'",
         "ALTER TABLE tasks RENAME COLUMN idempotency_key TO unscoped_key",
         "ALTER TABLE tasks ADD COLUMN idempotency_key TEXT",
         "UPDATE tasks SET idempotency_key = unscoped_key, unscoped_key = NULL",
         "CREATE UNIQUE INDEX tasks_by_key ON tasks (principal, idempotency_key)",
         "CREATE INDEX tasks_by_principal ON tasks (principal, created_at)")),
    # What the saved video holds (issue 12): its duration, size, fps, audio and bytes, read from the file (JSON).
    (7, ("ALTER TABLE tasks ADD COLUMN media_json TEXT",)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def pending_steps(version: int) -> list[str]:
    """The statements that bring a ledger at schema `version` to SCHEMA_VERSION, in order."""
    return [statement for number, statements in MIGRATIONS if number > version for statement in statements]


def newer_schema(where: object, version: int) -> str:
    return f"{where} was written by a newer videogen-mcp (schema {version}); upgrade."
