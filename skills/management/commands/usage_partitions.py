"""`manage.py usage_partitions [--ahead N]`: create the monthly partitions of skill_usage_logs
for this month and the N after it (default 3), then list every partition with its rows and size.
Scheduled daily (deploy/); skills.checks warns when next month's partition is missing."""

from django.db import DatabaseError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from core.commands import OperatorCommand, whole_number
from skills import selectors, services


def local_day(moment) -> str:
    """A bound as the day it starts in the project's time zone ("-": unbounded)."""
    return "-" if moment is None else f"{timezone.localtime(moment):%Y-%m-%d}"


class Command(OperatorCommand):
    help = (
        "Create the monthly partitions of skill_usage_logs missing for this month and the next "
        "--ahead months, then list the partitions with their rows (the planner's estimate) "
        "and sizes."
    )
    service_errors = (DatabaseError, ValueError)

    def add_arguments(self, parser):
        parser.add_argument(
            "--ahead",
            type=whole_number(0),
            default=services.PARTITIONS_AHEAD,
            help=f"months after this one to create (default {services.PARTITIONS_AHEAD})",
        )

    def handle(self, *args, ahead, database, verbosity, **options):
        created = services.create_usage_partitions(ahead, using=database)
        if not verbosity:
            return
        for name in created:
            self.stdout.write(f"Created {name}")
        self.write_table(
            ["partition", "from", "to", "rows (estimated)", "size"],
            [
                [
                    p.name,
                    "default" if p.is_default else local_day(p.lower),
                    "" if p.is_default else local_day(p.upper),
                    f"{p.estimated_rows:,}",
                    filesizeformat(p.bytes),
                ]
                for p in selectors.usage_partitions(using=database)
            ],
            right=["rows (estimated)", "size"],
        )
