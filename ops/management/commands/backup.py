"""`manage.py backup`: dump the database into a verified, owner-only backup file, and send it
off-site when BACKUP_STORAGE_URL is set; the last line of stdout is its path, so scripts can
capture it. `--upload-pending` sends the local backups that are not off-site yet."""

from django.conf import settings
from django.core.management.base import CommandError

from core.commands import OperatorCommand
from ops.backup.create import FORMATS, SESSION_WORK, BackupError, format_size
from ops.backup.offsite import UploadFailed, create_offsite_backup, upload_pending


class Command(OperatorCommand):
    help = (
        "Back up the database with pg_dump into BACKUP_DIR (or --output-dir): custom format, or "
        "gzip-compressed SQL with --format plain; a manifest with checksum and row counts beside "
        "it; sent off-site and verified when BACKUP_STORAGE_URL is set; older backups of this "
        "environment pruned afterwards, here and off-site."
    )
    needs_session = SESSION_WORK
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
            help="encrypt (age) to BACKUP_AGE_RECIPIENT (always on with BACKUP_ENCRYPT=true, and "
            "for off-site backups unless BACKUP_ALLOW_PLAINTEXT_OFFSITE=true)",
        )
        parser.add_argument(
            "--keep-days",
            type=int,
            help="prune backups of this environment older than this many days, here and "
            "off-site; 0 keeps all "
            f"(default BACKUP_RETENTION_DAYS={settings.BACKUP_RETENTION_DAYS})",
        )
        upload = parser.add_mutually_exclusive_group()
        upload.add_argument(
            "--no-upload",
            action="store_false",
            dest="upload",
            help="keep this backup local even when BACKUP_STORAGE_URL is set",
        )
        upload.add_argument(
            "--upload-pending",
            action="store_true",
            help="make no backup: send the local backups that are not off-site yet (in "
            "--output-dir or BACKUP_DIR)",
        )

    def handle(self, *args, database, fmt, output_dir, encrypt, keep_days, verbosity, **options):
        try:
            if options["upload_pending"]:
                run = upload_pending(
                    directory=output_dir,
                    keep_days=keep_days,
                    progress=self.progress,
                    report=self.stderr.write if verbosity >= 1 else lambda line: None,
                )
            else:
                run = create_offsite_backup(
                    upload=options["upload"],
                    using=database,
                    output_dir=output_dir,
                    fmt=fmt,
                    encrypt=encrypt,
                    keep_days=keep_days,
                    progress=self.progress,
                )
        except UploadFailed as exc:
            if exc.backup is not None:
                self.stdout.write(str(exc.backup.path))
            raise CommandError(self.error_message(exc)) from None
        if verbosity >= 1:
            self._report(run)
        for warning in run.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        if run.backup is not None:
            self.stdout.write(str(run.backup.path))
        elif not run.uploaded and not run.skipped and verbosity >= 1:
            self.stderr.write("nothing to upload: every local backup of this environment is sent")

    def _report(self, run) -> None:
        if run.backup is not None:
            backup, manifest = run.backup, run.backup.manifest
            rows = sum(manifest["row_counts"].values())
            self.stderr.write(
                f"backed up {manifest['database']} ({len(manifest['row_counts'])} tables, "
                f"{rows} rows) in {manifest['duration_seconds']} s: {format_size(backup.size)}, "
                f"sha256 {backup.sha256[:16]}…"
                + (", encrypted (age)" if manifest["encryption"] else "")
            )
            for path in backup.pruned:
                self.stderr.write(f"pruned {path.name}")
            for remote in run.uploaded:
                how = remote.manifest["offsite"]["verification"]
                self.stderr.write(f"sent off-site to {remote.url}, verified ({how})")
        for name, reason in run.skipped:
            self.stderr.write(f"not sent: {name}: {reason}")
        for name in run.pruned_remote:
            self.stderr.write(f"pruned off-site {name}")
