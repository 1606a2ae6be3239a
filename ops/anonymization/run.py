"""`anonymize_database`: replaces every real person in the database with a numbered demo one,
following settings.ANONYMIZATION, in one transaction that commits only after a search of the
whole database finds none of the removed values. Set-based: one UPDATE per table, the old
values captured by the same statement.

Public API: `anonymize_database`, `AnonymizationResult`, `AnonymizationError`, `LeakFound`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connections, transaction
from psycopg import sql

from core.progress import no_progress
from legalplatform.db.transactions import atomic_without_statement_timeout
from ops.anonymization import rules as rules_sql
from ops.anonymization.rules import (
    Column,
    Rule,
    RuleError,
    Shape,
    execute,
    parse_rules,
    q,
)
from ops.anonymization.verification import (
    Leak,
    ShapeFound,
    create_original_tables,
    search_originals,
)
from ops.bulk import drop_secondary_indexes, rebuild_indexes
from ops.safety import database_label, production_reason

# Columns that order a table's rows for the stable number N (then the primary key).
ORDER_COLUMNS = ("created_at", "timestamp", "executed_at", "used_at", "action_time")
# Where "people" finds a person's values and their replacements: table, columns joined by " ".
PEOPLE_SOURCES = (
    ("users", ("email",)),
    ("users", ("first_name", "last_name")),
    ("clients", ("name",)),
)
APPLICATION_NAME = "legalplatform anonymize"
# Tables of at least this many rows are rewritten without their secondary indexes, which are
# built again right after (ops.bulk): several times faster than maintaining
# them row by row, at the price of locking those tables for readers too until the commit.
REBUILD_INDEXES_FROM_ROWS = 10_000

REDACT_JSON_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.anonymize_redact_json(value jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- Every string leaf becomes "[redacted]"; keys, numbers, booleans and nulls stay.
    RETURN CASE jsonb_typeof(value)
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(e.key, pg_temp.anonymize_redact_json(e.value)),
                            '{}'::jsonb)
              FROM jsonb_each(value) AS e)
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(pg_temp.anonymize_redact_json(e.value) ORDER BY e.i),
                            '[]'::jsonb)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS e(value, i))
        WHEN 'string' THEN to_jsonb('[redacted]'::text)
        ELSE value
    END;
END;
$$;
"""


class AnonymizationError(Exception):
    """Refused or failed; the database is unchanged. The message is one line."""


class LeakFound(AnonymizationError):
    """The verification found original values, or values of the shape of personal data, after
    the rules ran; everything was rolled back."""

    def __init__(self, leaks: list[Leak | ShapeFound]):
        self.leaks = leaks
        super().__init__(
            f"verification found {len(leaks)} place(s) still holding personal data; "
            "nothing was changed: " + "; ".join(str(leak) for leak in leaks)
        )


@dataclass
class AnonymizationResult:
    database: str
    dry_run: bool
    # table -> column -> values changed (would change, in a dry run); "*" = rows deleted
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    originals_searched: int = 0
    # step -> seconds ("update users", "verify: scan documents", …)
    timings: dict[str, float] = field(default_factory=dict)
    cache_keys_deleted: int = 0
    warnings: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0


def anonymize_database(
    *,
    using: str = "default",
    dry_run: bool = False,
    confirm: Callable[[], None] | None = None,
    progress=no_progress,
    clear_caches: bool = True,
) -> AnonymizationResult:
    """Anonymize the database `using` by settings.ANONYMIZATION, or count what would change.

    Refuses a production-looking database (ops.safety.production_reason, plus the patterns of
    ANONYMIZATION_REFUSE_PATTERNS) whatever the caller says. `confirm()` runs after the checks
    and before anything changes; it aborts by raising. Everything happens in one transaction:
    the UPDATEs (capturing the old values into temporary tables), the deletes, and the search
    for those old values in every string column of every table; a hit raises LeakFound and
    rolls back. After the commit the Redis cache and sessions are cleared (`clear_caches`).
    """
    started = time.monotonic()
    reason = production_reason(using, settings.ANONYMIZATION_REFUSE_PATTERNS)
    if reason:
        raise AnonymizationError(
            f"refusing to anonymize {database_label(using)}: it looks like production ({reason})"
        )
    connection = connections[using]
    result = AnonymizationResult(database=connection.settings_dict["NAME"], dry_run=dry_run)
    try:
        with connection.cursor() as cursor:
            plan = _load_plan(cursor)
        if confirm:
            confirm()
        with atomic_without_statement_timeout(using) as cursor:
            _prepare_transaction(cursor, connection, plan, dry_run)
            raw_shapes, word_shapes = rules_sql.generated_shapes(_all_rules(plan))
            result.changes = _apply(cursor, plan, dry_run, raw_shapes, progress, result.timings)
            if not dry_run:
                result.originals_searched, leaks = search_originals(
                    cursor,
                    word_shapes=word_shapes,
                    raw_shapes=raw_shapes,
                    progress=progress,
                    timings=result.timings,
                )
                if leaks:
                    raise LeakFound(leaks)
            else:
                transaction.set_rollback(True, using=using)
    except RuleError as exc:
        raise AnonymizationError(str(exc)) from None
    except DatabaseError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AnonymizationError(f"anonymization failed and was rolled back: {message}") from None
    if not dry_run and clear_caches:
        result.cache_keys_deleted = clear_redis_caches(result.warnings)
    result.duration_seconds = round(time.monotonic() - started, 2)
    return result


