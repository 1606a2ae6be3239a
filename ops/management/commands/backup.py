"""`manage.py backup`: dump the database into a verified, owner-only backup file; the last line
of stdout is its path, so scripts can capture it."""

from django.conf import settings

from core.commands import OperatorCommand
from ops.backups.create import FORMATS, BackupError, create_backup, format_size


class Command(OperatorCommand):
    help = (
        "Back up the database with pg_dump into BACKUP_DIR (or --output-dir): custom format, or "
        "gzip-compressed SQL with --format plain; a manifest with checksum and row counts beside "
        "it; older backups of this environment pruned afterwards."
    )
    service_errors = (BackupError,)

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", dest="fmt", choices=FORMATS, default="custom", help="default: custom"
        )
        parser.add_argument("--output-dir", help="directory for the backup (default BACKUP_DIR)")
        parser.add_argument(
            "--encrypt",
            action="store_true",
            default=None,
            help="encrypt (age) to BACKUP_AGE_RECIPIENT (always on with BACKUP_ENCRYPT=true)",
        )
        parser.add_argument(
            "--keep-days",
            type=int,
            help="prune backups of this environment older than this many days; 0 keeps all "
            f"(default BACKUP_RETENTION_DAYS={settings.BACKUP_RETENTION_DAYS})",
        )

    def handle(self, *args, database, fmt, output_dir, encrypt, keep_days, verbosity, **options):
        backup = create_backup(
            using=database,
            output_dir=output_dir,
            fmt=fmt,
            encrypt=encrypt,
            keep_days=keep_days,
            progress=self.progress,
        )
        manifest = backup.manifest
        if verbosity >= 1:
            rows = sum(manifest["row_counts"].values())
            self.stderr.write(
                f"backed up {manifest['database']} ({len(manifest['row_counts'])} tables, "
                f"{rows} rows) in {manifest['duration_seconds']} s: {format_size(backup.size)}, "
                f"sha256 {backup.sha256[:16]}…"
                + (", encrypted (age)" if manifest["encryption"] else "")
            )
            for path in backup.pruned:
                self.stderr.write(f"pruned {path.name}")
        self.stdout.write(str(backup.path))
