"""What the database and the files on disk say about each migration of the project's apps: the
read side of `migration_history` and `migrate_undo`, and the checksums the records compare."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from datetime import datetime
from graphlib import TopologicalSorter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ops.models import MigrationRecord

APPLIED = "applied"
PENDING = "pending"
ROLLED_BACK = "rolled back"
MODIFIED = "MODIFIED after apply"
MISSING = "missing file"

MigrationKey = tuple[str, str]


@dataclass(frozen=True)
class MigrationState:
    """One line of the history: a migration and what is known about it."""

    app: str
    name: str
    status: str
    applied_at: datetime | None
    rolled_back_at: datetime | None
    steps: int | None  # operations in the migration; None when neither file nor record says
    checksum: str  # SHA-256 of the file on disk now; "" when the file is missing
    recorded_checksum: str  # SHA-256 of the file when it was applied; "" when unknown

    @property
    def needs_attention(self) -> bool:
        """Whether the database does not match the code here: anything but applied, except a
        rolled-back migration whose file is gone (withdrawn on purpose)."""
        if self.status == ROLLED_BACK:
            return bool(self.checksum)
        return self.status != APPLIED

    def as_dict(self) -> dict:
        """The state as JSON-ready values (`migration_history --json`): times in ISO 8601, an
        unknown checksum as None."""
        return {
            "app": self.app,
            "name": self.name,
            "status": self.status,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "rolled_back_at": self.rolled_back_at.isoformat() if self.rolled_back_at else None,
            "steps": self.steps,
            "checksum": self.checksum or None,
            "recorded_checksum": self.recorded_checksum or None,
        }


def project_app_labels() -> list[str]:
    """Labels of the project's own apps (packages in the project directory, not libraries),
    in INSTALLED_APPS order: core, cases, skills, discovery, ops."""
    base_dir = Path(settings.BASE_DIR).resolve()
    labels = []
    for app_config in apps.get_app_configs():
        package_dir = base_dir / app_config.name.split(".")[0]
        if Path(app_config.path).resolve().is_relative_to(package_dir) and package_dir.is_dir():
            labels.append(app_config.label)
    return labels


def migration_file(migration: Migration) -> Path:
    """The file the migration was loaded from."""
    return Path(sys.modules[type(migration).__module__].__file__)


def file_checksum(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def disk_migrations(labels: list[str]) -> dict[MigrationKey, Migration]:
    """The migrations of `labels` as the files on disk define them, in dependency order.

    Only the files are read (no graph is built), so a deleted migration that others depend on
    is reported rather than stopping the reader, as it stops Django's own loader.
    """
    loader = MigrationLoader(None, load=False)
    loader.load_disk()
    found = {key: m for key, m in loader.disk_migrations.items() if key[0] in labels}
    sorter = TopologicalSorter()
    for key in sorted(found):
        migration = found[key]
        sorter.add(key, *(tuple(d) for d in migration.dependencies if tuple(d) in found))
        for later in migration.run_before:
            if tuple(later) in found:
                sorter.add(tuple(later), key)
    return {key: found[key] for key in sorter.static_order()}


def replaced_migrations(labels: list[str]) -> dict[MigrationKey, MigrationKey]:
    """Migration names that a migration on disk replaces -> that migration (ops.0001 -> core.0001:
    databases migrated before the foundation moved to core recorded the old name)."""
    return {
        tuple(replaced): key
        for key, migration in disk_migrations(labels).items()
        for replaced in migration.replaces
    }


def applied_migrations(labels: list[str], using: str = "default") -> dict[MigrationKey, datetime]:
    """Applied migrations of `labels` from django_migrations, in the order they were applied.

    A migration recorded under the name of one it replaces counts once, under its own name, at
    the place and time of the first of its names to be recorded.
    """
    recorder = MigrationRecorder(connections[using])
    if not recorder.has_table():
        return {}
    replaced = replaced_migrations(labels)
    rows = recorder.migration_qs.filter(app__in=labels).order_by("id")
    applied = {}
    for app, name, at in rows.values_list("app", "name", "applied"):
        applied.setdefault(replaced.get((app, name), (app, name)), at)
    return applied


def records_table_exists(using: str = "default") -> bool:
    """Whether ops.0002 (the migration_records table) is applied on `using`."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return MigrationRecord._meta.db_table in connection.introspection.table_names(cursor)


