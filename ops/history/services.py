"""Write side of the migration bookkeeping: records each project migration's checksum and apply
and rollback times (from the post_migrate signal), and rolls back the last migrations safely,
refusing irreversible ones before anything changes and taking a backup first."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from django.core.management import call_command
from django.db import connections
from django.db.migrations import Migration
from django.db.migrations.exceptions import NodeNotFoundError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import SeparateDatabaseAndState
from django.utils import timezone

from core.progress import ProgressFactory, no_progress
from legalplatform.db.transactions import atomic_without_statement_timeout
from ops.backup.create import BackupError, create_backup
from ops.history.selectors import (
    MigrationKey,
    applied_migrations,
    disk_migrations,
    file_checksum,
    migration_file,
    project_app_labels,
    records_table_exists,
)
from ops.models import MigrationRecord

# --- Recording ----------------------------------------------------------------------------------


def record_migration_plan(sender=None, *, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate receiver: note what this `migrate` applied (with the file's checksum) and
    rolled back, then back-fill records for migrations applied before the table existed.

    `plan` holds (migration, backwards) pairs; `flush` sends the signal without one.
    """
    if not records_table_exists(using):  # ops.0002 is not applied (or was just rolled back)
        return
    labels = project_app_labels()
    applied = applied_migrations(labels, using)
    now = timezone.now()
    forwards, backwards = [], []
    for migration, is_backwards in plan or ():
        if migration.app_label not in labels:
            continue
        if is_backwards:  # an existing record keeps its checksum and applied time
            record = _record_for(migration, applied_at=None)
            record.rolled_back_at = now
            backwards.append(record)
        else:
            key = (migration.app_label, migration.name)
            forwards.append(_record_for(migration, applied_at=applied.get(key, now)))
    records = MigrationRecord.objects.using(using)
    unique = ["app", "name"]
    if forwards:
        records.bulk_create(
            forwards,
            update_conflicts=True,
            unique_fields=unique,
            update_fields=["checksum", "steps", "applied_at", "rolled_back_at"],
        )
    if backwards:
        records.bulk_create(
            backwards, update_conflicts=True, unique_fields=unique, update_fields=["rolled_back_at"]
        )
    backfill_migration_records(using, applied=applied)


def backfill_migration_records(
    using: str = "default", *, applied: dict[MigrationKey, datetime] | None = None
) -> int:
    """Create the missing records of applied project migrations, with the checksum of the file
    as it is now (an unknown one when the file is gone); return how many were created."""
    labels = project_app_labels()
    applied = applied_migrations(labels, using) if applied is None else applied
    records = MigrationRecord.objects.using(using)
    known = set(records.values_list("app", "name"))
    if known >= applied.keys():  # the common case: no files to read
        return 0
    on_disk = disk_migrations(labels)
    missing = []
    for key, applied_at in applied.items():
        if key in known:
            continue
        if key in on_disk:
            missing.append(_record_for(on_disk[key], applied_at=applied_at))
        else:
            missing.append(MigrationRecord(app=key[0], name=key[1], applied_at=applied_at))
    records.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def _record_for(migration: Migration, *, applied_at: datetime | None) -> MigrationRecord:
    return MigrationRecord(
        app=migration.app_label,
        name=migration.name,
        checksum=file_checksum(migration_file(migration)),
        steps=len(migration.operations),
        applied_at=applied_at,
        rolled_back_at=None,
    )


# --- Undo ---------------------------------------------------------------------------------------


class UndoRefused(Exception):
    """The undo cannot go ahead; nothing was changed. The message is one line."""


class UndoFailed(Exception):
    """The undo started and failed; the message says what state the database is in."""


@dataclass(frozen=True)
class UndoPlan:
    """What `undo_migrations` will do: `migrate APP TARGET` for each target, which unapplies
    `migrations` (including other apps' migrations that depend on them) in that order."""

    targets: list[tuple[str, str | None]]  # (app, migration to keep) or (app, None) for zero
    migrations: list[MigrationKey]
    atomic: bool  # every migration runs in a transaction: the whole undo is all-or-nothing


@dataclass(frozen=True)
class UndoResult:
    migrations: list[MigrationKey]
    backup_path: Path | None


