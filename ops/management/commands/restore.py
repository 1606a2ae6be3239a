"""`manage.py restore FILE`: replace the database with a backup, verified first, guarded by a
safety backup and swapped in atomically; then validated."""

from django.core.management.base import CommandError

from core.commands import OperatorCommand, whole_number
from ops.backup.create import BackupError
from ops.backup.offsite import remote_url
from ops.backup.restore import SESSION_WORK, RestoreOptions, restore_backup
from ops.management.validation import failure_message, write_validation_report
from ops.safety import confirm_database_name, production_reason


def add_source_arguments(parser, what: str) -> None:
    """FILE (a path or an s3:// URL) or --remote NAME: where the backup comes from."""
    parser.add_argument("file", nargs="?", help=f"{what}, or an s3:// URL of one off-site")
    parser.add_argument(
        "--remote",
        metavar="NAME",
        help="a backup file in BACKUP_STORAGE_URL (`latest`: the newest verified one of this "
        "APP_ENV), fetched and verified first",
    )


def backup_source(file: str | None, remote: str | None) -> str:
    """The FILE argument or the s3:// URL of `--remote NAME`: exactly one of them."""
    if (file is None) == (remote is None):
        raise CommandError("name a backup file (or s3:// URL), or --remote NAME; not both")
    return file if remote is None else remote_url(remote)


class Command(OperatorCommand):
    help = (
        "Restore a backup (custom .dump, .sql, .sql.gz, or any of them .age-encrypted) into the "
        "database: verified end to end first, a safety backup taken, restored into a fresh "
        "database and swapped in, so a failure leaves the database as it was."
    )
    needs_session = SESSION_WORK
    refused_on_standby = "restore the database"
    noinput_help = "do not ask for the database name (refused for production)"
    service_errors = (BackupError,)

    def add_arguments(self, parser):
        add_source_arguments(parser, "the backup file")
        parser.add_argument(
            "--jobs",
            type=whole_number(1),
            default=1,
            help="parallel pg_restore jobs (custom format only)",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="restore into a production-looking database, after typing its name",
        )
        parser.add_argument(
            "--no-manifest",
            action="store_true",
            help="restore a file made elsewhere, without a manifest (it is still read end to end)",
        )
        parser.add_argument(
            "--no-owner",
            action="store_true",
            help="restore without the dump's owners and grants (roles missing on this server)",
        )

    def handle(self, *args, file, database, jobs, interactive, allow_production, **options):
        file = backup_source(file, options["remote"])
        if allow_production and not interactive and production_reason(database):
            raise CommandError(
                "a production restore needs the database name typed; it cannot run with --noinput"
            )

        def confirm():
            confirm_database_name(database, f"Restore {file} over every table of")

        result = restore_backup(
            file,
            RestoreOptions(
                jobs=jobs,
                require_manifest=not options["no_manifest"],
                allow_production=allow_production,
                no_owner=options["no_owner"],
                validate=True,
                confirm=confirm if interactive else None,
                progress=self.progress,
                report=self.stderr.write if options["verbosity"] >= 1 else lambda line: None,
            ),
            using=database,
        )
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        rows = sum(result.row_counts.values())
        self.stdout.write(
            f"restored {result.database} from {result.backup_path.name}: "
            f"{len(result.row_counts)} tables, {rows} rows in {result.duration_seconds} s"
        )
        kept = (
            f"the previous data is in {result.safety_backup.path}" if result.safety_backup else ""
        )
        if kept:
            self.stdout.write(kept)
        write_validation_report(self, result.validation)
        if not result.validation.ok:
            problems = failure_message(result.validation) + (f"; {kept}" if kept else "")
            raise CommandError(f"restored, but validate found problems: {problems}")
        self.stdout.write("validate: passed")
