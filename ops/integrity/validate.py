"""`manage.py validate` and the check after a restore: the integrity of the whole database as a
PASS / FAIL / SKIP report. Row rules are set-based: every table is read once, with all its rules
as filtered counts over hash joins, so ten million rows take seconds, not minutes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from django.apps import apps
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models.sql import Query

from cases.selectors import case_search_drift
from core.extensions import REQUIRED_EXTENSIONS
from skills.selectors import daily_usage_mismatches

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
CHECKS = (
    "connection",
    "migrations",
    "extensions",
    "tables",
    "references",
    "values",
    "dates",
    "statistics",
)
SAMPLE_SIZE = 5  # offending ids named per failed rule
MINIMUM_SERVER_VERSION = 140000
MINIMUM_VECTOR_VERSION = (0, 5)
# Timestamps may lie this far ahead of the server's clock (clients with a skewed clock).
CLOCK_SKEW = "5 minutes"

# Columns allowed to hold future times: deadlines and hearings are planned ahead, and sessions
# (should Django's database sessions be used) expire later.
FUTURE_ALLOWED = {
    ("tasks", "due_date"),
    ("cases", "next_hearing_date"),
    ("django_session", "expire_date"),
}
# Later-than pairs within a row, besides created_at <= updated_at: (table, earlier, later).
DATE_ORDER = (
    ("cases", "opened_date", "closed_date"),
    ("tasks", "created_at", "completed_at"),
    ("skill_versions", "deployed_at", "deprecated_at"),
    ("document_type_registry", "first_seen_date", "last_seen_date"),
    ("document_patterns", "first_seen_at", "last_seen_at"),
)
# Check constraints that the date rules above already report.
COVERED_BY_DATE_RULES = {"cases_opened_before_closed"}


@dataclass(frozen=True)
class Reference:
    """A column that points at rows of another table without a foreign key in the database."""

    table: str
    column: str
    target_table: str
    target_column: str = "id"
    array: bool = False


# The references the database does not enforce (schema.md: imports may precede their documents).
UNENFORCED_REFERENCES = (
    Reference("document_type_instances", "document_id", "documents"),
    Reference("document_type_registry", "sample_document_ids", "documents", array=True),
    Reference("document_type_registry", "mapped_skill_id", "skills", "skill_id"),
    Reference("document_type_registry", "mapped_template_id", "romanian_templates"),
    Reference("romanian_templates", "source_document_ids", "documents", array=True),
    Reference("document_patterns", "document_sources", "documents", array=True),
    Reference("document_patterns", "used_in_templates", "romanian_templates", array=True),
    Reference("template_usage_logs", "user_id", "users"),
    Reference("skills", "created_by", "users"),
    Reference("skill_versions", "created_by", "users"),
)


@dataclass
class CheckResult:
    """One line of the report: a check on one table (or the database), its status and why."""

    check: str
    status: str
    target: str = "-"
    detail: str = ""
    rule: str = ""
    count: int = 0  # offending rows, for FAIL
    sample_ids: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    database: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    def add(self, check: str, status: str, target: str = "-", detail: str = "", **extra):
        self.results.append(CheckResult(check, status, target, detail, **extra))

    def as_dict(self) -> dict:
        return {
            "database": self.database,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "results": [asdict(r) for r in self.results],
        }


@dataclass
class Rule:
    """A row rule of one table: `violation` is true for an offending row of `table` (the table
    is addressed by its name; `joins` maps aliases it uses to their join condition)."""

    check: str
    table: str
    name: str
    violation: str
    params: list = field(default_factory=list)
    joins: dict[str, str] = field(default_factory=dict)


def validate_database(
    using: str = "default", *, expect_seed: bool = False, fixtures_dir: Path | str | None = None
) -> ValidationReport:
    """Check the database `using` and return the report; never raises for what it finds.

    With `expect_seed`, also compare the demo firm's data with the demo data files.
    """
    connection = connections[using]
    report = ValidationReport(database=connection.settings_dict["NAME"])
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), current_setting('server_version_num')::int")
            version, number = cursor.fetchone()
    except DatabaseError as exc:
        report.add("connection", FAIL, detail=_first_line(exc))
        for check in CHECKS[1:]:
            report.add(check, SKIP, detail="no connection")
        report.seconds = time.monotonic() - started
        return report
    short_version = " ".join(version.split()[:2])
    if number < MINIMUM_SERVER_VERSION:
        report.add("connection", FAIL, detail=f"{short_version}: PostgreSQL 14 or newer needed")
    else:
        report.add("connection", PASS, detail=short_version)

    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if outermost:  # one snapshot for every check, and no writes by mistake
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET LOCAL statement_timeout = 0")
            # Hash joins keep the referenced tables' keys in memory (10 million rows: about 30 MB).
            cursor.execute("SET LOCAL work_mem = '64MB'")
        schema = _Schema.read(connection)
        steps = [
            ("migrations", lambda: _check_migrations(connection, report)),
            ("extensions", lambda: _check_extensions(connection, report)),
            ("tables", lambda: _check_tables(schema, report)),
            ("references", lambda: _check_rows(connection, schema, report)),
            ("statistics", lambda: _check_statistics(connection, schema, report)),
            ("statistics", lambda: _check_daily_usage(connection, schema, report)),
            ("statistics", lambda: _check_case_search(connection, schema, report)),
        ]
        if expect_seed:
            steps.append(("demo", lambda: _check_demo_dataset(connection, report, fixtures_dir)))
        for check, run in steps:
            try:
                with transaction.atomic(using=using):  # a failed query spoils only this step
                    run()
            except DatabaseError as exc:
                report.add(check, FAIL, detail=f"could not run: {_first_line(exc)}")
    report.seconds = time.monotonic() - started
    return report


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


def _sample(ids: Iterable) -> str:
    ids = [str(i) for i in ids]
    return f" (ids: {', '.join(ids)})" if ids else ""


# --- migrations and extensions --------------------------------------------------------------------


def _check_migrations(connection, report: ValidationReport) -> None:
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    graph = loader.graph
    # a name that a migration of the code replaces (ops.0001 -> core.0001) is that migration
    replaced = {tuple(key) for m in loader.replacements.values() for key in m.replaces}
    applied = {key for key in loader.applied_migrations if key not in replaced}
    pending = []
    for leaf in graph.leaf_nodes():
        for node in graph.forwards_plan(leaf):
            if node not in applied and node not in pending:
                pending.append(node)
    labels = {config.label for config in apps.get_app_configs()}
    unknown = sorted(node for node in applied if node not in graph.nodes and node[0] in labels)
    for nodes, problem, rule in (
        (pending, "not applied", "all applied"),
        (unknown, "applied but unknown to this code", "applied migrations exist in the code"),
    ):
        if nodes:
            names = _names(nodes[:SAMPLE_SIZE])
            report.add(
                "migrations",
                FAIL,
                detail=f"{len(nodes)} {problem}{_sample(names)}",
                rule=rule,
                count=len(nodes),
                sample_ids=names,
            )
    if not pending and not unknown:
        report.add("migrations", PASS, detail=f"{len(applied)} applied, none pending")


def _names(nodes) -> list[str]:
    return [f"{app}.{name}" for app, name in nodes]


def _check_extensions(connection, report: ValidationReport) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname, extversion FROM pg_extension")
        installed = dict(cursor.fetchall())
    missing = [name for name in REQUIRED_EXTENSIONS if name not in installed]
    if missing:
        report.add(
            "extensions",
            FAIL,
            detail=f"not installed: {', '.join(missing)}",
            rule="required extensions installed",
            count=len(missing),
            sample_ids=missing,
        )
        return
    vector = tuple(int(part) for part in installed["vector"].split(".")[:2])
    if vector < MINIMUM_VECTOR_VERSION:
        report.add(
            "extensions",
            FAIL,
            detail=f"pgvector {installed['vector']} is older than 0.5",
            rule="pgvector 0.5 or newer",
        )
        return
    optional = (
        f"uuid-ossp {installed['uuid-ossp']}"
        if "uuid-ossp" in installed
        else "uuid-ossp absent (optional)"
    )
    found = ", ".join(f"{name} {installed[name]}" for name in REQUIRED_EXTENSIONS)
    report.add("extensions", PASS, detail=f"{found}; {optional}")


# --- tables ---------------------------------------------------------------------------------------


@dataclass
class _Schema:
    """The tables and views the code expects, and which of them (and their columns) exist."""

    models: dict[str, type[models.Model]]  # table -> model, for managed tables
    views: list[str]
    columns: dict[str, set[str]]  # relation -> columns, as in the database

    @classmethod
    def read(cls, connection) -> _Schema:
        tables, views = {}, []
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy:
                continue
            if model._meta.managed:
                tables[model._meta.db_table] = model
            else:
                views.append(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.relname, a.attname
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')
                """
            )
            columns: dict[str, set[str]] = {}
            for relation, column in cursor.fetchall():
                columns.setdefault(relation, set()).add(column)
        return cls(models=tables, views=sorted(views), columns=columns)

    def has(self, table: str, *columns: str) -> bool:
        present = self.columns.get(table)
        return present is not None and all(c in present for c in columns)

    def present_models(self) -> list[tuple[str, type[models.Model]]]:
        return [(t, m) for t, m in sorted(self.models.items()) if t in self.columns]


