"""`manage.py reset_db`: a development database dropped, created again empty, migrated and
(unless asked not to) seeded, like `prisma migrate reset` or `rails db:reset`. Refuses anything
that looks like production, as seed does."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from django.core.management import call_command
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

from core.progress import ProgressFactory, no_progress
from ops.safety import database_label, production_reason
from ops.seeding.demo import SeedReport, seed_database


class ResetError(Exception):
    """The reset was refused or failed; the message is one line saying why."""


@dataclass(frozen=True)
class ResetReport:
    database: str  # name on host
    migrations: int  # applied after the reset
    seed: SeedReport | None  # None with seed=False


def check_resettable(using: str = "default") -> None:
    """ResetError unless the database `using` may be reset (it does not look like production)."""
    if reason := production_reason(using):
        raise ResetError(f"refusing to reset: {reason}; reset_db is for development databases")


def reset_database(
    *,
    using: str = "default",
    seed: bool = True,
    seed_using: str | None = None,
    progress: ProgressFactory = no_progress,
) -> ResetReport:
    """Drop the database `using` (its other connections ended), create it again, apply every
    migration and, with `seed`, seed the demo dataset through `seed_using` (the same database
    through PgBouncer when `using` is its direct alias; else `using`). ResetError, with nothing
    dropped, for a database that looks like production."""
    check_resettable(using)
    connection = connections[using]
    connection.ensure_connection()  # the embedded server started, its host and port known
    label, name = database_label(using), connection.settings_dict["NAME"]
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in ("context", "cursor_factory", "dbname")
    }
    connection.close()
    if connection.pool is not None:
        connection.close_pool()
    try:
        params.update(dbname="postgres", autocommit=True, prepare_threshold=None)
        with psycopg.connect(**params) as server:
            database = sql.Identifier(name)
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
            server.execute(sql.SQL("CREATE DATABASE {}").format(database))
    except psycopg.Error as exc:
        raise ResetError(f"could not drop and create {label}: {str(exc).strip()}") from None
    call_command("migrate", database=using, interactive=False, verbosity=0)
    migrations = len(MigrationRecorder(connections[using]).applied_migrations())
    report = seed_database(using=seed_using or using, progress=progress) if seed else None
    return ResetReport(database=label, migrations=migrations, seed=report)
