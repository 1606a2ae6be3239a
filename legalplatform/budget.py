"""The fleet's connection budget. Every process of every instance opens its own psycopg pool of
`DATABASE_POOL_SIZE`; together, and with a reserve for operator commands, they must fit in
`DATABASE_MAX_CONNECTIONS`. `manage.py check` reports a budget that does not fit, the WSGI/ASGI
application and gunicorn refuse to start with it, and the real limit is compared with it on the
first connection (check --database, dbstats): the server's, or behind PgBouncer PgBouncer's."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger("legalplatform.db")

# The seed's pool size of one instance; smaller by default when it would not fit the budget.
DEFAULT_POOL_SIZE = 10
# Exit status of a refused start: gunicorn's "application failed to load", so that its master
# stops instead of restarting workers that would be refused again.
REFUSED_EXIT_STATUS = 4


@dataclass(frozen=True)
class Budget:
    """instances × processes × pool size + reserve, against the configured limit."""

    instances: int
    processes: int
    pool_size: int
    reserve: int
    limit: int

    @property
    def pools(self) -> int:
        return self.instances * self.processes

    @property
    def total(self) -> int:
        return self.pools * self.pool_size + self.reserve

    @property
    def fits(self) -> bool:
        return self.total <= self.limit

    @property
    def largest_pool_that_fits(self) -> int:
        return largest_pool(self.limit, self.reserve, self.pools)

    def describe(self) -> str:
        """`1 instance × 2 processes × pool 8 + 3 reserved = 19 of DATABASE_MAX_CONNECTIONS 20`"""
        return (
            f"{_count(self.instances, 'instance')} × {_count(self.processes, 'process')} × "
            f"pool {self.pool_size} + {self.reserve} reserved = {self.total} of "
            f"DATABASE_MAX_CONNECTIONS {self.limit}"
        )

    def problem(self) -> str | None:
        """None when the budget fits, else one line saying what to change."""
        if self.fits:
            return None
        largest = self.largest_pool_that_fits
        remedy = (
            f"set DATABASE_POOL_SIZE to {largest} or less"
            if largest >= 1
            else "run fewer processes (WEB_CONCURRENCY) or instances (DATABASE_INSTANCES)"
        )
        return (
            f"the connection budget does not fit: DATABASE_INSTANCES={self.instances} × "
            f"WEB_CONCURRENCY={self.processes} × DATABASE_POOL_SIZE={self.pool_size} + "
            f"DATABASE_OPS_RESERVE={self.reserve} = {self.total} > DATABASE_MAX_CONNECTIONS="
            f"{self.limit}; {remedy}, or raise DATABASE_MAX_CONNECTIONS (and the server's "
            "max_connections) or put PgBouncer in front"
        )


def _count(number: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{number} {noun if number == 1 else plural}"


def largest_pool(limit: int, reserve: int, pools: int) -> int:
    """The largest pool size each of `pools` pools can have within `limit` minus `reserve`."""
    return max(0, (limit - reserve) // max(pools, 1))


def default_pool_size(limit: int, reserve: int, pools: int) -> int:
    """The seed's 10, or the largest size that fits when 10 does not (at least 1)."""
    return max(1, min(DEFAULT_POOL_SIZE, largest_pool(limit, reserve, pools)))


def configured_budget() -> Budget:
    from django.conf import settings

    return Budget(
        instances=settings.DATABASE_INSTANCES,
        processes=settings.WEB_CONCURRENCY,
        pool_size=settings.DATABASE_POOL_SIZE,
        reserve=settings.DATABASE_OPS_RESERVE,
        limit=settings.DATABASE_MAX_CONNECTIONS,
    )


def refuse_start_unless_it_fits() -> None:
    """For the WSGI/ASGI entry points: one line on stderr and exit when the budget does not fit."""
    import sys

    if problem := configured_budget().problem():
        sys.stderr.write(f"error: refusing to start: {problem}\n")
        sys.stderr.flush()
        raise SystemExit(REFUSED_EXIT_STATUS)


# --- The server's own limit ------------------------------------------------------------------

# What a role without superuser rights may open: max_connections less the slots PostgreSQL keeps
# for superusers and (16 and later) for roles with pg_use_reserved_connections.
SERVER_LIMIT_SQL = """
    SELECT current_setting('max_connections')::int,
           current_setting('superuser_reserved_connections')::int,
           coalesce(current_setting('reserved_connections', true)::int, 0)
"""


@dataclass(frozen=True)
class ServerLimit:
    max_connections: int
    superuser_reserved: int
    reserved: int

    @property
    def available(self) -> int:
        return self.max_connections - self.superuser_reserved - self.reserved

    def describe(self) -> str:
        reserved = f" − reserved_connections {self.reserved}" if self.reserved else ""
        return (
            f"max_connections {self.max_connections} − superuser_reserved_connections "
            f"{self.superuser_reserved}{reserved} = {self.available}"
        )