def plan_undo(*, app: str | None = None, steps: int = 1, using: str = "default") -> UndoPlan:
    """The last `steps` applied migrations of `app`, or the most recently applied ones of the
    project when `app` is None, and everything that must be unapplied with them.

    Raises UndoRefused when there is nothing to undo, the files and the database disagree, or a
    migration in the way is irreversible.
    """
    if steps < 1:
        raise UndoRefused(f"--steps must be at least 1; got {steps}")
    labels = project_app_labels()
    if app is not None and app not in labels:
        raise UndoRefused(f"{app!r} is not one of the project's apps ({', '.join(labels)})")
    connection = connections[using]
    try:
        executor = MigrationExecutor(connection)
    except NodeNotFoundError as exc:
        raise UndoRefused(f"the migration files are inconsistent: {exc}") from None
    graph = executor.loader.graph
    position = {key: index for index, key in enumerate(_graph_order(executor))}
    applied = applied_migrations(labels, using)

    if app is None:
        chosen = list(applied)[-steps:]
    else:
        in_app = [key for key in applied if key[0] == app]
        # a migration without a file sorts last: it must not be skipped silently
        chosen = sorted(in_app, key=lambda key: position.get(key, len(position)))[-steps:]
    if gone := [key for key in chosen if key not in graph.nodes]:
        raise UndoRefused(
            f"{gone[0][0]}.{gone[0][1]} is applied but its file is missing; restore the file "
            "to undo it (Django needs its operations to reverse them)"
        )
    scope = app or "the project"
    if not chosen:
        raise UndoRefused(f"{scope} has no applied migration; nothing to undo")
    if len(chosen) < steps:
        plural = "s" if len(chosen) != 1 else ""
        raise UndoRefused(
            f"{scope} has only {len(chosen)} applied migration{plural}; cannot undo {steps}"
        )

    targets = []
    for label in dict.fromkeys(key[0] for key in chosen):
        first = min((key for key in chosen if key[0] == label), key=position.__getitem__)
        parents = sorted(p.key for p in graph.node_map[first].parents if p.key[0] == label)
        targets.append((label, parents[0][1] if parents else None))
    plan = executor.migration_plan(targets)
    for migration, _backwards in plan:
        if problem := irreversible_operation(migration):
            raise UndoRefused(
                f"cannot undo: {migration.app_label}.{migration.name} is irreversible "
                f"({problem}); nothing was changed"
            )
    return UndoPlan(
        targets=targets,
        migrations=[(m.app_label, m.name) for m, _ in plan],
        atomic=connection.features.can_rollback_ddl and all(m.atomic for m, _ in plan),
    )


def irreversible_operation(migration: Migration) -> str | None:
    """Why `migration` cannot be unapplied (its first operation without a reverse), or None."""
    for number, operation in enumerate(migration.operations, 1):
        inner = (
            operation.database_operations
            if isinstance(operation, SeparateDatabaseAndState)
            else [operation]
        )
        if not all(op.reversible for op in inner):
            return f"operation {number}, {operation.describe()}, has no reverse"
    return None


def undo_migrations(
    plan: UndoPlan,
    *,
    using: str = "default",
    backup: bool = True,
    verbosity: int = 1,
    stdout: TextIO | None = None,
    progress: ProgressFactory = no_progress,
) -> UndoResult:
    """Take a safety backup (unless `backup` is False), then unapply `plan`'s migrations with
    Django's `migrate`, which writes its lines to the text stream `stdout` (sys.stdout when
    None); the post_migrate signal records the rollback times.

    When every migration is atomic, the whole undo is one transaction: a failure changes
    nothing. Raises UndoFailed (naming the backup) when the undo itself fails.
    """
    backup_path = _safety_backup(using, progress) if backup else None
    connection = connections[using]
    try:
        with _one_transaction_without_time_limit(connection, plan.atomic):
            for app, target in plan.targets:
                call_command(
                    "migrate",
                    app,
                    target or "zero",
                    database=using,
                    interactive=False,
                    verbosity=verbosity,
                    stdout=stdout,
                )
    except Exception as exc:  # a reverse operation failed: report it as one line
        state = (
            "nothing was rolled back"
            if plan.atomic
            else "some migrations may be rolled back (see migration_history)"
        )
        kept = f"; the backup taken before is {backup_path}" if backup_path else ""
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise UndoFailed(f"undo failed: {reason}; {state}{kept}") from exc
    return UndoResult(migrations=plan.migrations, backup_path=backup_path)


def _safety_backup(using: str, progress: ProgressFactory) -> Path:
    try:
        return create_backup(using=using, label="before-undo", progress=progress).path
    except BackupError as exc:
        raise UndoRefused(f"the safety backup failed, nothing was changed: {exc}") from exc


@contextlib.contextmanager
def _one_transaction_without_time_limit(connection, atomic: bool):
    """Lift the statement timeout (a rollback may rebuild large indexes) for the undo, in one
    transaction when `atomic`, else for the session and restored afterwards."""
    if atomic:
        with atomic_without_statement_timeout(connection.alias):
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def _graph_order(executor: MigrationExecutor) -> list[MigrationKey]:
    """Every migration in the order `migrate` applies them on an empty database."""
    leaves = executor.loader.graph.leaf_nodes()
    return [(m.app_label, m.name) for m, _ in executor.migration_plan(leaves, clean_start=True)]
