"""`manage.py import_anonymized FILE`: a production export becomes the development database,
anonymized and validated in a scratch database before it is swapped in."""

from core.commands import OperatorCommand
from ops.anonymization.imports import SESSION_WORK, delete_export_file, import_anonymized
from ops.anonymization.run import AnonymizationError
from ops.backup.create import BackupError
from ops.management.commands.restore import add_source_arguments, backup_source
from ops.safety import confirm_database_name


class Command(OperatorCommand):
    help = (
        "Import a production export (pg_dump archive or SQL script) as the development database: "
        "restored into a scratch database, anonymized and validated there, then swapped in, with "
        "a safety backup of the previous one. Real data never reaches the working database."
    )
    needs_session = SESSION_WORK
    refused_on_standby = "import into the database"
    noinput_help = "ask nothing: do not ask for the database name nor about deleting the export"
    service_errors = (AnonymizationError, BackupError)

    def add_arguments(self, parser):
        add_source_arguments(parser, "the production export")
        parser.add_argument(
            "--delete-export",
            action="store_true",
            help="delete the export file once the import succeeded (asked otherwise)",
        )
        parser.add_argument(
            "--no-owner",
            action="store_true",
            help="restore without the export's owners and grants (production roles)",
        )

    def handle(self, *args, file, database, interactive, delete_export, no_owner, **options):
        file = backup_source(file, options["remote"])
        confirm = None
        if interactive:

            def confirm():
                confirm_database_name(database, "Replace (with an anonymized import)")

        result = import_anonymized(
            file,
            using=database,
            no_owner=no_owner,
            delete_export=delete_export,
            confirm=confirm,
            progress=self.progress,
            report=self.stdout.write,
        )
        restore = result.restore
        for warning in [*restore.warnings, *result.anonymization.warnings]:
            self.stderr.write(f"warning: {warning}")
        if restore.safety_backup:
            self.stdout.write(
                f"previous development database backed up to {restore.safety_backup.path}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {file} as {restore.database}, anonymized "
                f"({result.anonymization.originals_searched} original values searched, none "
                f"found) and validated"
            )
        )
        if result.export_deleted:
            self.stdout.write(f"deleted the export {file}")
        elif file.startswith("s3://"):
            self.stdout.write(f"the downloaded copy of {file} was deleted; the store keeps it")
        elif interactive and input(f"Delete the export {file} now? [y/N] ").strip().lower() == "y":
            delete_export_file(file)
            self.stdout.write(f"deleted the export {file}")
        else:
            self.stdout.write(f"the export {file} still holds real personal data: delete it")
