"""`manage.py seed`: the demo dataset (idempotent), optionally reset first, plus synthetic firms."""

from django.core.management.base import CommandError

from core.commands import OperatorCommand, whole_number
from ops.safety import confirm_database_name
from ops.seeding.demo import SeedError, seed_database


class Command(OperatorCommand):
    help = (
        "Create the demo dataset (firm, users, cases, documents, tasks, skills, discovery data) "
        "unless it exists, and print the demo login. --scale N adds N synthetic firms."
    )
    refused_on_standby = "seed the database"
    noinput_help = "do not ask for confirmation of --reset"
    service_errors = (SeedError,)

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="remove the demo firm's data first"
        )
        parser.add_argument(
            "--scale",
            type=whole_number(0),
            default=0,
            metavar="N",
            help="also add N synthetic firms (about 40,000 rows each) through COPY",
        )
        parser.add_argument(
            "--random-seed",
            type=whole_number(0),
            metavar="S",
            help="seed of the synthetic data: the same S gives the same firms (default: random)",
        )
        parser.add_argument(
            "--fixtures",
            metavar="DIR",
            help="directory of the demo data files (default: fixtures/ of the project)",
        )

    def error_message(self, exc):
        return f"{super().error_message(exc)} (nothing was changed)"

    def handle(self, *args, reset, scale, random_seed, fixtures, database, interactive, **options):
        if random_seed is not None and not scale:
            raise CommandError("--random-seed only applies with --scale N")
        if reset and interactive:
            confirm_database_name(database, "Remove the demo firm's data from")
        report = seed_database(
            using=database,
            fixtures_dir=fixtures,
            reset=reset,
            scale=scale,
            random_seed=random_seed,
            progress=self.progress,
        )
        if options["verbosity"] >= 1:
            self.write_report(report)
        self.write_login(report.login)

    def write_report(self, report):
        if report.removed:
            removed = ", ".join(
                f"{n} {label.split('.')[-1]}" for label, n in report.removed.items()
            )
            self.stdout.write(f"reset: removed {removed}")
        self.stdout.write(f"demo dataset in {report.database}:")
        for tally in report.tallies:
            found = f"{tally.found:>4} found" if tally.found is not None else " " * 10
            note = f"  {tally.note}" if tally.note else ""
            self.stdout.write(f"  {tally.what:<18} {tally.created:>4} created {found}{note}")
        if result := report.synthetic:
            self.stdout.write(
                f"synthetic firms (random seed {report.random_seed}): {result.firms_created} "
                f"created, {result.firms_found} found, {result.total_rows:,} rows"
            )

    def write_login(self, login):
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login (development only): {login.email} / {login.password}  "
                "at http://127.0.0.1:8000/admin/"
            )
        )
        if not login.password_matches:
            self.stdout.write(
                self.style.WARNING(
                    f"  note: {login.email}'s password was changed since seeding; "
                    "`seed --reset` restores the demo password"
                )
            )
