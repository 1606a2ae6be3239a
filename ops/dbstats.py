"""What an operator looks at first on a database: connections against the limits, sizes, rows,
cache hit ratio, unused indexes and the slowest statements. Catalog and statistics views only,
so it is cheap on any size of database."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connections, transaction

from legalplatform import budget
from legalplatform.db import replicas

# Tables with at most this many estimated rows are counted exactly; larger ones use the
# planner's estimate (pg_class.reltuples), which a full COUNT(*) would cost seconds to beat.
EXACT_COUNT_LIMIT = 100_000
# A table never analyzed (reltuples -1: just created or loaded, autovacuum not there yet) has no
# estimate: counted exactly up to this size on disk, above it estimated by the planner from that
# size, as it does for queries.
EXACT_COUNT_BYTES = 64 * 1024 * 1024
# An index never scanned is called unused only once its table has been read this many times
# (sequential and index scans) since the statistics began: on a fresh database every index is
# "never scanned", which says nothing yet.
UNUSED_AFTER_TABLE_SCANS = 1_000
# A statement is shown up to this many characters, its literals redacted first.
STATEMENT_CHARS = 200
# pg_stat_statements replaces the constants of ordinary statements by $1, $2…, but keeps utility
# statements as they were sent: `CREATE ROLE … PASSWORD 'S3cret'`, `SET key = 'secret'`, a DO
# block. Every string literal is shown as '…'. Quoted identifiers and comments are matched only
# so that a quote inside them does not open a literal; a literal cut off by the end of the text
# (pg_stat_statements keeps only track_activity_query_size bytes) is redacted to the end.
SQL_TOKENS = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<identifier>"(?:[^"]|"")*(?:"|\Z))
    | (?P<dollar>(?<![\w$])\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?(?:\$(?P=tag)\$|\Z))
    | (?P<escaped>(?<![\w$])[eE]'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<string>'(?:[^']|'')*(?:'|\Z))
    """,
    re.VERBOSE | re.DOTALL,
)
REDACTED = "'…'"


@dataclass
class TableStats:
    name: str
    rows: int
    rows_estimated: bool
    table_bytes: int
    index_bytes: int
    total_bytes: int