def clear_redis_caches(warnings: list[str]) -> int:
    """Delete every key of every configured cache (sessions included): they hold the old names.
    Only the keys under each cache's own prefix go; other users of the Redis database stay.
    Runs after the commit, so an unreachable Redis adds a warning instead of failing."""
    deleted = 0
    try:
        for alias in settings.CACHES:
            cache = caches[alias]
            if hasattr(cache, "delete_pattern"):
                deleted += cache.delete_pattern("*") or 0
            else:
                cache.clear()
    except Exception as exc:  # any cache backend's connection error
        warnings.append(
            f"the Redis cache and sessions could not be cleared ({type(exc).__name__}): they "
            "may still hold old names; run anonymize again once Redis is reachable"
        )
    return deleted


# --- The plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    pk: str
    order: tuple[str, ...]
    rows: int
    unique: frozenset[str]


COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, t.typcategory,
       NOT a.attnotnull, a.attgenerated <> ''
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
 WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""


def _columns_of(cursor, table: str) -> dict[str, Column] | None:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [_quoted(table)])
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(COLUMNS_SQL, [_quoted(table)])
    columns = {}
    for name, sql_type, typname, category, nullable, generated in cursor.fetchall():
        if typname in ("json", "jsonb"):
            kind = "json"
        elif typname == "vector":
            kind = "vector"
        elif typname == "uuid":
            kind = "uuid"
        elif category == "S":
            kind = "text"
        else:
            kind = "other"
        columns[name] = Column(name, kind, sql_type, nullable, generated)
    return columns


