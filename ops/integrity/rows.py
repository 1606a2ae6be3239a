"""The row rules of every table, set-based: each foreign key and each reference the apps declare
without one (core.integrity.declare), each choice and check constraint of the models, and each
date rule (created ≤ updated, the declared orders, nothing in the future but what may be). Every
table is read once, with all its rules as filtered counts over hash joins, so ten million rows
take seconds, not minutes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db import models
from django.db.models.sql import Query

from core.integrity import (
    PASS,
    SAMPLE_SIZE,
    CheckResult,
    Database,
    RecordedPart,
    Reference,
    RuleSet,
    declare,
    failed,
    register,
    registry,
)

# Timestamps may lie this far ahead of the server's clock (clients with a skewed clock).
CLOCK_SKEW = "5 minutes"

# Django's database sessions, should they be used, expire later.
declare(future_allowed=[("django_session", "expire_date")])


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
    column: str = ""  # of a reference rule: the referencing column


@register("references")
def row_rules(database: Database) -> list[CheckResult]:
    """Every row rule of every table, one scan per table (of a table with recorded parts, the
    rows outside them, and its references on their recorded keys); then the array references."""
    schema, results = database.schema, []
    by_table: dict[str, list[Rule]] = {}
    for rule in _row_rules(database):
        by_table.setdefault(rule.table, []).append(rule)
    passed: dict[str, list[int]] = {}  # check -> [tables, rules, rows]
    for table, rules in sorted(by_table.items()):
        part = database.recorded.get(table)
        if part is not None and part.ids:
            rows, violations = _recorded_violations(database, part, rules)
            if any(violations):  # counted again over every row: the report names rows, not keys
                rows, violations = _violations(database, table, rules)
        else:
            rows, violations = _violations(database, table, rules)
        pk = schema.models[table]._meta.pk.column
        for check in {r.check for r in rules}:
            offending = [
                (r, n) for r, n in zip(rules, violations, strict=True) if r.check == check and n
            ]
            for rule, count in offending:
                ids = _offending_ids(database, table, pk, rule)
                results.append(failed(check, table, rule.name, count, ids, _rows(count)))
            if not offending:
                totals = passed.setdefault(check, [0, 0, 0])
                totals[0] += 1
                totals[1] += sum(1 for r in rules if r.check == check)
                totals[2] += rows
    results += _array_references(database, passed)
    for check in ("references", "values", "dates"):
        if check in passed:
            tables, rules, rows = passed[check]
            results.append(
                CheckResult(
                    check, PASS, detail=f"{rules} rules hold in {tables} tables ({rows:,} rows)"
                )
            )
    return results


def _violations(
    database: Database, table: str, rules: list[Rule], where: str = "", params: list = ()
) -> tuple[int, list[int]]:
    """The rows of `table` (those matching `where`) and how many break each rule, in one scan."""
    joins = {alias: join for rule in rules for alias, join in rule.joins.items()}
    select = ", ".join(["count(*)"] + [f"count(*) FILTER (WHERE {r.violation})" for r in rules])
    sql = f'SELECT {select} FROM "{table}" ' + " ".join(
        f"LEFT JOIN {join}" for join in joins.values()
    )
    with database.cursor() as cursor:
        cursor.execute(
            sql + (f" WHERE {where}" if where else ""),
            [p for rule in rules for p in rule.params] + list(params),
        )
        rows, *violations = cursor.fetchone()
    return rows, violations


def _recorded_violations(database: Database, part: RecordedPart, rules: list[Rule]):
    """As _violations, the recorded parts taken from their records: their rows counted, the
    rules they held when verified hold still (the record's fingerprint is these rules'), but a
    reference may have lost its target since: those are checked on the recorded keys."""
    rows, violations = _violations(database, part.table, rules, part.scan, part.params)
    for index, rule in enumerate(rules):
        if rule.column:
            with database.cursor() as cursor:
                cursor.execute(
                    f"SELECT count(*) FROM {part.keys.format(column=rule.column)} "
                    + " ".join(f"LEFT JOIN {join}" for join in rule.joins.values())
                    + f" WHERE {rule.violation}",
                    [part.ids, rule.column] + rule.params,
                )
                violations[index] += cursor.fetchone()[0]
    return rows + part.rows, violations


def rule_set(database: Database, table: str) -> RuleSet:
    """The row rules of `table` for a ledger of its parts (core.integrity.RuleSet)."""
    rules = [rule for rule in _row_rules(database) if rule.table == table]
    text = "\n".join(f"{r.name}: {r.violation} {r.params!r}" for r in rules)

    def hold(where: str, params: list) -> bool:
        return not any(_violations(database, table, rules, where, params)[1])

    return RuleSet(
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        key_columns=sorted({rule.column for rule in rules if rule.column}),
        hold=hold,
    )


def _rows(count: int) -> str:
    return "row" if count == 1 else "rows"


def _row_rules(database: Database) -> list[Rule]:
    schema, rules = database.schema, []
    for table, model in schema.present_models():
        rules += _foreign_key_rules(schema, table, model)
        rules += _value_rules(database.connection, schema, table, model)
        rules += _date_rules(schema, table, model)
    for reference in registry.references:
        if reference.array:
            continue  # one query of its own each: see _array_references
        if not _both_ends(schema, reference):
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


def _both_ends(schema, reference: Reference) -> bool:
    return schema.has(reference.table, reference.column) and schema.has(
        reference.target_table, reference.target_column
    )


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
        column=column,
    )


def _foreign_key_rules(schema, table: str, model) -> list[Rule]:
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


def _value_rules(connection, schema, table: str, model) -> list[Rule]:
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
    covered = {order.constraint for order in registry.date_orders if order.constraint}
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.CheckConstraint) or _is_enum_check(constraint):
            continue
        if constraint.name in covered:  # reported as the date rule that says the same
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


def _date_rules(schema, table: str, model) -> list[Rule]:
    rules = []
    pairs = [(o.earlier, o.later) for o in registry.date_orders if o.table == table]
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
        and (table, f.column) not in registry.future_allowed
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


def _offending_ids(database: Database, table: str, pk: str, rule: Rule) -> list[str]:
    joins = " ".join(f"LEFT JOIN {join}" for join in rule.joins.values())
    with database.cursor() as cursor:
        cursor.execute(
            f'SELECT "{table}"."{pk}" FROM "{table}" {joins} WHERE {rule.violation} '
            f"ORDER BY 1 LIMIT {SAMPLE_SIZE}",
            rule.params,
        )
        return [str(value) for (value,) in cursor.fetchall()]


def _array_references(database: Database, passed) -> list[CheckResult]:
    results = []
    for reference in registry.references:
        if not reference.array or not _both_ends(database.schema, reference):
            continue
        table, column = reference.table, reference.column
        name = f"{table}.{column}[] → {reference.target_table}.{reference.target_column}"
        with database.cursor() as cursor:
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
            results.append(failed("references", table, name, found[0][1], [r[0] for r in found]))
        else:
            totals = passed.setdefault("references", [0, 0, 0])
            totals[1] += 1
    return results
