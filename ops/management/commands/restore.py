"""`manage.py restore FILE`: replace the database with a backup, verified first, guarded by a
safety backup and swapped in atomically; then `validate` (when the project has it) reports."""

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from core.progress import progress_bar
from ops.backups.create import BackupError
from ops.backups.restore import restore_backup
from ops.safety import confirm_database_name, production_reason


class Command(BaseCommand):
    help = (
        "Restore a backup (custom .dump, .sql, .sql.gz, or any of them .age-encrypted) into the "
        "database: verified end to end first, a safety backup taken, restored into a fresh "
        "database and swapped in, so a failure leaves the database as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the backup file")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")
        parser.add_argument(
            "--jobs", type=int, default=1, help="parallel pg_restore jobs (custom format only)"
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for the database name (refused for production)",
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
        if database not in connections:
            raise CommandError(f"unknown database alias {database!r}")
        if allow_production and not interactive and production_reason(database):
            raise CommandError(
                "a production restore needs the database name typed; it cannot run with --noinput"
            )
        verbose = options["verbosity"] >= 1

        def confirm():
            confirm_database_name(database, f"Restore {file} over every table of")

        try:
            result = restore_backup(
                file,
                using=database,
                jobs=jobs,
                require_manifest=not options["no_manifest"],
                allow_production=allow_production,
                no_owner=options["no_owner"],
                confirm=confirm if interactive else None,
                progress=lambda **kwargs: progress_bar(self.stderr, **kwargs),
                report=self.stderr.write if verbose else lambda message: None,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        rows = sum(result.row_counts.values())
        self.stdout.write(
            f"restored {result.database} from {result.backup_path.name}: "
            f"{len(result.row_counts)} tables, {rows} rows in {result.duration_seconds} s"
        )
        if result.safety_backup:
            self.stdout.write(f"the previous data is in {result.safety_backup.path}")
        self._validate(database, result)

    def _validate(self, database: str, result) -> None:
        """Run the project's `validate` command, when it exists, on the restored database."""
        app = get_commands().get("validate")
        if app is None:
            self.stdout.write("validate: not available in this project; skipped")
            return
        parser = load_command_class(app, "validate").create_parser("manage.py", "validate")
        accepts_database = any(action.dest == "database" for action in parser._actions)
        try:
            call_command(
                "validate",
                **({"database": database} if accepts_database else {}),
                stdout=self.stdout,
                stderr=self.stderr,
            )
        except (CommandError, SystemExit) as exc:
            kept = (
                f"; the previous data is in {result.safety_backup.path}"
                if result.safety_backup
                else ""
            )
            raise CommandError(f"restored, but validate found problems: {exc}{kept}") from None
        self.stdout.write("validate: passed")