def migration_records(using: str = "default") -> dict[MigrationKey, MigrationRecord]:
    if not records_table_exists(using):
        return {}
    return {(r.app, r.name): r for r in MigrationRecord.objects.using(using)}


def migration_history(using: str = "default") -> list[MigrationState]:
    """Every migration of the project's apps: the applied ones in the order they were applied,
    then the others in dependency order, then rolled-back ones whose file has since gone."""
    labels = project_app_labels()
    on_disk = disk_migrations(labels)
    applied = applied_migrations(labels, using)
    records = migration_records(using)
    checksums = {key: file_checksum(migration_file(m)) for key, m in on_disk.items()}

    def state(key: MigrationKey, status: str) -> MigrationState:
        record = records.get(key)
        migration = on_disk.get(key)
        return MigrationState(
            app=key[0],
            name=key[1],
            status=status,
            applied_at=applied.get(key) or (record.applied_at if record else None),
            rolled_back_at=record.rolled_back_at if record and key not in applied else None,
            steps=_steps(key in applied, migration, record),
            checksum=checksums.get(key, ""),
            recorded_checksum=record.checksum if record else "",
        )

    history = []
    for key in applied:
        recorded = records[key].checksum if key in records else ""
        if key not in on_disk:
            status = MISSING
        elif recorded and recorded != checksums[key]:
            status = MODIFIED
        else:
            status = APPLIED
        history.append(state(key, status))
    for key in on_disk:
        if key not in applied:
            # A record of its apply and django_migrations without it: rolled back, also when
            # the rollback's own record was never written (migrate_undo killed between
            # unapplying and the post_migrate signal that records it).
            record = records.get(key)
            rolled_back = record is not None and (record.rolled_back_at or record.applied_at)
            history.append(state(key, ROLLED_BACK if rolled_back else PENDING))
    withdrawn = [
        key
        for key, record in records.items()
        if key[0] in labels
        and key not in applied
        and key not in on_disk
        and record.rolled_back_at is not None
    ]
    for key in sorted(withdrawn, key=lambda k: records[k].rolled_back_at):
        history.append(state(key, ROLLED_BACK))
    return history


def _steps(applied: bool, migration: Migration | None, record: MigrationRecord | None):
    """Operations count: as applied when the record knows it, else as the file says now."""
    if applied and record and record.steps is not None:
        return record.steps
    return len(migration.operations) if migration else (record.steps if record else None)


def foreign_history_problem(applied: list[MigrationKey] | None, tables: set[str]) -> str | None:
    """Why a database with these applied migrations (django_migrations' rows; None without the
    table) and these tables is not one this code can migrate from, or None when it is: a
    restore checks its scratch database with this before swapping it in.

    It must record migrations of the project's apps, only ones this code has (a name one of
    them replaces counts as that one), each with the project migrations it depends on, and hold
    every table of the project's models as those migrations leave them."""
    if applied is None:
        return "it has no django_migrations table (not a database of a Django project)"
    labels = project_app_labels()
    disk = disk_migrations(labels)
    replaced = replaced_migrations(labels)
    ours = {replaced.get(tuple(key), tuple(key)) for key in applied if key[0] in labels}
    if not ours:
        return f"no migration of this project's apps ({', '.join(labels)}) is applied"
    if unknown := sorted(ours - disk.keys()):
        app, name = unknown[0]
        return (
            f"it has {app}.{name} applied, which this code does not have ({len(unknown)} such "
            "migrations: a newer version's database, or another project's)"
        )
    for key in sorted(ours):
        for dependency in disk[key].dependencies:
            dependency = replaced.get(tuple(dependency), tuple(dependency))
            if dependency in disk and dependency not in ours:
                return (
                    f"{key[0]}.{key[1]} is applied without {dependency[0]}.{dependency[1]}, "
                    "which it depends on (an inconsistent history)"
                )
    state = MigrationLoader(None).project_state(nodes=sorted(ours), at_end=True)
    expected = {
        model.options.get("db_table") or f"{app}_{name}": f"{app}.{model.name}"
        for (app, name), model in state.models.items()
        if app in labels and model.options.get("managed", True) and not model.options.get("proxy")
    }
    if missing := sorted(expected.keys() - tables):
        return (
            f"table {missing[0]} (of {expected[missing[0]]}) is missing, with "
            f"{len(missing) - 1} more of this project's tables"
        )
    return None
