"""`manage.py validate`: the integrity report of the database, PASS / FAIL / SKIP per check."""

import json

from django.core.management.base import CommandError

from core.commands import OperatorCommand
from ops.integrity.validate import validate_database
from ops.management.validation import failure_message, write_validation_report


class Command(OperatorCommand):
    help = (
        "Check connection, migrations, extensions, tables, references (also those the database "
        "does not enforce), values, dates and statistics; exit 1 on any FAIL. A closed month of "
        "the usage logs is read again only if it changed since it was verified (--full: all)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the report as JSON"
        )
        parser.add_argument(
            "--expect-seed",
            action="store_true",
            help="also compare the demo firm's data with the demo data files",
        )
        parser.add_argument("--fixtures", metavar="DIR", help="demo data files for --expect-seed")
        parser.add_argument(
            "--full",
            action="store_true",
            help="verify every closed month of the usage logs again, changed or not",
        )

    def handle(self, *args, as_json, expect_seed, fixtures, full, database, verbosity, **options):
        report = validate_database(
            database, expect_seed=expect_seed, fixtures_dir=fixtures, full=full
        )
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            write_validation_report(self, report, parts=verbosity >= 2)
        if not report.ok:
            raise CommandError(failure_message(report))
