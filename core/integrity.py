"""The integrity checks' registry, in the spirit of Django's system checks: each app registers
the checks of its own rules (statistics kept by its triggers, references its tables hold without
a foreign key, dates that must come in order), and `validate` runs them all, in one snapshot, as
a PASS / FAIL / SKIP report. An app may also keep a ledger of the closed parts of a partitioned
table (months of logs), whose checks are recorded and read again only when a part changes.
This module holds what the apps and the runner share; the runner
and the checks every schema has (migrations, extensions, tables, row rules) are in ops.integrity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from django.apps import apps
from django.db import models

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# The kinds of check, in the order the report lists them.
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
class PartResult:
    """How a run checked one closed part (a month) of a partitioned table: `re-verified` (its
    rows read and recorded before the snapshot), `recorded` (taken from the record: unchanged
    since `verified_at`), or `read` (its rows read in the snapshot, nothing recorded: changed
    meanwhile, a rule failed, or the record could not be written)."""

    table: str
    part: str
    status: str
    rows: int | None = None
    verified_at: str | None = None
    seconds: float | None = None


RE_VERIFIED, RECORDED, READ = "re-verified", "recorded", "read"


@dataclass
class ValidationReport:
    database: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    full: bool = False
    parts: list[PartResult] = field(default_factory=list)

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
            "full": self.full,
            "parts": [asdict(p) for p in self.parts],
        }


def failed(check: str, target: str, rule: str, count: int, ids: Iterable, unit: str = "rows"):
    """The FAIL of `rule` on `target`: how many offend and the first of them."""
    ids = [str(i) for i in ids][:SAMPLE_SIZE]
    return CheckResult(
        check,
        FAIL,
        target,
        f"{rule}: {count:,} {unit}{sample(ids)}",
        rule=rule,
        count=count,
        sample_ids=ids,
    )


def sample(ids: Iterable) -> str:
    """` (ids: a, b)` for a detail, or nothing."""
    ids = [str(i) for i in ids]
    return f" (ids: {', '.join(ids)})" if ids else ""


# --- what a check sees ----------------------------------------------------------------------------


@dataclass
class Schema:
    """The tables and views the code expects, and which of them (and their columns) exist."""

    models: dict[str, type[models.Model]]  # table -> model, for managed tables
    views: list[str]
    columns: dict[str, set[str]]  # relation -> columns, as in the database

    @classmethod
    def read(cls, connection) -> Schema:
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


@dataclass(frozen=True)
class RecordedPart:
    """The closed parts of a partitioned table that a run takes from their records (verified
    before, their partitions unchanged since): `ids` of the records, `rows` they hold; the rows
    outside them satisfy `scan` (SQL over the table with `params`); `keys` is SQL of a relation
    named as the table with the recorded distinct values of one referencing column (`{column}`
    formatted in; params: `ids`, the column's name), on which a reference rule is checked for
    the recorded parts."""

    table: str
    ids: list[int]
    rows: int
    scan: str
    params: list
    keys: str


@dataclass(frozen=True)
class RuleSet:
    """The row rules of one table as a ledger needs them: a fingerprint (a record made under
    other rules is not taken), the referencing columns whose keys it records, and `hold(where,
    params)`: whether every rule holds for the rows matching `where`."""

    fingerprint: str
    key_columns: list[str]
    hold: Callable[[str, list], bool]


class Ledger(Protocol):
    """An app's record of the closed parts of one partitioned table (core.integrity.ledger)."""

    table: str

    def verify(self, database: Database, rules: RuleSet, *, full: bool) -> list[PartResult]:
        """Before the snapshot: read and record each closed part whose record is not true any
        more (every one if `full`); the parts it re-verified or could not record."""

    def recorded(self, database: Database, rules: RuleSet) -> RecordedPart:
        """In the snapshot: the parts whose records hold."""

    def closed_parts(self, database: Database) -> list[PartResult]:
        """In the snapshot: every closed part, `recorded` or `read`, with its rows if known."""


@dataclass(frozen=True)
class Database:
    """What a check is given: the connection (inside the report's read-only snapshot) and the
    schema as it is, to skip what is not migrated; `recorded` the parts of partitioned tables
    taken from their records (by table), which the checks add instead of reading."""

    connection: object
    schema: Schema
    recorded: dict[str, RecordedPart] = field(default_factory=dict)

    @property
    def alias(self) -> str:
        return self.connection.alias

    def cursor(self):
        return self.connection.cursor()


# --- what the apps declare ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A column that points at rows of another table without a foreign key in the database."""

    table: str
    column: str
    target_table: str
    target_column: str = "id"
    array: bool = False


@dataclass(frozen=True)
class DateOrder:
    """`earlier` ≤ `later` in every row of `table`; `constraint` names a check constraint that
    says the same (reported once, as this date rule)."""

    table: str
    earlier: str
    later: str
    constraint: str | None = None


Check = Callable[[Database], Iterable[CheckResult]]


@dataclass
class Registry:
    """Every app's integrity checks and row-rule declarations."""

    checks: list[tuple[str, Check]] = field(default_factory=list)
    ledgers: list[Ledger] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    date_orders: list[DateOrder] = field(default_factory=list)
    future_allowed: set[tuple[str, str]] = field(default_factory=set)

    def register(self, kind: str) -> Callable[[Check], Check]:
        """Decorator: `check(database)` yields CheckResults of `kind` (one of CHECKS)."""
        if kind not in CHECKS:
            raise ValueError(f"unknown kind of integrity check {kind!r}; one of {CHECKS}")

        def decorator(check: Check) -> Check:
            if (kind, check) not in self.checks:
                self.checks.append((kind, check))
            return check

        return decorator

    def ledger(self, ledger: Ledger) -> Ledger:
        """Record the closed parts of `ledger.table`, so that a run reads only what changed."""
        if all(existing.table != ledger.table for existing in self.ledgers):
            self.ledgers.append(ledger)
        return ledger

    def declare(
        self,
        *,
        references: Iterable[Reference] = (),
        date_orders: Iterable[DateOrder] = (),
        future_allowed: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Row rules of an app's tables: references without a foreign key, dates in order, and
        the (table, column) whose times may lie ahead (deadlines, hearings)."""
        self.references += [r for r in references if r not in self.references]
        self.date_orders += [d for d in date_orders if d not in self.date_orders]
        self.future_allowed |= set(future_allowed)

    def ordered_checks(self) -> list[tuple[str, Check]]:
        """The checks in the report's order of kinds, each kind in the order registered."""
        return sorted(self.checks, key=lambda item: CHECKS.index(item[0]))


registry = Registry()
register = registry.register
ledger = registry.ledger
declare = registry.declare


def for_long_scans(cursor) -> None:
    """In the transaction of `cursor`: no statement timeout, and memory for hash joins."""
    cursor.execute("SET LOCAL statement_timeout = 0")
    # Hash joins keep the referenced tables' keys in memory (10 million rows: about 30 MB).
    cursor.execute("SET LOCAL work_mem = '64MB'")


# --- a check the apps share -----------------------------------------------------------------------


def stored_statistics_match(
    database: Database,
    *,
    table: str,
    logs: str,
    totals: str,
    expected: dict[str, str],
    stored: str | None = None,
) -> list[CheckResult]:
    """The statistics columns of `table` kept by triggers from `logs` against their value from
    the logs: `totals` is SQL giving one row per parent (`parent`, then its totals), `expected`
    maps each column to SQL over those totals (`a`) and the stored row (`s`), read from `stored`
    (a view of `table` whose statistics are as readers see them; default `table` itself). Read
    in one statement; one FAIL per column that differs somewhere, naming the first rows."""
    stored = stored or table
    kept = {column: sql for column, sql in expected.items() if database.schema.has(stored, column)}
    if not database.schema.has(stored) or not database.schema.has(logs) or not kept:
        return [CheckResult("statistics", SKIP, table, "statistics columns or log table missing")]
    with database.cursor() as cursor:
        cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{stored}")')
        if not cursor.fetchone()[0]:
            return [CheckResult("statistics", SKIP, table, "table is empty")]
        differs = [f's."{column}" IS DISTINCT FROM ({sql})' for column, sql in kept.items()]
        per_column = ", ".join(
            f"count(*) FILTER (WHERE {d}), "
            f"(array_agg(s.id ORDER BY s.id) FILTER (WHERE {d}))[1:{SAMPLE_SIZE}]"
            for d in differs
        )
        cursor.execute(
            f'SELECT count(*), {per_column} FROM "{stored}" AS s '
            f"LEFT JOIN ({totals}) AS a ON a.parent = s.id"
        )
        total, *found = cursor.fetchone()
    results = [
        failed("statistics", table, f"{table}.{column} = aggregate of {logs}", count, ids)
        for column, count, ids in zip(kept, found[0::2], found[1::2], strict=True)
        if count
    ]
    return results or [
        CheckResult("statistics", PASS, table, f"{', '.join(kept)} match {logs} ({total} rows)")
    ]
