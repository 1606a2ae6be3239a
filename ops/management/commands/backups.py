"""`manage.py backups`: the backups in BACKUP_DIR with date, size, environment and whether each
file still matches the checksum of its manifest."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from core.progress import progress_bar
from ops.backups.create import format_size, list_backups


class Command(BaseCommand):
    help = "List backups (newest first) with date, size, environment and checksum verification."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", dest="directory", help="directory to list (default BACKUP_DIR)"
        )
        parser.add_argument(
            "--database", help="only backups of this database alias (default: every backup)"
        )
        parser.add_argument(
            "--no-verify",
            action="store_false",
            dest="verify",
            help="do not read the files to check their checksums (fast)",
        )

    def handle(self, *args, directory, database, verify, **options):
        if database is not None and database not in connections:
            raise CommandError(f"unknown database alias {database!r}")
        listings = list_backups(
            directory,
            database=connections[database].settings_dict["NAME"] if database else None,
            verify=verify,
            progress=lambda **kwargs: progress_bar(self.stderr, **kwargs),
        )
        if not listings:
            self.stdout.write("no backups")
            return
        self.stdout.write(
            f"{'created (UTC)':<20} {'size':>10}  {'environment':<12} {'checksum':<12} file"
        )
        for item in listings:
            if item.problem:
                status = "FAILED" if item.manifest else "NO MANIFEST"
            else:
                status = "ok" if item.verified else "not checked"
            self.stdout.write(
                f"{item.created_at:%Y-%m-%d %H:%M:%S}  {format_size(item.size):>10}  "
                f"{item.environment or '?':<12} {status:<12} {item.path.name}"
            )
            if item.problem and options["verbosity"] >= 1:
                self.stdout.write(f"    {item.problem}")