def _check_tables(schema: _Schema, report: ValidationReport) -> None:
    problems = 0
    for table, model in sorted(schema.models.items()):
        if table not in schema.columns:
            problems += 1
            report.add("tables", FAIL, table, "table missing", rule="table exists")
            continue
        expected = {f.column for f in model._meta.local_concrete_fields}
        missing = sorted(expected - schema.columns[table])
        if missing:
            problems += 1
            report.add(
                "tables",
                FAIL,
                table,
                f"columns missing: {', '.join(missing)}",
                rule="model columns exist",
                count=len(missing),
                sample_ids=missing[:SAMPLE_SIZE],
            )
    for view in schema.views:
        if view not in schema.columns:
            problems += 1
            report.add("tables", FAIL, view, "view missing", rule="view exists")
    if not problems:
        report.add(
            "tables",
            PASS,
            detail=f"{len(schema.models)} tables and {len(schema.views)} views with their columns",
        )


# --- row rules: references, values, dates ---------------------------------------------------------


def _row_rules(connection, schema: _Schema) -> list[Rule]:
    rules: list[Rule] = []
    for table, model in schema.present_models():
        rules += _foreign_key_rules(schema, table, model)
        rules += _value_rules(connection, schema, table, model)
        rules += _date_rules(schema, table, model)
    for reference in UNENFORCED_REFERENCES:
        if reference.array:
            continue  # one query of its own each: see _check_array_references
        if not (
            schema.has(reference.table, reference.column)
            and schema.has(reference.target_table, reference.target_column)
        ):
            continue
        declared = any(
            r.check == "references" and r.name.startswith(f"{reference.table}.{reference.column} ")
            for r in rules
        )
        if not declared:
            rules.append(
                _reference_rule(
                    reference.table,
                    reference.column,
                    reference.target_table,
                    reference.target_column,
                )
            )
    return rules


