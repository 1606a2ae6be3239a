"""`manage.py validate`: the integrity report of the database, PASS / FAIL / SKIP per check."""

import json

from django.core.management.base import BaseCommand, CommandError

from ops.integrity.validate import FAIL, PASS, validate_database


class Command(BaseCommand):
    help = (
        "Check connection, migrations, extensions, tables, references (also those the database "
        "does not enforce), values, dates and statistics; exit 1 on any FAIL."
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
        parser.add_argument("--database", default="default", help="database alias")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="accepted for symmetry with the other operator commands; never asks",
        )

    def handle(self, *args, as_json, expect_seed, fixtures, database, **options):
        report = validate_database(database, expect_seed=expect_seed, fixtures_dir=fixtures)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.print_table(report)
        if not report.ok:
            failures = len(report.failures)
            raise CommandError(
                f"validation failed: {failures} check{'s' if failures != 1 else ''} FAIL"
            )

    def print_table(self, report):
        rows = [(r.check, r.target, r.status, r.detail) for r in report.results]
        widths = [
            max(len(row[i]) for row in rows + [("CHECK", "TABLE", "STATUS", "")]) for i in range(3)
        ]
        self.stdout.write(f"validating {report.database}")
        self.stdout.write(
            f"{'CHECK':<{widths[0]}}  {'TABLE':<{widths[1]}}  {'STATUS':<{widths[2]}}  DETAIL"
        )
        style = {PASS: self.style.SUCCESS, FAIL: self.style.ERROR}
        for check, target, status, detail in rows:
            shown = style.get(status, self.style.WARNING)(f"{status:<{widths[2]}}")
            self.stdout.write(f"{check:<{widths[0]}}  {target:<{widths[1]}}  {shown}  {detail}")
        summary = "all checks pass" if report.ok else f"{len(report.failures)} FAIL"
        self.stdout.write(f"{summary} ({report.seconds:.1f} s)")