def _quoted(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'


def _load_plan(cursor) -> dict[str, tuple[TableInfo, list[Rule] | str]]:
    parsed = parse_rules(settings.ANONYMIZATION, lambda table: _columns_of(cursor, table))
    problems = rules_sql.database_classification_problems(cursor, settings.ANONYMIZATION)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RuleError(
            f"refusing to anonymize: {problems[0]}{more}; {rules_sql.CLASSIFIED_TYPES_HINT}"
        )
    plan = {}
    for table, rules in parsed.items():
        plan[table] = (_table_info(cursor, table), rules)
    return plan


def _table_info(cursor, table: str) -> TableInfo:
    keys = _unique_keys(cursor, table)
    pk = next((name for name, primary in keys if primary), None)
    if pk is None:
        raise RuleError(f"{table} has no single-column primary key to number its rows by")
    columns = _columns_of(cursor, table) or {}
    order = tuple(name for name in ORDER_COLUMNS if name in columns)[:1]
    execute(cursor, sql.SQL("SELECT count(*) FROM {}").format(q(table)))
    rows = cursor.fetchone()[0]
    return TableInfo(table, pk, order, rows, frozenset(name for name, _ in keys))


def _unique_keys(cursor, table: str) -> list[tuple[str, bool]]:
    """(column, is primary key) of each single-column unique index of the table. A partitioned
    table's primary key holds its partition key after the row's id (skill_usage_logs: (id,
    executed_at)); its first column, unique by itself (a random UUID), numbers the rows."""
    cursor.execute(
        """
        SELECT a.attname, i.indisprimary
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = to_regclass(%s) AND i.indisunique
           AND (i.indnatts = 1 OR (c.relkind = 'p' AND i.indisprimary))
        """,
        [_quoted(table)],
    )
    return cursor.fetchall()


def _rebuilds_indexes(info: TableInfo, rules: list[Rule] | str) -> bool:
    return rules != "delete" and info.rows >= REBUILD_INDEXES_FROM_ROWS


# --- The transaction ----------------------------------------------------------------------------


def _prepare_transaction(cursor, connection, plan, dry_run: bool) -> None:
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute("SELECT set_config('application_name', %s, true)", [APPLICATION_NAME])
    if connection.pg_version >= 140000:
        # A killed client must not leave a backend running the rest of a long UPDATE.
        cursor.execute("SET LOCAL client_connection_check_interval = '1s'")
    # Nobody writes to an anonymized table until we commit; readers go on, except on the tables
    # whose indexes are rebuilt (locked for everything at once, rather than upgraded later).
    rebuilt = {
        t for t, (info, rules) in plan.items() if not dry_run and _rebuilds_indexes(info, rules)
    }
    for mode, tables in (("ACCESS EXCLUSIVE", rebuilt), ("EXCLUSIVE", set(plan) - rebuilt)):
        if tables:
            names = sql.SQL(", ").join(q(table) for table in plan if table in tables)
            execute(cursor, sql.SQL("LOCK TABLE {} IN {} MODE").format(names, sql.SQL(mode)))
    cursor.execute(REDACT_JSON_FUNCTION)
    create_original_tables(cursor)


def _all_rules(plan) -> list[Rule]:
    return [rule for _, rules in plan.values() if rules != "delete" for rule in rules]


def _apply(
    cursor, plan, dry_run: bool, raw_shapes: list[Shape], progress, timings: dict[str, float]
) -> dict[str, dict[str, int]]:
    changes: dict[str, dict[str, int]] = {}
    if any(rule.kind == "people" for rule in _all_rules(plan)):
        started = time.monotonic()
        _build_people_map(cursor, plan)
        timings["people map"] = time.monotonic() - started
    for table, (info, rules) in plan.items():
        started = time.monotonic()
        bar = progress(total=info.rows, desc=table, unit="rows")
        try:
            if rules == "delete":
                changes[table] = {"*": info.rows}
                if not dry_run:
                    execute(cursor, sql.SQL("DELETE FROM {}").format(q(table)))
            elif dry_run:
                changes[table] = _count_changes(cursor, info, rules)
            else:
                changes[table] = _rewrite(cursor, info, rules, raw_shapes, timings)
            bar.update(info.rows)
        finally:
            bar.close()
        timings[f"update {table}"] = time.monotonic() - started
    return changes


def _numbered(info: TableInfo, rules: list[Rule]) -> sql.Composable:
    """The table's rows with their old values, stable number __n, value numbers __v_<c> and
    people-map replacements __p_<c>: the `m` of every expression.

    The numbering sorts only what it orders by (and the {v} columns), then meets the old
    values by key: sorting whole rows would sort a copy of every document's content."""
    by_value = [rule for rule in rules if "v" in rule.template_fields]
    order = sql.SQL(", ").join(sql.SQL("t.{}").format(q(name)) for name in (*info.order, info.pk))
    numbers = sql.SQL(
        "SELECT t.{pk}, row_number() OVER (ORDER BY {order}) AS __n{values} FROM {table} AS t"
    ).format(
        pk=q(info.pk),
        order=order,
        values=sql.Composed(sql.SQL(", t.{}").format(q(rule.column.name)) for rule in by_value),
        table=q(info.name),
    )
    numbered = [sql.SQL("n.__n")]
    if by_value:
        # {v}: distinct original values numbered by their first row.
        firsts = sql.SQL(", ").join(
            sql.SQL("min(b.__n) OVER (PARTITION BY b.{c}) AS {f}").format(
                c=q(rule.column.name), f=q(f"__first_{rule.column.name}")
            )
            for rule in by_value
        )
        ranks = sql.SQL(", ").join(
            sql.SQL("dense_rank() OVER (ORDER BY f.{f}) AS {v}").format(
                f=q(f"__first_{rule.column.name}"), v=q(f"__v_{rule.column.name}")
            )
            for rule in by_value
        )
        numbers = sql.SQL(
            "SELECT f.*, {ranks} FROM (SELECT b.*, {firsts} FROM ({numbers}) AS b) AS f"
        ).format(ranks=ranks, firsts=firsts, numbers=numbers)
        numbered += [sql.SQL("n.{}").format(q(f"__v_{rule.column.name}")) for rule in by_value]
    columns = [sql.SQL("t.{}").format(q(rule.column.name)) for rule in rules]
    joins = []
    for rule in rules:
        if rule.kind == "people":
            alias = q(f"p_{rule.column.name}")
            joins.append(
                sql.SQL(
                    " LEFT JOIN anonymize_people AS {a} ON {a}.original = lower(btrim(t.{c}))"
                ).format(a=alias, c=q(rule.column.name))
            )
            columns.append(
                sql.SQL("{}.replacement AS {}").format(alias, q(f"__p_{rule.column.name}"))
            )
    return sql.SQL(
        "SELECT t.{pk}, {numbered}, {columns}"
        " FROM {table} AS t JOIN ({numbers}) AS n ON n.{pk} = t.{pk}{joins}"
    ).format(
        pk=q(info.pk),
        numbered=sql.SQL(", ").join(numbered),
        columns=sql.SQL(", ").join(columns),
        table=q(info.name),
        numbers=numbers,
        joins=sql.Composed(joins),
    )


def _removed(rule: Rule, raw_shapes: list[Shape]) -> sql.Composable | None:
    """What the UPDATE returns for the rule: a removed identifier as text, a removed whole value
    as its hash (never a second copy of a document), generated-looking values left out; a
    text[] or bigint[] of them for a JSON column."""
    removed = rules_sql.removed_values(rule)
    if removed is None or rule.search == "words":
        return removed

    def keep(value: sql.Composable) -> sql.Composable:
        return sql.SQL("{long_enough} AND NOT {generated}").format(
            long_enough=rules_sql.long_enough(value),
            generated=rules_sql.is_generated(value, raw_shapes),
        )

    if rule.column.kind != "json":  # one value: no per-row subquery
        value = sql.SQL("m.{}::text").format(q(rule.column.name))
        return sql.SQL("CASE WHEN {changed} AND {keep} THEN hashtextextended({v}, 0) END").format(
            changed=rules_sql.changed(rule), keep=keep(value), v=value
        )
    return sql.SQL(
        "ARRAY(SELECT hashtextextended(x, 0) FROM unnest({removed}) AS x WHERE {keep})"
    ).format(removed=removed, keep=keep(sql.SQL("x")))


def _update(cursor, info: TableInfo, rules: list[Rule], raw_shapes: list[Shape]) -> dict[str, int]:
    """One UPDATE for the whole table; the same statement stores what it removed."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(q(rule.column.name), rules_sql.new_value(rule)) for rule in rules
    )
    returned = []
    captured: dict[str, list[sql.Composable]] = {"identifiers": [], "wholes": []}
    for index, rule in enumerate(rules):
        removed, name = _removed(rule, raw_shapes), q(f"r{index}")
        returned.append(
            sql.SQL("{} AS {}, ({}) AS {}").format(
                removed if removed is not None else sql.SQL("NULL"),
                name,
                rules_sql.changed(rule),
                q(f"changed{index}"),
            )
        )
        if removed is None:
            continue
        if rule.column.kind == "json":
            value, source = sql.SQL("x"), sql.SQL("u, unnest(u.{}) AS x").format(name)
        else:
            value, source = sql.SQL("u.{}").format(name), sql.SQL("u")
        if rule.search == "words":
            kind, condition = "identifiers", rules_sql.long_enough(value)
        else:
            kind, condition = "wholes", sql.SQL("{} IS NOT NULL").format(value)
        captured[kind].append(
            sql.SQL("SELECT {v}, {label} FROM {source} WHERE {condition}").format(
                v=value, label=sql.Literal(rule.label), source=source, condition=condition
            )
        )
    inserts = [
        sql.SQL("{cte} AS (INSERT INTO {table} {selects})").format(
            cte=q(kind),
            table=sql.SQL(
                "anonymize_identifier_values (value, source)"
                if kind == "identifiers"
                else "anonymize_values (hash, source)"
            ),
            selects=sql.SQL(" UNION ALL ").join(selects),
        )
        for kind, selects in captured.items()
        if selects
    ]
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE u.{})").format(q(f"changed{index}"))
        for index in range(len(rules))
    )
    statement = sql.SQL(
        """
        WITH m AS ({numbered}),
        u AS (
            UPDATE {table} AS t SET {assignments}
              FROM m WHERE t.{pk} = m.{pk}
            RETURNING {returned}
        ){inserts}
        SELECT {counts} FROM u
        """
    ).format(
        numbered=_numbered(info, rules),
        table=q(info.name),
        assignments=assignments,
        pk=q(info.pk),
        returned=sql.SQL(", ").join(returned),
        inserts=sql.Composed([sql.SQL(", ") + insert for insert in inserts]),
        counts=counts,
    )
    execute(cursor, statement)
    return dict(zip((rule.column.name for rule in rules), cursor.fetchone(), strict=True))


def _count_changes(cursor, info: TableInfo, rules: list[Rule]) -> dict[str, int]:
    """The dry run: how many values each rule would change, without writing."""
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE ({new})::text IS DISTINCT FROM m.{c}::text)").format(
            new=rules_sql.new_value(rule), c=q(rule.column.name)
        )
        for rule in rules
    )
    statement = sql.SQL("SELECT {} FROM ({}) AS m").format(counts, _numbered(info, rules))
    execute(cursor, statement)
    return dict(zip((rule.column.name for rule in rules), cursor.fetchone(), strict=True))


def _rewrite(
    cursor, info: TableInfo, rules: list[Rule], raw_shapes: list[Shape], timings: dict[str, float]
) -> dict[str, int]:
    """The table's UPDATE, without its secondary indexes when it is large."""
    if not _rebuilds_indexes(info, rules):
        _free_unique_values(cursor, info, rules, info.unique)
        return _update(cursor, info, rules, raw_shapes)
    dropped = drop_secondary_indexes(cursor, info.name)
    _free_unique_values(cursor, info, rules, {name for name, _ in _unique_keys(cursor, info.name)})
    changes = _update(cursor, info, rules, raw_shapes)
    started = time.monotonic()
    rebuild_indexes(cursor, info.name, dropped)
    timings[f"rebuild indexes {info.name}"] = time.monotonic() - started
    return changes


def _free_unique_values(cursor, info: TableInfo, rules: list[Rule], unique: set[str]) -> None:
    """A unique column whose rows already hold generated values (an earlier run) could collide
    mid-UPDATE ("demo4" moving to the row that holds "demo4"): park those on their key first."""
    for rule in rules:
        if rule.column.name not in unique or rule.kind != "person":
            continue
        shape = rules_sql.template_shape(rule.argument)
        statement = sql.SQL(
            "UPDATE {t} SET {c} = 'anonymizing ' || {pk}::text WHERE {generated}"
        ).format(
            t=q(info.name),
            c=q(rule.column.name),
            pk=q(info.pk),
            generated=rules_sql.has_shape(sql.SQL("{}::text").format(q(rule.column.name)), [shape]),
        )
        execute(cursor, statement)


def _build_people_map(cursor, plan) -> None:
    """anonymize_people: each known person's old email / full name / client name (lower-cased)
    and the value the rules give them, numbered exactly as their own table's UPDATE will; only
    for the values the "people" columns hold (a million users, a few hundred named in logs)."""
    selects = []
    for table, columns in PEOPLE_SOURCES:
        if table not in plan or plan[table][1] == "delete":
            continue
        info, rules = plan[table]
        by_name = {rule.column.name: rule for rule in rules}
        if not all(name in by_name for name in columns):
            continue
        used = [by_name[name] for name in columns]
        original = sql.SQL(" || ' ' || ").join(sql.SQL("m.{}").format(q(name)) for name in columns)
        replacement = sql.SQL(" || ' ' || ").join(rules_sql.new_value(rule) for rule in used)
        selects.append(
            sql.SQL(
                "SELECT lower(btrim({o})) AS original, {r} AS replacement, m.__n AS n,"
                " {rank} AS rank FROM ({numbered}) AS m"
            ).format(
                o=original,
                r=replacement,
                rank=sql.Literal(len(selects)),
                numbered=_numbered(info, used),
            )
        )
    cursor.execute(
        "CREATE TEMP TABLE anonymize_people (original text PRIMARY KEY, replacement text)"
        " ON COMMIT DROP"
    )
    if not selects:
        return
    named = sql.SQL(" UNION ").join(
        sql.SQL("SELECT lower(btrim({c}::text)) FROM {t}").format(c=q(rule.column.name), t=q(table))
        for table, (_, rules) in plan.items()
        if rules != "delete"
        for rule in rules
        if rule.kind == "people"
    )
    statement = sql.SQL(
        """
        WITH named (original) AS MATERIALIZED ({named})
        INSERT INTO anonymize_people
        SELECT DISTINCT ON (original) original, replacement FROM ({selects}) AS s
         WHERE original <> '' AND replacement IS NOT NULL
           AND original IN (SELECT original FROM named)
         ORDER BY original, rank, n
        """
    ).format(named=named, selects=sql.SQL(" UNION ALL ").join(selects))
    execute(cursor, statement)
