"""`validate_database`: the integrity of the whole database as a PASS / FAIL / SKIP report, for
`manage.py validate` and the check after a restore. It runs, in one read-only snapshot, every
check the apps registered (core.integrity) after the connection's own; each check runs in a
savepoint, so a query that fails spoils only its own line."""

from __future__ import annotations

import time
from pathlib import Path

from django.db import DatabaseError, connections, transaction

from core.integrity import (
    CHECKS,
    FAIL,
    PASS,
    SKIP,
    CheckResult,
    Database,
    Schema,
    ValidationReport,
    registry,
)

MINIMUM_SERVER_VERSION = 140000


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
        database = Database(connection, Schema.read(connection))
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


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
