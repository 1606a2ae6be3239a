"""The fleet's connection budget. Every process of every instance opens its own psycopg pool of
`DATABASE_POOL_SIZE`; together, and with a reserve for operator commands, they must fit in
`DATABASE_MAX_CONNECTIONS`. `manage.py check` reports a budget that does not fit, the WSGI/ASGI
application and gunicorn refuse to start with it, and the server's real limit is compared with it
on the first connection (check --database, dbstats)."""

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


def warn_if_server_is_smaller(cursor, target: str) -> ServerLimit:
    """On a process's first connection: read the server's limit, log a warning if the budget
    does not fit in it, and return it."""
    limit = read_server_limit(cursor)
    if problem := server_limit_problem(configured_budget(), limit):
        logger.warning("PostgreSQL at %s: %s", target, problem)
    return limit