def _reference_rule(table: str, column: str, target_table: str, target_column: str) -> Rule:
    alias = f"ref_{column}"
    return Rule(
        "references",
        table,
        f"{table}.{column} → {target_table}.{target_column}",
        f'"{table}"."{column}" IS NOT NULL AND {alias}."{target_column}" IS NULL',
        joins={
            alias: f'"{target_table}" AS {alias} '
            f'ON {alias}."{target_column}" = "{table}"."{column}"'
        },
    )


def _foreign_key_rules(schema: _Schema, table: str, model) -> list[Rule]:
    rules = []
    for fk in model._meta.local_concrete_fields:
        if not fk.is_relation or not fk.many_to_one:
            continue
        target = fk.target_field
        target_table = target.model._meta.db_table
        if schema.has(table, fk.column) and schema.has(target_table, target.column):
            rules.append(_reference_rule(table, fk.column, target_table, target.column))
    return rules


def _check_constraint_sql(connection, model, constraint) -> tuple[str, list]:
    query = Query(model)
    where = query.build_where(constraint.condition)
    return where.as_sql(query.get_compiler(connection=connection), connection)


def _is_enum_check(constraint) -> bool:
    children = constraint.condition.children
    return (
        len(children) == 1
        and isinstance(children[0], tuple)
        and children[0][0].endswith("__in")
        and not constraint.condition.negated
    )


