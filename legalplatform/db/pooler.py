"""Running behind PgBouncer in transaction pooling mode (`DATABASE_POOLER=pgbouncer`).

A client's transactions may each run on another server connection, and PgBouncer refuses the
startup parameter `options`, so the statement timeout cannot travel as `-c statement_timeout`.
It becomes the role's setting in the database (`ALTER ROLE … IN DATABASE … SET`), which every
server connection PgBouncer opens starts with: the first connection of each process checks it and
applies it when it differs. Server connections PgBouncer opened before the setting existed keep
their old value; the admin console's `RECONNECT` (with `DATABASE_POOLER_ADMIN_URL`) replaces
them, or the warning says to.

PgBouncer's admin console is also how restore's swap of databases drops the server connections
PgBouncer keeps to them (`PAUSE`, then `RESUME`)."""

from __future__ import annotations

import contextlib
import logging

import psycopg
from psycopg import conninfo, sql

logger = logging.getLogger("legalplatform.db")

# The session's timeout in ms, the role's setting in this database (None when unset) and the
# database's name.
STATEMENT_TIMEOUT_SQL = """
    SELECT (SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'),
           (SELECT substr(option, length('statement_timeout=') + 1)
              FROM pg_db_role_setting s, unnest(s.setconfig) AS option
             WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND s.setdatabase = (SELECT oid FROM pg_database
                                     WHERE datname = current_database())
               AND option LIKE 'statement_timeout=%'),
           current_database()
"""


def ensure_statement_timeout(conn: psycopg.Connection, timeout_ms: int, target: str) -> bool:
    """Make `timeout_ms` the statement timeout of the role in its database, as every server
    connection PgBouncer opens gets it, and of the server connection this transaction runs on.
    Returns whether the role's setting had to be applied."""
    with conn.transaction():
        session_ms, role_value, database = conn.execute(STATEMENT_TIMEOUT_SQL).fetchone()
        applied = role_value != str(timeout_ms)
        if applied:
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL(
                            "ALTER ROLE CURRENT_USER IN DATABASE {} SET statement_timeout = {}"
                        ).format(sql.Identifier(database), sql.Literal(timeout_ms))
                    )
            except psycopg.errors.InsufficientPrivilege as exc:
                logger.warning(
                    "PostgreSQL at %s: cannot set the role's statement timeout (%s); run "
                    "ALTER ROLE <role> IN DATABASE %s SET statement_timeout = %d as its owner",
                    target,
                    str(exc).strip().splitlines()[0],
                    database,
                    timeout_ms,
                )
                return False
            logger.info(
                "PostgreSQL at %s: statement_timeout %d ms applied to the role in %s (behind "
                "PgBouncer it cannot be a startup option)",
                target,
                timeout_ms,
                database,
            )
        if session_ms != timeout_ms:
            # This server connection predates the setting; it is not reset between transactions.
            conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(timeout_ms)))
    return applied


def _console(admin_url: str) -> psycopg.Connection:
    """A connection to PgBouncer's admin console (no prepared statements: it has none), given
    up after libpq's connect_timeout as the database's are, unless the URL sets its own."""
    from legalplatform.config import CONNECT_TIMEOUT_SECONDS

    params = conninfo.conninfo_to_dict(admin_url)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return psycopg.connect(**params, autocommit=True, prepare_threshold=None)


def admin_command(admin_url: str, command: str) -> None:
    """One command on PgBouncer's admin console."""
    with _console(admin_url) as console:
        console.execute(command)


def console_rows(admin_url: str, *commands: str) -> list[list[dict]]:
    """The rows of each SHOW command, on one connection to PgBouncer's admin console, as dicts
    by column name."""
    results = []
    with _console(admin_url) as console:
        for command in commands:
            cursor = console.execute(command)
            names = [column.name for column in cursor.description]
            results.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
    return results


def reconnect(admin_url: str, database: str) -> None:
    """Replace PgBouncer's server connections to `database` as they become free."""
    admin_command(admin_url, f"RECONNECT {_console_name(database)}")


@contextlib.contextmanager
def databases_released(admin_url: str | None, databases: list[str]):
    """PgBouncer holds no server connection to `databases` in the block and opens none: PAUSE
    waits for the transactions running on them, closes them and makes clients wait; RESUME
    lets the clients go on afterwards. Without an admin URL nothing is done: the operator
    pauses PgBouncer (docs/production.md)."""
    if not admin_url:
        yield
        return
    paused = []
    try:
        for database in databases:
            try:
                admin_command(admin_url, f"PAUSE {_console_name(database)}")
            except psycopg.Error as exc:
                if "no such database" not in str(exc):
                    raise
                continue  # PgBouncer never served it: it holds nothing to it
            paused.append(database)
        yield
    finally:
        for database in paused:
            admin_command(admin_url, f"RESUME {_console_name(database)}")


def _console_name(database: str) -> str:
    """The console takes bare words; a database name with anything else cannot be named."""
    if not database.replace("_", "").isalnum():
        raise ValueError(f"PgBouncer's console cannot name the database {database!r}")
    return database


# --- Work that needs a session of its own ----------------------------------------------------

# The alias of DATABASE_DIRECT_URL: the server itself, past the pooler.
DIRECT_ALIAS = "direct"


class SessionUnavailable(RuntimeError):
    """Work that needs a session of its own was asked of a database behind a pooler, with no
    direct URL to the server configured; the message says what to set."""


def session_database(using: str, work: str) -> str:
    """The alias to do `work` on (e.g. "migrate (concurrent index builds, SET)"): `using`
    itself unless it is behind a pooler in transaction mode, where a session's advisory locks,
    SETs, cursors and prepared statements would land on other clients' server connections; then
    the direct alias, or SessionUnavailable in one line."""
    from django.db import connections

    if connections.settings.get(using, {}).get("POOLER", "none") == "none":
        return using  # a server (or an alias Django itself will report as unknown)
    if DIRECT_ALIAS in connections.settings and using != DIRECT_ALIAS:
        return DIRECT_ALIAS
    raise SessionUnavailable(
        f"{work} needs a session of its own on PostgreSQL, which PgBouncer in transaction mode "
        "does not give: set DATABASE_DIRECT_URL to the server itself (not PgBouncer)"
    )
