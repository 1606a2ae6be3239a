"""`import_anonymized`: a production export becomes the development database without a real
person ever being visible in it. The export is restored into a scratch database by
restore_backup, migrated, anonymized and validated there, and only then swapped in (with a
safety backup of the previous development database). Any failure or interrupt before the swap
drops the scratch database; after a kill, the next restore or import drops it.

Public API: `import_anonymized`, `ImportResult`.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend

from core.progress import ProgressFactory, no_progress
from ops.anonymization.run import (
    AnonymizationError,
    AnonymizationResult,
    anonymize_database,
    clear_redis_caches,
)
from ops.backup import client as pg
from ops.backup.create import BackupError, manifest_path_for
from ops.backup.restore import RestoreOptions, RestoreResult, restore_backup
from ops.integrity.validate import validate_database
from ops.safety import database_label, production_reason

STAGING_ALIAS = "anonymize_staging"
# What needs a session of its own (behind PgBouncer: DATABASE_DIRECT_URL's alias).
SESSION_WORK = "import_anonymized (a restore: an advisory lock, renaming databases)"


@dataclass
class ImportResult:
    restore: RestoreResult
    anonymization: AnonymizationResult
    export_deleted: bool


def import_anonymized(
    path: Path | str,
    *,
    using: str = "default",
    no_owner: bool = False,
    delete_export: bool = False,
    confirm: Callable[[], None] | None = None,
    progress: ProgressFactory = no_progress,
    report: Callable[[str], None] = lambda message: None,
) -> ImportResult:
    """Replace the development database `using` by the anonymized contents of the export `path`.

    Refuses when `using` looks like production (the same rule as `anonymize`). The export needs
    no manifest (it comes from elsewhere); one beside it is checked. `path` may be an s3:// URL
    (fetched with its manifest and verified, as by `restore_backup`). `no_owner` restores an
    archive without the production roles. With `delete_export` the export (and its manifest)
    is deleted once the import succeeded. Raises AnonymizationError or BackupError (one line).
    """
    # Behind PgBouncer the staging database too is reached past it: the swap renames it.
    using = pg.session_alias(using, SESSION_WORK, BackupError)
    remote = str(path).startswith("s3://")
    path = str(path) if remote else Path(path).expanduser()
    reason = production_reason(using, settings.ANONYMIZATION_REFUSE_PATTERNS)
    if reason:
        raise AnonymizationError(
            f"refusing to import into {database_label(using)}: it looks like production ({reason})"
        )
    if remote and delete_export:
        raise BackupError(
            "--delete-export deletes a local export; one in the off-site store stays there (its "
            "downloaded copy is always deleted)"
        )
    if not remote and not path.is_file():
        raise BackupError(f"export file {path} does not exist")
    outcome: dict[str, AnonymizationResult] = {}

    def anonymize_staging(scratch: str) -> None:
        with staging_connection(using, scratch) as alias:
            report(f"migrating {scratch}")
            call_command("migrate", database=alias, interactive=False, verbosity=0)
            report(f"anonymizing {scratch}")
            outcome["result"] = anonymize_database(
                using=alias, progress=progress, clear_caches=False
            )
            validation = validate_database(alias)
            if not validation.ok:
                first = validation.failures[0]
                raise AnonymizationError(
                    f"the anonymized import does not validate ({len(validation.failures)} "
                    f"failed checks, first: {first.check} {first.target}: {first.detail}); "
                    "the development database is unchanged"
                )
            report(f"anonymized and validated {scratch}")

    restored = restore_backup(
        path,
        RestoreOptions(
            require_manifest=remote or manifest_path_for(path).exists(),
            no_owner=no_owner,
            confirm=confirm,
            before_swap=anonymize_staging,
            progress=progress,
            report=report,
        ),
        using=using,
    )
    # What the cache and sessions held was about the replaced database.
    clear_redis_caches(outcome["result"].warnings)
    if delete_export:
        delete_export_file(path)
    return ImportResult(
        restore=restored, anonymization=outcome["result"], export_deleted=delete_export
    )


def delete_export_file(path: Path | str) -> None:
    """Delete the export (and its manifest): it holds real personal data."""
    path = Path(path).expanduser()
    for file in (path, manifest_path_for(path)):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()


@contextlib.contextmanager
def staging_connection(using: str, database: str):
    """A Django connection alias to `database` on the server of `using` (no pool), made for the
    duration and never added to settings.DATABASES."""
    entry = copy.deepcopy(connections[using].settings_dict)
    entry["NAME"] = database
    entry.pop("EMBEDDED_DATABASE", None)  # the scratch database exists; create nothing
    entry["OPTIONS"] = {k: v for k, v in entry.get("OPTIONS", {}).items() if k != "pool"}
    wrapper = load_backend(entry["ENGINE"]).DatabaseWrapper(entry, STAGING_ALIAS)
    connections[STAGING_ALIAS] = wrapper
    try:
        yield STAGING_ALIAS
    finally:
        wrapper.close()
        del connections[STAGING_ALIAS]
