"""`manage.py anonymize`: replace every real person in the database by numbered demo people
(settings.ANONYMIZATION), verified before it commits; refuses anything that looks like
production."""

from core.commands import OperatorCommand
from ops.anonymization.run import AnonymizationError, anonymize_database
from ops.safety import confirm_database_name, database_label


class Command(OperatorCommand):
    help = (
        "Anonymize the database in one transaction: names, emails, contacts, free text, logs "
        "and sessions by settings.ANONYMIZATION; commits only if no original value is found "
        "anywhere afterwards."
    )
    refused_on_standby = "anonymize the database"
    noinput_help = "Do not ask for the database name."
    service_errors = (AnonymizationError,)

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print per table and column how many values would change; change nothing.",
        )

    def handle(self, *args, database, interactive, dry_run, verbosity, **options):
        confirm = None
        if interactive and not dry_run:

            def confirm():
                confirm_database_name(database, "Anonymize (irreversibly)")

        result = anonymize_database(
            using=database, dry_run=dry_run, confirm=confirm, progress=self.progress
        )
        verb = "would change" if dry_run else "changed"
        if dry_run or verbosity >= 2:
            for table, columns in result.changes.items():
                for column, count in columns.items():
                    if column == "*":
                        self.stdout.write(f"{table}: {count} rows {verb} (deleted)")
                    else:
                        self.stdout.write(f"{table}.{column}: {count} values {verb}")
        if verbosity >= 2:
            for step, seconds in result.timings.items():
                self.stdout.write(f"{seconds:8.2f} s  {step}")
        if dry_run:
            self.stdout.write(f"dry run: nothing was changed in {database_label(database)}")
            return
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        total = sum(sum(columns.values()) for columns in result.changes.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"anonymized {database_label(database)}: {total} values in "
                f"{len(result.changes)} tables; {result.originals_searched} original values "
                f"searched for, none found; {result.cache_keys_deleted} cache and session keys "
                f"cleared ({result.duration_seconds:.1f} s)"
            )
        )