def read_server_limit(cursor) -> ServerLimit:
    cursor.execute(SERVER_LIMIT_SQL)
    return ServerLimit(*cursor.fetchone())


def server_limit_problem(budget: Budget, limit: ServerLimit) -> str | None:
    """None when the budget fits in what the server allows, else one line."""
    if budget.total <= limit.available:
        return None
    return (
        f"the connection budget ({budget.describe()}) exceeds what the server allows: "
        f"{limit.describe()}; lower DATABASE_MAX_CONNECTIONS to {limit.available} and size the "
        "pools to it, or raise the server's max_connections"
    )


def warn_if_server_is_smaller(cursor, target: str, settings_dict: dict) -> ServerLimit:
    """On a process's first connection: read the server's limit, log a warning if the budget
    does not fit in the limit that applies (limit_problem), and return it."""
    limit = read_server_limit(cursor)
    if problem := limit_problem(configured_budget(), limit, settings_dict):
        logger.warning("PostgreSQL at %s: %s", target, problem)
    return limit


# --- Behind PgBouncer ------------------------------------------------------------------------
# In transaction pooling mode the fleet's pools are PgBouncer's clients: they must fit in its
# max_client_conn (DATABASE_MAX_CONNECTIONS is this application's share of it, and may be far
# above the server's limit). What reaches the server is PgBouncer's pool of the database
# (pool_size + reserve_pool), which must leave the operators' reserve free for the direct
# sessions (DATABASE_DIRECT_URL).


@dataclass(frozen=True)
class PoolerLimit:
    max_client_conn: int
    pool_size: int | None  # PgBouncer's pool of the database; None when it lists no such database
    reserve_pool: int

    def describe(self) -> str:
        pool = (
            f", pool of the database {self.pool_size} + reserve_pool {self.reserve_pool}"
            if self.pool_size is not None
            else ""
        )
        return f"PgBouncer's max_client_conn {self.max_client_conn}{pool}"


def read_pooler_limit(admin_url: str, database: str) -> PoolerLimit:
    """max_client_conn and the database's pool, from PgBouncer's admin console."""
    from legalplatform.db.pooler import console_rows

    config_rows, database_rows = console_rows(admin_url, "SHOW CONFIG", "SHOW DATABASES")
    config = {row["key"]: row["value"] for row in config_rows}
    pools = [row for row in database_rows if row["name"] == database]
    return PoolerLimit(
        max_client_conn=int(config["max_client_conn"]),
        pool_size=int(pools[0]["pool_size"]) if pools else None,
        reserve_pool=int(pools[0]["reserve_pool"]) if pools else 0,
    )


def pooler_limit_problem(budget: Budget, server: ServerLimit, pooler: PoolerLimit) -> str | None:
    """None when the fleet fits in PgBouncer and PgBouncer's pool in the server, else one line."""
    if budget.total > pooler.max_client_conn:
        return (
            f"the connection budget ({budget.describe()}) exceeds PgBouncer's max_client_conn "
            f"{pooler.max_client_conn}: raise max_client_conn, or lower DATABASE_MAX_CONNECTIONS "
            f"to {pooler.max_client_conn} and size the pools to it"
        )
    if pooler.pool_size is None:
        return None
    to_server = pooler.pool_size + pooler.reserve_pool
    room = server.available - budget.reserve
    if to_server <= room:
        return None
    return (
        f"PgBouncer's pool of the database (pool_size {pooler.pool_size} + reserve_pool "
        f"{pooler.reserve_pool} = {to_server}) and DATABASE_OPS_RESERVE {budget.reserve} exceed "
        f"what the server allows: {server.describe()}; lower PgBouncer's pool_size to "
        f"{max(room - pooler.reserve_pool, 0)}, or raise the server's max_connections"
    )


def limit_problem(budget: Budget, server: ServerLimit, settings_dict: dict) -> str | None:
    """The budget against the limit its pools really meet: the server's; behind PgBouncer
    (`POOLER`), PgBouncer's, read on its admin console (`POOLER_ADMIN_URL`), and nothing to
    compare without one (docs/production.md, "Connection budget", says how to size both)."""
    if settings_dict.get("POOLER", "none") == "none":
        return server_limit_problem(budget, server)
    admin_url = settings_dict.get("POOLER_ADMIN_URL")
    if not admin_url:
        return None
    import psycopg

    try:
        pooler = read_pooler_limit(admin_url, settings_dict["NAME"])
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return (
            f"PgBouncer's limits could not be read on its admin console "
            f"(DATABASE_POOLER_ADMIN_URL): {reason}"
        )
    return pooler_limit_problem(budget, server, pooler)