@dataclass
class DatabaseStats:
    server_version: str
    database: str
    database_bytes: int
    active_connections: int
    total_connections: int
    max_connections: int
    pool_size: int
    # The fleet's connection budget (legalplatform.budget) against DATABASE_MAX_CONNECTIONS and
    # against what the server allows a role without superuser rights; a warning when it does not
    # fit in either.
    pool_fits: bool
    configured_max_connections: int
    budget: str
    budget_total: int
    server_connection_limit: int
    server_limit: str
    budget_warning: str
    cache_hit_ratio: float | None
    # The pool of this database alias (None without one) and the server's statement_timeout.
    pool: dict | None = None
    statement_timeout: str = ""
    # Whether the server is a hot standby (a read replica), and how many seconds it is behind.
    standby: bool = False
    standby_lag_seconds: float | None = None
    tables: list[TableStats] = field(default_factory=list)
    # The replica the table figures were read on (the admin's page, a replica current), or "".
    tables_read_on: str = ""
    unused_indexes: list[dict] = field(default_factory=list)
    # Why indexes never scanned are not listed (their tables read too few times yet); "" if none.
    unused_indexes_note: str = ""
    slowest_statements: list[dict] | None = None
    slowest_statements_note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(cursor, sql: str, params=()) -> list[dict]:
    cursor.execute(sql, params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def database_statistics(
    using: str = "default",
    *,
    slow_limit: int = 10,
    unused_after_table_scans: int = UNUSED_AFTER_TABLE_SCANS,
) -> DatabaseStats:
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT current_setting('server_version'),
                   current_database(),
                   pg_database_size(current_database()),
                   current_setting('max_connections')::int,
                   (SELECT count(*) FROM pg_stat_activity WHERE state = 'active'),
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                   (SELECT round(sum(blks_hit)::numeric / nullif(sum(blks_hit + blks_read), 0), 4)
                      FROM pg_stat_database WHERE datname = current_database()),
                   current_setting('statement_timeout')
            """
        )
        version, database, size, max_connections, active, total, hit_ratio, timeout = (
            cursor.fetchone()
        )
        configured = budget.configured_budget()
        server_limit = budget.read_server_limit(cursor)
        standby, lag = replicas.standby_status(cursor)
        stats = DatabaseStats(
            server_version=version,
            database=database,
            database_bytes=size,
            active_connections=active,
            total_connections=total,
            max_connections=max_connections,
            pool_size=settings.DATABASE_POOL_SIZE,
            pool_fits=configured.fits,
            configured_max_connections=settings.DATABASE_MAX_CONNECTIONS,
            budget=configured.describe(),
            budget_total=configured.total,
            server_connection_limit=server_limit.available,
            server_limit=server_limit.describe(),
            budget_warning=configured.problem()
            or budget.limit_problem(configured, server_limit, connections[using].settings_dict)
            or "",
            cache_hit_ratio=float(hit_ratio) if hit_ratio is not None else None,
            pool=_pool_settings(using),
            statement_timeout=timeout,
            standby=standby,
            standby_lag_seconds=lag,
        )
        # Sizes, estimates and counts are the same on a streaming replica: opted-in work (the
        # admin's page) reads them there; the server's own figures stay the primary's.
        replica = replicas.replica_for_read() if using == "default" else None
        if replica:
            with connections[replica].cursor() as replica_cursor:
                stats.tables = _table_stats(replica_cursor)
            stats.tables_read_on = replica
        else:
            stats.tables = _table_stats(cursor)
        never_scanned = _rows(
            cursor,
            """
            SELECT s.relname AS table, s.indexrelname AS index,
                   pg_relation_size(s.indexrelid) AS bytes,
                   coalesce(t.seq_scan, 0) + coalesce(t.idx_scan, 0) AS table_scans
              FROM pg_stat_user_indexes AS s
              JOIN pg_index AS i ON i.indexrelid = s.indexrelid
              JOIN pg_stat_user_tables AS t ON t.relid = s.relid
             WHERE s.idx_scan = 0
               AND NOT i.indisunique AND NOT i.indisprimary
             ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname
            """,
        )
        stats.unused_indexes = [
            {k: v for k, v in index.items() if k != "table_scans"}
            for index in never_scanned
            if index["table_scans"] >= unused_after_table_scans
        ]
        if held_back := len(never_scanned) - len(stats.unused_indexes):
            stats.unused_indexes_note = (
                f"{held_back} more never scanned, on tables read fewer than "
                f"{unused_after_table_scans:,} times since the statistics began: not enough "
                "statistics yet to call them unused"
            )
        stats.slowest_statements, stats.slowest_statements_note = _slowest_statements(
            cursor, using, slow_limit
        )
    return stats


def _pool_settings(using: str) -> dict | None:
    """The psycopg pool of the alias as configured (DATABASE_POOL_SIZE, _CONNECTION_TIMEOUT and
    _IDLE_TIMEOUT for the default one): sizes, and seconds to wait for a connection and to keep
    an idle one."""
    pool = connections[using].settings_dict["OPTIONS"].get("pool")
    if not isinstance(pool, dict):
        return None
    return {
        "min_size": pool.get("min_size"),
        "max_size": pool.get("max_size"),
        "timeout_s": pool.get("timeout"),
        "max_idle_s": pool.get("max_idle"),
    }


def _table_stats(cursor) -> list[TableStats]:
    tables = _rows(
        cursor,
        """
        SELECT c.relname AS name,
               greatest(c.reltuples, 0)::bigint AS estimate,
               c.reltuples < 0 AS never_analyzed,
               pg_table_size(c.oid) AS table_bytes,
               pg_indexes_size(c.oid) AS index_bytes,
               pg_total_relation_size(c.oid) AS total_bytes
          FROM pg_class AS c
          JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
         ORDER BY pg_total_relation_size(c.oid) DESC, c.relname
        """,
    )
    result = []
    for table in tables:
        if table["never_analyzed"]:
            exact = table["table_bytes"] <= EXACT_COUNT_BYTES
        else:
            exact = table["estimate"] <= EXACT_COUNT_LIMIT
        rows = table["estimate"]
        if exact:
            cursor.execute(f'SELECT count(*) FROM "{table["name"]}"')
            rows = cursor.fetchone()[0]
        elif table["never_analyzed"]:
            cursor.execute(f'EXPLAIN (FORMAT JSON) SELECT 1 FROM "{table["name"]}"')
            rows = int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])
        result.append(
            TableStats(
                name=table["name"],
                rows=rows,
                rows_estimated=not exact,
                table_bytes=table["table_bytes"],
                index_bytes=table["index_bytes"],
                total_bytes=table["total_bytes"],
            )
        )
    return result


def redact_literals(sql: str) -> str:
    """`sql` with every string literal (plain, E'', dollar-quoted) replaced by '…'."""

    def replace(match: re.Match) -> str:
        if match.group("comment") or match.group("identifier"):
            return match.group(0)
        return REDACTED

    return SQL_TOKENS.sub(replace, sql)


def shown_statement(sql: str) -> str:
    """A statement as dbstats shows it: literals redacted, whitespace collapsed, cut short."""
    text = " ".join(redact_literals(sql).split())
    return text if len(text) <= STATEMENT_CHARS else text[: STATEMENT_CHARS - 1] + "…"


def _slowest_statements(cursor, using: str, limit: int) -> tuple[list[dict] | None, str]:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if cursor.fetchone() is None:
        return None, (
            "pg_stat_statements is not installed: add it to shared_preload_libraries and "
            "run CREATE EXTENSION pg_stat_statements"
        )
    try:
        with transaction.atomic(using=using):  # a savepoint: a failed read spares the caller
            rows = _rows(
                cursor,
                """
                SELECT query,
                       calls,
                       round(mean_exec_time::numeric, 2)::float8 AS mean_ms,
                       round(total_exec_time::numeric, 1)::float8 AS total_ms
                  FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY mean_exec_time DESC
                 LIMIT %s
                """,
                [limit],
            )
    except Exception as exc:  # not preloaded, or no permission to read it
        return None, f"pg_stat_statements is installed but not readable: {exc}".splitlines()[0]
    for row in rows:
        row["query"] = shown_statement(row["query"])
    return rows, ""
