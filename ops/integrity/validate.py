"""`validate_database`: the integrity of the whole database as a PASS / FAIL / SKIP report, for
`manage.py validate` and the check after a restore. It runs, in one read-only snapshot, every
check the apps registered (core.integrity) after the connection's own; each check runs in a
savepoint, so a query that fails spoils only its own line.

Before the snapshot, each ledger an app registered (core.integrity.Ledger: the closed months of
the usage logs) re-verifies and records the closed parts that changed since their record (all
of them with `full`); in the snapshot the checks take the parts whose records still hold from
the records and read only the rest, so that a run costs what changed, not the history."""

from __future__ import annotations

import time
from pathlib import Path

from django.db import DatabaseError, connections, transaction

from core.integrity import (
    CHECKS,
    FAIL,
    PASS,
    RECORDED,
    SKIP,
    CheckResult,
    Database,
    PartResult,
    Schema,
    ValidationReport,
    for_long_scans,
    registry,
)
from ops.integrity.rows import rule_set

MINIMUM_SERVER_VERSION = 140000


def validate_database(
    using: str = "default",
    *,
    expect_seed: bool = False,
    fixtures_dir: Path | str | None = None,
    full: bool = False,
) -> ValidationReport:
    """Check the database `using` and return the report; never raises for what it finds.

    The closed parts the apps record (core.integrity.Ledger: the usage logs' months) are read
    again only if they changed since they were verified; with `full`, every one is. With
    `expect_seed`, also compare the demo firm's data with the demo data files.
    """
    connection = connections[using]
    report = ValidationReport(database=connection.settings_dict["NAME"], full=full)
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

    verified = _verify_closed_parts(connection, full, report)
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if outermost:  # one snapshot for every check, and no writes by mistake
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for_long_scans(cursor)
        database = Database(connection, Schema.read(connection))
        # The records that still hold, judged by counters read after the snapshot began: a
        # write the snapshot sees has changed them (once counted), so its part is read.
        report.parts = _recorded_parts(database, verified)
        steps = registry.ordered_checks()
        if expect_seed:
            from ops.integrity.demo import demo_dataset

            steps.append(("demo", lambda database: demo_dataset(database, fixtures_dir)))
        for kind, check in steps:
            try:
                with transaction.atomic(using=using):  # a failed query spoils only this step
                    report.results += list(check(database))
            except DatabaseError as exc:
                report.results.append(
                    CheckResult(kind, FAIL, detail=f"could not run: {_first_line(exc)}")
                )
    report.seconds = time.monotonic() - started
    return report


# SQLSTATEs of a database validate may read but not write: read_only_sql_transaction (a
# standby, default_transaction_read_only) and insufficient_privilege.
CANNOT_WRITE = {"25006", "42501"}


def _verify_closed_parts(
    connection, full: bool, report: ValidationReport
) -> dict[tuple[str, str], PartResult]:
    """Before the snapshot: each ledger re-verifies and records the closed parts whose record
    does not hold (all with `full`), each part in a transaction of its own. Each reads the
    counters before the rows, which needs a new snapshot per statement: inside a transaction
    of another isolation, or where nothing can be written, nothing is recorded (the parts are
    then read in the snapshot)."""
    if not registry.ledgers:
        return {}
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('transaction_isolation')")
            if cursor.fetchone()[0] != "read committed":
                return {}
    verified = {}
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            for_long_scans(cursor)
        database = Database(connection, Schema.read(connection))
    for ledger in registry.ledgers:
        if not database.schema.has(ledger.table):
            continue
        try:
            parts = ledger.verify(database, rule_set(database, ledger.table), full=full)
        except DatabaseError as exc:  # the parts are read in the snapshot
            if getattr(exc.__cause__, "sqlstate", None) not in CANNOT_WRITE:
                report.add(
                    "statistics", FAIL, ledger.table, f"could not record: {_first_line(exc)}"
                )
            continue
        verified.update({(part.table, part.part): part for part in parts})
    return verified


def _recorded_parts(database: Database, verified: dict) -> list[PartResult]:
    """Fill `database.recorded` from each ledger; every closed part, as re-verified before
    the snapshot, taken from its record, or read."""
    parts = []
    for ledger in registry.ledgers:
        if not database.schema.has(ledger.table):
            continue
        try:
            with transaction.atomic(using=database.alias):
                rules = rule_set(database, ledger.table)
                database.recorded[ledger.table] = ledger.recorded(database, rules)
                closed = ledger.closed_parts(database)
        except DatabaseError:  # the checks then read every row
            database.recorded.pop(ledger.table, None)
            continue
        for part in closed:
            again = verified.get((part.table, part.part))
            parts.append(again if again and part.status == RECORDED else part)
    return parts


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
