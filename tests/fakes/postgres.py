"""A private PostgreSQL server for tests and benchmarks: `initdb` into a temporary folder, started on a free loopback
port with its socket in that folder, stopped (and the folder removed) at the end. PostgreSQL refuses to run as root,
so under root the server runs as the `postgres` user (Debian's package makes it), else `nobody`.

    with PgServer.start() as pg:        # PgServer.start() raises PgMissing when no binaries are found
        url = pg.new_database()         # a fresh empty ledger per test (a schema of its own)
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

USER = "videogen"  # the superuser initdb creates; trust authentication on loopback only
DEBIAN_BINARIES = Path("/usr/lib/postgresql")


class PgMissing(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) on this machine."""


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: $PGBIN, on PATH, else Debian's newest /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("PGBIN"):  # where CI images name it (GitHub's Windows runners)
        return Path(os.environ["PGBIN"])
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = [p for p in DEBIAN_BINARIES.glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    versions.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> dict[str, Any]:
    """subprocess arguments that run the server unprivileged when we are root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return {}
    import pwd

    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise PgMissing("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as")


class PgServer:
    def __init__(self, bin_dir: Path, root: Path, port: int, run_as: dict[str, Any]) -> None:
        self.bin_dir, self.root, self.port, self._as = bin_dir, root, port, run_as
        self.data = root / "data"

    @classmethod
    def start(cls, *, durable: bool = False, settings: Sequence[str] = ()) -> PgServer:
        """durable=False turns fsync off (tests: nothing here must survive a power cut); benchmarks keep it on.
        `settings`: more `name=value` server settings."""
        bin_dir = find_binaries()
        if bin_dir is None:
            raise PgMissing("no PostgreSQL binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin; "
                            "install Debian's `postgresql` package")
        run_as = _runner()
        root = Path(tempfile.mkdtemp(prefix="videogen-pg-"))  # under /tmp: the unprivileged user can reach it
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
        server = cls(bin_dir, root, _free_port(), run_as)
        try:
            server._pg("initdb", "-D", str(server.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync",
                       "--no-instructions")
            options = [f"-p {server.port}", f"-k {root}", "-c listen_addresses=127.0.0.1", "-c max_connections=200"]
            if not durable:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            options += [f"-c {s}" for s in settings]
            server._pg("pg_ctl", "-D", str(server.data), "-l", str(root / "server.log"), "-w", "-t", "60",
                       "-o", " ".join(options), "start")
        except BaseException:
            server._remove()
            raise
        return server

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run([str(self.bin_dir / tool), *args], cwd=self.root, capture_output=True, text=True,
                              timeout=120, check=False, **self._as)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}{tail}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a fresh, empty ledger: a new schema in the `videogen` database, chosen by the URL's search_path
        (a schema costs a millisecond; CREATE DATABASE copies a template, a few hundred)."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'videogen'").fetchone() is None:
                conn.execute("CREATE DATABASE videogen")
        with psycopg.connect(self.url("videogen"), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url("videogen") + f"?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ledger_sql(settings: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (`?` placeholders) on the ledger the settings name, outside the ledger: what a test uses to
    plant a state another process would have left. Returns the rows (empty for statements without any)."""
    url = getattr(settings, "database_url", None)
    if url is None:
        import sqlite3

        conn = sqlite3.connect(settings.ledger_path, isolation_level=None)
        try:
            return conn.execute(sql, tuple(params)).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url.get_secret_value(), autocommit=True) as pg:
        cursor = pg.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        return cursor.fetchall() if cursor.description else []


def ledger_env(url: str | None) -> dict[str, str]:
    """A server process's environment for the `ledger_url` fixture's backend (nothing: SQLite)."""
    return {"VIDEOGEN_DATABASE_URL": url} if url else {}