def _value_rules(connection, schema: _Schema, table: str, model) -> list[Rule]:
    rules = []
    for f in model._meta.local_concrete_fields:
        if f.choices and not f.is_relation and schema.has(table, f.column):
            values = [value for value, _ in f.flatchoices]
            rules.append(
                Rule(
                    "values",
                    table,
                    f"{table}.{f.column} in ({', '.join(map(str, values))})",
                    f'NOT ("{table}"."{f.column}" = ANY(%s))',
                    [values],
                )
            )
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.CheckConstraint) or _is_enum_check(constraint):
            continue
        if constraint.name in COVERED_BY_DATE_RULES:
            continue
        columns = [
            model._meta.get_field(n).column for n in constraint.condition.referenced_base_fields
        ]
        if not schema.has(table, *columns):
            continue
        sql, params = _check_constraint_sql(connection, model, constraint)
        rules.append(
            Rule(
                "values",
                table,
                f"{constraint.name}: {_describe(constraint)}",
                f"({sql}) IS FALSE",
                list(params),
            )
        )
    return rules


def _describe(constraint) -> str:
    text = str(constraint.condition)
    return text.removeprefix("(AND: ").removesuffix(")") if text.startswith("(AND: ") else text


def _date_rules(schema: _Schema, table: str, model) -> list[Rule]:
    rules = []
    pairs = [(a, b) for t, a, b in DATE_ORDER if t == table]
    if schema.has(table, "created_at", "updated_at"):
        pairs.insert(0, ("created_at", "updated_at"))
    for earlier, later in pairs:
        if schema.has(table, earlier, later):
            rules.append(
                Rule(
                    "dates",
                    table,
                    f"{table}.{earlier} ≤ {later}",
                    f'"{table}"."{earlier}" > "{table}"."{later}"',
                )
            )
    moments = [
        f
        for f in model._meta.local_concrete_fields
        if isinstance(f, (models.DateTimeField, models.DateField))
        and not isinstance(f, models.GeneratedField)
        and (table, f.column) not in FUTURE_ALLOWED
        and schema.has(table, f.column)
    ]
    if moments:
        future = " OR ".join(
            f'"{table}"."{f.column}" > '
            + (
                f"now() + interval '{CLOCK_SKEW}'"
                if isinstance(f, models.DateTimeField)
                else "current_date + 1"
            )
            for f in moments
        )
        rules.append(
            Rule(
                "dates", table, f"{table}: no future {', '.join(f.column for f in moments)}", future
            )
        )
    return rules


def _check_rows(connection, schema: _Schema, report: ValidationReport) -> None:
    """Every row rule of every table, one scan per table; then the array references."""
    by_table: dict[str, list[Rule]] = {}
    for rule in _row_rules(connection, schema):
        by_table.setdefault(rule.table, []).append(rule)
    passed: dict[str, list[int]] = {}  # check -> [tables, rules, rows]
    for table, rules in sorted(by_table.items()):
        joins = {alias: join for rule in rules for alias, join in rule.joins.items()}
        select = ", ".join(["count(*)"] + [f"count(*) FILTER (WHERE {r.violation})" for r in rules])
        sql = f'SELECT {select} FROM "{table}" ' + " ".join(
            f"LEFT JOIN {join}" for join in joins.values()
        )
        params = [p for rule in rules for p in rule.params]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows, *violations = cursor.fetchone()
        pk = schema.models[table]._meta.pk.column
        for check in {r.check for r in rules}:
            failed = [
                (r, n) for r, n in zip(rules, violations, strict=True) if r.check == check and n
            ]
            for rule, count in failed:
                ids = _offending_ids(connection, table, pk, rule)
                report.add(
                    check,
                    FAIL,
                    table,
                    f"{rule.name}: {count:,} row{'s' if count != 1 else ''}{_sample(ids)}",
                    rule=rule.name,
                    count=count,
                    sample_ids=ids,
                )
            if not failed:
                totals = passed.setdefault(check, [0, 0, 0])
                totals[0] += 1
                totals[1] += sum(1 for r in rules if r.check == check)
                totals[2] += rows
    _check_array_references(connection, schema, report, passed)
    for check in ("references", "values", "dates"):
        if check in passed:
            tables, rules, rows = passed[check]
            report.add(check, PASS, detail=f"{rules} rules hold in {tables} tables ({rows:,} rows)")


def _offending_ids(connection, table: str, pk: str, rule: Rule) -> list[str]:
    joins = " ".join(f"LEFT JOIN {join}" for join in rule.joins.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{table}"."{pk}" FROM "{table}" {joins} WHERE {rule.violation} '
            f"ORDER BY 1 LIMIT {SAMPLE_SIZE}",
            rule.params,
        )
        return [str(value) for (value,) in cursor.fetchall()]


