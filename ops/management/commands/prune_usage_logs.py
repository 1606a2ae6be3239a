"""`manage.py prune_usage_logs --before YYYY-MM | --keep-months N`: drop whole months of usage
logs (partitions of skill_usage_logs), their figures kept in the statistics' baseline, a backup
of their rows written first (unless --no-backup), the run recorded; never the current month.
Asks for the database's name unless --noinput."""

import datetime
import getpass

from django.core.management.base import CommandError
from django.db import DatabaseError
from django.utils import timezone

from core.commands import OperatorCommand, whole_number
from ops.safety import confirm_database_name
from skills import selectors, services


def month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--before {value!r}: a month as YYYY-MM, e.g. 2026-01") from None


class Command(OperatorCommand):
    help = (
        "Drop the monthly partitions of skill_usage_logs before a month (whole partitions, no "
        "DELETE), keeping their figures in the statistics (skill_usage_baseline); backs them "
        "up first unless --no-backup; refuses to cut into the current month."
    )
    noinput_help = "do not ask for the database's name (for schedules)"
    service_errors = (DatabaseError, ValueError, OSError)
    refused_on_standby = "prune usage logs"

    def add_arguments(self, parser):
        cut = parser.add_mutually_exclusive_group(required=True)
        cut.add_argument("--before", type=month, help="drop every month before this one (YYYY-MM)")
        cut.add_argument(
            "--keep-months",
            type=whole_number(1),
            help="keep this month and the N-1 before it (N >= 1)",
        )
        parser.add_argument(
            "--no-backup", action="store_false", dest="backup", help="drop without a backup"
        )
        parser.add_argument("--by", default=None, help="who prunes (default: the login name)")

    def handle(self, *args, before, keep_months, backup, by, database, interactive, **options):
        if keep_months is not None:
            before = selectors.add_months(timezone.localdate(), 1 - keep_months)
        partitions = services.partitions_before(before, using=database)
        if partitions and interactive:
            names = ", ".join(p.name for p in partitions)
            confirm_database_name(
                database, f"Drop {names} (backup: {'yes' if backup else 'no'}) of"
            )
        result = services.prune_usage_logs(
            before, by=by or getpass.getuser(), backup=backup, using=database
        )
        if not result.partitions:
            self.stdout.write(f"Nothing to prune before {before:%Y-%m}")
            return
        for partition in result.partitions:
            self.stdout.write(f"Dropped {partition['name']}: {partition['rows']:,} logs")
        self.stdout.write(
            f"Pruned {result.rows:,} logs before {before:%Y-%m} in {result.seconds:.2f} s; "
            f"backup: {result.backup or 'none (--no-backup)'}; recorded as prune "
            f"{result.record.pk}"
        )
