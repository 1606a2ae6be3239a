"""Django's PostgreSQL backend with what the project needs around connecting: it starts the
embedded server on the first connection when no `DATABASE_URL` is set; it turns a server that
cannot be reached into one readable error naming host and port, given within seconds (a pool
that cannot connect fails fast, legalplatform/db/outage.py) instead of after the pool's 30 s;
it names each process's pooled connections (`application_name` legalplatform:PID); and on a
process's first connection it compares the connection budget with the server's real limit."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.db.backends.postgresql import base as postgresql
from django.db.utils import OperationalError

from legalplatform import budget, embedded
from legalplatform.db import pooler
from legalplatform.db.client import DatabaseClient
from legalplatform.db.outage import FailFastPool, OutageGuard
from legalplatform.redis import OutageLog

logger = logging.getLogger("legalplatform.db")
# Reported by the request path (legalplatform.unavailable) when it answers 503; its end is
# reported here, by the first connection that succeeds again.
outage_log = OutageLog(
    logger, "requests that need the database are answered with 503", service="PostgreSQL"
)
# Seconds of failing fast after a failed connection, unless the settings say (FAIL_FAST_SECONDS).
DEFAULT_FAIL_FAST_SECONDS = 2.0


class DatabaseUnreachable(OperationalError):
    """The configured server refused or did not answer; the message names where and why."""


def describe_target(params: dict) -> str:
    """`host:port/dbname as user`, never the password: for error messages and logs."""
    host = params.get("host") or "localhost"
    where = f"socket {host}" if host.startswith("/") else f"{host}:{params.get('port') or 5432}"
    return f"{where}/{params.get('dbname', '')} as {params.get('user') or 'default user'}"


class DatabaseWrapper(postgresql.DatabaseWrapper):
    client_class = DatabaseClient
    # Pools whose server was reached once by this process; see get_new_connection.
    _reachable_pools: set[str] = set()
    # One outage state per alias, shared by the process's threads.
    _outage_guards: dict[str, OutageGuard] = {}
    _guards_lock = threading.Lock()

    def get_connection_params(self):
        if self.settings_dict.get("EMBEDDED"):
            self._point_at_embedded_server()
        return super().get_connection_params()

    def _point_at_embedded_server(self) -> None:
        endpoint = embedded.ensure_postgres(Path(self.settings_dict["EMBEDDED_DATA_DIR"]))
        self.settings_dict.update(HOST=endpoint.host, PORT=str(endpoint.port), USER=endpoint.user)
        embedded_database = self.settings_dict.get("EMBEDDED_DATABASE")
        if embedded_database and not self.settings_dict.get("_EMBEDDED_DATABASE_READY"):
            _create_database_if_missing(endpoint, embedded_database)
            self.settings_dict["_EMBEDDED_DATABASE_READY"] = True

    @property
    def pool(self):
        """Django's pool of the alias, built as Django builds it but of the class that fails
        fast when the server is down."""
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias not in self._connection_pools and pool_options:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                return super().pool  # Django's own refusal
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django's: it sets autocommit itself later
            # Which process holds which connection, in pg_stat_activity (the pool is made in
            # the process that uses it: gunicorn's workers make theirs after the fork).
            connect_kwargs.setdefault("application_name", f"legalplatform:{os.getpid()}")
            pool = FailFastPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=(
                    FailFastPool.check_connection
                    if self.settings_dict["CONN_HEALTH_CHECKS"]
                    else None
                ),
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return super().pool

    @property
    def outage(self) -> OutageGuard:
        guard = self._outage_guards.get(self.alias)
        if guard is None:
            window = self.settings_dict.get("FAIL_FAST_SECONDS", DEFAULT_FAIL_FAST_SECONDS)
            with self._guards_lock:
                guard = self._outage_guards.setdefault(self.alias, OutageGuard(window))
        return guard

    def get_new_connection(self, conn_params):
        guard = self.outage
        guard.admit(DatabaseUnreachable)
        try:
            connection = self._connect(conn_params)
        except DatabaseUnreachable as exc:
            guard.failed(str(exc))
            self._discard_pool()
            raise
        except BaseException:
            guard.abandoned()
            raise
        if guard.succeeded():
            outage_log.success()
        return connection

    def _connect(self, conn_params):
        target = describe_target(conn_params)
        if not self.pool:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as exc:
                raise self._unreachable(target, exc) from exc
        if self.alias not in self._reachable_pools:
            # A pool retries an unreachable server until its wait time-out and then reports only
            # that it waited. One direct attempt first surfaces the real cause at once.
            self._probe(conn_params)
            self._reachable_pools.add(self.alias)
        try:
            return super().get_new_connection(conn_params)
        except FailFastPool.ServerDown as exc:
            raise self._unreachable(target, exc) from exc

    def _probe(self, conn_params: dict) -> None:
        params = {k: v for k, v in conn_params.items() if k not in ("context", "cursor_factory")}
        target = describe_target(params)
        try:
            with self.Database.connect(**params) as probe, probe.cursor() as cursor:
                budget.warn_if_server_is_smaller(cursor, target, self.settings_dict)
                if self.settings_dict.get("POOLER", "none") != "none":
                    self._ensure_statement_timeout(probe, target)
        except self.Database.OperationalError as exc:
            raise self._unreachable(target, exc) from exc

    def _unreachable(self, target: str, exc: BaseException) -> DatabaseUnreachable:
        """The one-line error; when the server refused the startup option `options` it is
        PgBouncer (the statement timeout travels as one), and the line says what to set."""
        reason = _first_line(exc)
        if "unsupported startup parameter" in reason:
            variable = self.settings_dict.get("URL_VARIABLE", "DATABASE_URL")
            reason += (
                " (this is PgBouncer: set DATABASE_POOLER=pgbouncer)"
                if variable == "DATABASE_URL"
                else f" (this is PgBouncer: {variable} must name PostgreSQL itself)"
            )
        return DatabaseUnreachable(f"cannot connect to PostgreSQL at {target}: {reason}")

    def _ensure_statement_timeout(self, probe, target: str) -> None:
        """Behind PgBouncer: the role's statement timeout in the database (legalplatform.db.
        pooler), and fresh server connections when it had to be applied and the admin console
        is known."""
        probe.commit()  # the budget's read
        probe.autocommit = True
        timeout_ms = self.settings_dict["STATEMENT_TIMEOUT_MS"]
        applied = pooler.ensure_statement_timeout(probe, timeout_ms, target)
        admin_url = self.settings_dict.get("POOLER_ADMIN_URL")
        if applied and admin_url:
            pooler.reconnect(admin_url, self.settings_dict["NAME"])

    def _discard_pool(self) -> None:
        """Forget the alias's pool after a failure, so that the next attempt starts a fresh one
        at once instead of waiting for the old one's backed-off retries; it is closed on a
        thread of its own (a worker of it may be stuck connecting for a few seconds)."""
        self._reachable_pools.discard(self.alias)
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            threading.Thread(target=pool.close, name="close-failed-pool", daemon=True).start()

    def close_pool(self):
        self._reachable_pools.discard(self.alias)
        super().close_pool()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else exc.__class__.__name__


def _create_database_if_missing(endpoint: embedded.PostgresEndpoint, name: str) -> None:
    """The embedded cluster starts with only `postgres`; the project's database is made once."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # a concurrent process created it first