def _check_array_references(connection, schema, report, passed) -> None:
    for reference in UNENFORCED_REFERENCES:
        if not reference.array:
            continue
        table, column = reference.table, reference.column
        if not (
            schema.has(table, column)
            and schema.has(reference.target_table, reference.target_column)
        ):
            continue
        name = f"{table}.{column}[] → {reference.target_table}.{reference.target_column}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT s.id, count(*) OVER ()
                FROM "{table}" AS s
                WHERE EXISTS (
                    SELECT 1 FROM unnest(s."{column}") AS ref(value)
                    WHERE NOT EXISTS (
                        SELECT 1 FROM "{reference.target_table}" AS t
                        WHERE t."{reference.target_column}" = ref.value
                    )
                )
                ORDER BY s.id LIMIT {SAMPLE_SIZE}
                """
            )
            found = cursor.fetchall()
        if found:
            ids = [str(row[0]) for row in found]
            report.add(
                "references",
                FAIL,
                table,
                f"{name}: {found[0][1]:,} rows{_sample(ids)}",
                rule=name,
                count=found[0][1],
                sample_ids=ids,
            )
        else:
            totals = passed.setdefault("references", [0, 0, 0])
            totals[1] += 1


# --- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    column: str
    expected: str  # SQL over the aggregate `a` (and the row `s`)


SKILL_STATISTICS = (
    Statistic("usage_count", "coalesce(a.logs, 0)"),
    Statistic("success_count", "coalesce(a.successes, 0)"),
    Statistic("tokens_saved_success_sum", "coalesce(a.saved, 0)"),
    Statistic(
        "token_savings_avg", "coalesce((a.saved::numeric / nullif(a.successes, 0))::integer, 0)"
    ),
    Statistic(
        "effectiveness_score",
        "least(100, coalesce(round(100.0 * a.successes / nullif(a.logs, 0), 2), 0))",
    ),
)
SKILL_AGGREGATE = """
    SELECT skill_id AS parent, count(*) AS logs, count(*) FILTER (WHERE success) AS successes,
           coalesce(sum(tokens_saved) FILTER (WHERE success), 0) AS saved
    FROM skill_usage_logs GROUP BY skill_id
"""
TEMPLATE_STATISTICS = (
    Statistic("usage_count", "coalesce(a.logs, 0)"),
    Statistic("rated_count", "coalesce(a.rated, 0)"),
    Statistic("satisfaction_sum", "coalesce(a.satisfaction, 0)"),
    Statistic(
        "effectiveness_score",
        "CASE WHEN a.rated > 0 THEN round(a.satisfaction::numeric / a.rated / 5 * 100, 2) "
        "ELSE 0 END",
    ),
)
TEMPLATE_AGGREGATE = """
    SELECT template_id AS parent, count(*) AS logs, count(user_satisfaction_score) AS rated,
           coalesce(sum(user_satisfaction_score), 0) AS satisfaction
    FROM template_usage_logs GROUP BY template_id
"""


def _check_statistics(connection, schema: _Schema, report: ValidationReport) -> None:
    for table, logs, aggregate, statistics in (
        ("skills", "skill_usage_logs", SKILL_AGGREGATE, SKILL_STATISTICS),
        ("romanian_templates", "template_usage_logs", TEMPLATE_AGGREGATE, TEMPLATE_STATISTICS),
    ):
        kept = [s for s in statistics if schema.has(table, s.column)]
        if not schema.has(table) or not schema.has(logs) or not kept:
            report.add("statistics", SKIP, table, "statistics columns or log table missing")
            continue
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
            if not cursor.fetchone()[0]:
                report.add("statistics", SKIP, table, "table is empty")
                continue
            differs = [f's."{s.column}" IS DISTINCT FROM ({s.expected})' for s in kept]
            cursor.execute(
                f"""
                SELECT count(*), {
                    ", ".join(
                        f"count(*) FILTER (WHERE {d}), "
                        f"(array_agg(s.id ORDER BY s.id) FILTER (WHERE {d}))[1:{SAMPLE_SIZE}]"
                        for d in differs
                    )
                }
                FROM "{table}" AS s LEFT JOIN ({aggregate}) AS a ON a.parent = s.id
                """
            )
            total, *found = cursor.fetchone()
        failed = False
        for statistic, count, ids in zip(kept, found[0::2], found[1::2], strict=True):
            if count:
                failed = True
                ids = [str(i) for i in ids]
                rule = f"{table}.{statistic.column} = aggregate of {logs}"
                report.add(
                    "statistics",
                    FAIL,
                    table,
                    f"{rule}: {count} rows{_sample(ids)}",
                    rule=rule,
                    count=count,
                    sample_ids=ids,
                )
        if not failed:
            report.add(
                "statistics",
                PASS,
                table,
                f"{', '.join(s.column for s in kept)} match {logs} ({total} rows)",
            )


def _check_daily_usage(connection, schema: _Schema, report: ValidationReport) -> None:
    """The daily rollup the admin's analytics read equals a daily aggregate of the logs."""
    table = "skill_usage_daily"
    if not schema.has(table) or not schema.has("skill_usage_logs"):
        report.add("statistics", SKIP, table, "rollup or log table missing")
        return
    mismatches = daily_usage_mismatches(using=connection.alias)
    if not mismatches:
        report.add("statistics", PASS, table, "daily figures match skill_usage_logs")
        return
    rule = f"{table} = daily aggregate of skill_usage_logs"
    ids = [f"{skill_id}/{day}" for skill_id, day, *_ in mismatches[:SAMPLE_SIZE]]
    report.add(
        "statistics",
        FAIL,
        table,
        f"{rule}: {len(mismatches)} skill-days{_sample(ids)}",
        rule=rule,
        count=len(mismatches),
        sample_ids=ids,
    )


