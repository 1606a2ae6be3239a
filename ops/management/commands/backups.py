"""`manage.py backups`: the backups in BACKUP_DIR with date, size, environment and whether each
file still matches the checksum of its manifest."""

from django.db import connections

from core.commands import OperatorCommand
from ops.backups.create import format_size, list_backups


class Command(OperatorCommand):
    help = "List backups (newest first) with date, size, environment and checksum verification."
    database_default = None
    database_help = "only backups of this database alias (default: every backup)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", dest="directory", help="directory to list (default BACKUP_DIR)"
        )
        parser.add_argument(
            "--no-verify",
            action="store_false",
            dest="verify",
            help="do not read the files to check their checksums (fast)",
        )

    def handle(self, *args, directory, database, verify, verbosity, **options):
        listings = list_backups(
            directory,
            database=connections[database].settings_dict["NAME"] if database else None,
            verify=verify,
            progress=self.progress,
        )
        if not listings:
            self.stdout.write("no backups")
            return
        rows = [
            (
                f"{item.created_at:%Y-%m-%d %H:%M:%S}",
                format_size(item.size),
                item.environment or "?",
                _status(item),
                item.path.name,
            )
            for item in listings
        ]
        columns = ("created (UTC)", "size", "environment", "checksum", "file")
        lines = self.table_lines(columns, rows, right=("size",))
        self.stdout.write(next(lines))
        for item, line in zip(listings, lines, strict=True):
            self.stdout.write(line)
            if item.problem and verbosity >= 1:
                self.stdout.write(f"    {item.problem}")


def _status(item) -> str:
    if item.problem:
        return "FAILED" if item.manifest else "NO MANIFEST"
    return "ok" if item.verified else "not checked"
