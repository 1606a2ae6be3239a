"""Django's PostgreSQL backend with two additions: it starts the embedded server on the first
connection when no `DATABASE_URL` is set, and it turns a server that cannot be reached into one
readable error naming host and port instead of a pool time-out after 30 seconds."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.postgresql import base as postgresql
from django.db.utils import OperationalError

from legalplatform import embedded
from legalplatform.db.client import DatabaseClient


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

    def get_new_connection(self, conn_params):
        if self.pool and self.alias not in self._reachable_pools:
            # A pool retries an unreachable server until its wait time-out and then reports only
            # that it waited. One direct attempt first surfaces the real cause at once.
            self._probe(conn_params)
            self._reachable_pools.add(self.alias)
        return super().get_new_connection(conn_params)

    def _probe(self, conn_params: dict) -> None:
        params = {k: v for k, v in conn_params.items() if k not in ("context", "cursor_factory")}
        params.setdefault("connect_timeout", 10)
        try:
            self.Database.connect(**params).close()
        except self.Database.OperationalError as exc:
            reason = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            )
            raise DatabaseUnreachable(
                f"cannot connect to PostgreSQL at {describe_target(params)}: {reason}"
            ) from exc

    def close_pool(self):
        self._reachable_pools.discard(self.alias)
        super().close_pool()


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