def _check_case_search(connection, schema: _Schema, report: ValidationReport) -> None:
    """The words search_cases reads (cases.search_vector, case_search_words) are those the
    triggers would keep."""
    table = "case_search_words"
    if not schema.has(table) or not schema.has("cases", "search_vector"):
        report.add("statistics", SKIP, table, "search words not migrated")
        return
    drift = case_search_drift(using=connection.alias, sample=SAMPLE_SIZE)
    wrong = {kind: found for kind, found in drift.items() if found[0]}
    if not wrong:
        report.add("statistics", PASS, table, "the words of every case, and only those, listed")
        return
    rule = (
        f"cases.search_vector and {table} = the words of number, title and client's name"
        " (repair: cases.services.refresh_case_search)"
    )
    ids = [f"{kind}: {item}" for kind, (_, items) in wrong.items() for item in items]
    counts = ", ".join(f"{count} {kind}" for kind, (count, _) in wrong.items())
    report.add(
        "statistics",
        FAIL,
        table,
        f"{rule}: {counts}{_sample(ids[:SAMPLE_SIZE])}",
        rule=rule,
        count=sum(count for count, _ in wrong.values()),
        sample_ids=ids[:SAMPLE_SIZE],
    )


# --- the demo dataset (--expect-seed) -------------------------------------------------------------

DIACRITICS = set("ăâîșțĂÂÎȘȚ")
FIVE_MB, HUNDRED_KB = 5 * 1024 * 1024, 100 * 1024


def _due_bucket(days: float) -> str:
    """schema.md's due-date groups, in days from the day the demo was seeded."""
    if days < 0:
        return "overdue"
    if days < 7:
        return "within 7 days"
    return "in 7-30 days" if days <= 30 else "later"


def _document_traits(documents: Iterable[dict]) -> Counter:
    traits = Counter()
    for d in documents:
        traits["AI-generated"] += bool(d["ai_generated"])
        traits["several versions"] += d["version"] > 1
        traits["over 5 MB"] += d["file_size_bytes"] > FIVE_MB
        traits["under 100 KB"] += d["file_size_bytes"] < HUNDRED_KB
        traits["diacritic file name"] += bool(DIACRITICS & set(d["file_name"]))
        traits["empty content"] += d["content"] == ""
        traits["title over 200 characters"] += len(d["title"]) > 200
    return traits


