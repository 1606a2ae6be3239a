"""`manage.py fold_skill_usage`: move the pending usage deltas into the statistics of `skills`
and the daily rollup (skills.services.fold_skill_usage). Scheduled every minute (deploy/); reads
are exact without it, it only keeps them cheap."""

from django.db import DatabaseError

from core.commands import OperatorCommand
from skills.services import fold_skill_usage


class Command(OperatorCommand):
    help = (
        "Fold the pending skill usage deltas into skills and skill_usage_daily and print how "
        "many. Safe alongside writers and other folds. Run every minute."
    )
    service_errors = (DatabaseError,)
    refused_on_standby = "fold usage statistics"

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-wait",
            action="store_false",
            dest="wait",
            help="if another fold is running, fold nothing and exit 0 (default: wait for it)",
        )

    def handle(self, *args, wait, database, verbosity, **options):
        folded = fold_skill_usage(wait=wait, using=database)
        if verbosity:
            if folded is None:
                self.stdout.write("Another fold is running: nothing folded")
            else:
                self.stdout.write(f"Folded {folded} usage delta{'' if folded == 1 else 's'}")