def _check_demo_dataset(connection, report: ValidationReport, fixtures_dir) -> None:
    """The demo firm's rows against the demo data files: counts and every distribution."""
    from cases.models import Document, Firm, Task, User
    from ops.seeding.demo import SeedError, load_demo_data
    from skills.models import Skill, SkillUsageLog

    try:
        data = load_demo_data(fixtures_dir)
    except SeedError as exc:
        report.add("demo", FAIL, detail=str(exc), rule="demo data files readable")
        return
    using = connection.alias
    firm = Firm.objects.using(using).filter(vat_id=data.firm["vat_id"]).first()
    if firm is None:
        report.add(
            "demo",
            FAIL,
            "firms",
            f"no firm with VAT id {data.firm['vat_id']}",
            rule="demo firm exists",
        )
        return
    users = User.objects.using(using).filter(firm=firm)
    documents = Document.objects.using(using).filter(case__firm=firm)
    tasks = Task.objects.using(using).filter(case__firm=firm)
    seeded_at = tasks.order_by("updated_at").values_list("updated_at", flat=True).first()
    expectations = [
        (
            "users",
            "email",
            Counter(u["email"] for u in data.users),
            Counter(users.values_list("email", flat=True)),
        ),
        (
            "users",
            "status",
            Counter(u["status"] for u in data.users),
            Counter(users.values_list("status", flat=True)),
        ),
        (
            "users",
            "role",
            Counter(u["role"] for u in data.users),
            Counter(users.values_list("role", flat=True)),
        ),
    ]
    cases = firm.cases.using(using)
    for column in ("case_number", "status", "case_type", "priority"):
        key = column if column != "case_number" else "case_number"
        expectations.append(
            (
                "cases",
                column,
                Counter(c[key] for c in data.cases),
                Counter(cases.values_list(column, flat=True)),
            )
        )
    for column in ("document_type", "status"):
        expectations.append(
            (
                "documents",
                column,
                Counter(d[column] for d in data.documents),
                Counter(documents.values_list(column, flat=True)),
            )
        )
    stored = documents.values(
        "ai_generated", "version", "file_size_bytes", "file_name", "content", "title"
    )
    expectations.append(
        (
            "documents",
            "edge cases",
            _document_traits(
                {**d, "content": d.get("content", ""), "version": d.get("version", 1)}
                for d in data.documents
            ),
            _document_traits(stored),
        )
    )
    expectations.append(
        (
            "documents",
            "embedding",
            Counter({"embedded": len(data.documents)}),
            Counter({"embedded": documents.filter(content_embedding__isnull=False).count()}),
        )
    )
    for column in ("task_type", "status"):
        expectations.append(
            (
                "tasks",
                column,
                Counter(t[column] for t in data.tasks),
                Counter(tasks.values_list(column, flat=True)),
            )
        )
    expectations.append(
        (
            "tasks",
            "unassigned",
            Counter({"unassigned": sum(t.get("assigned_to") is None for t in data.tasks)}),
            Counter({"unassigned": tasks.filter(assigned_to_user__isnull=True).count()}),
        )
    )
    if seeded_at:
        due = [
            (d - seeded_at) / timedelta(days=1)
            for d in tasks.values_list("due_date", flat=True)
            if d
        ]
        expectations.append(
            (
                "tasks",
                "due date from seeding",
                Counter(_due_bucket(t["due_in_days"] + 0.5) for t in data.tasks),
                Counter(_due_bucket(days) for days in due),
            )
        )
    skills = Skill.objects.using(using).filter(skill_id__in=data.skill_ids)
    expectations.append(
        (
            "skills",
            "skill_id",
            Counter(data.skill_ids),
            Counter(skills.values_list("skill_id", flat=True)),
        )
    )
    expectations.append(
        (
            "skill_versions",
            "per skill",
            Counter({s["skill_id"]: len(s["versions"]) for s in data.skills}),
            Counter(skills.values_list("skill_id", flat=True).filter(versions__isnull=False)),
        )
    )
    logs = SkillUsageLog.objects.using(using).filter(workspace_id=firm.id)
    expectations.append(
        (
            "skill_usage_logs",
            "per skill",
            Counter({s["skill_id"]: s["usage"]["logs"] for s in data.skills}),
            Counter(logs.values_list("skill__skill_id", flat=True)),
        )
    )
    failed = 0
    for table, what, expected, found in expectations:
        if +expected != +found:
            failed += 1
            missing = sorted(str(k) for k in (expected - found))[:SAMPLE_SIZE]
            report.add(
                "demo",
                FAIL,
                table,
                f"{what}: expected {_counts(expected)}, found {_counts(found)}",
                rule=f"demo {table} {what}",
                count=sum(((expected - found) + (found - expected)).values()),
                sample_ids=missing,
            )
    if not failed:
        report.add(
            "demo",
            PASS,
            detail=f"{len(expectations)} distributions of the demo firm match the data files",
        )


def _counts(counter: Counter) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=str)) + "}"
