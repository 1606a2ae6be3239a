"""`manage.py reset_db`: drop and recreate a development database, migrate it and seed it."""

from core.commands import session_alias
from ops.management.commands.seed import Command as SeedCommand
from ops.safety import confirm_database_name
from ops.seeding.demo import SeedError
from ops.seeding.reset import ResetError, check_resettable, reset_database


class Command(SeedCommand):
    help = (
        "Drop the database, create it again, apply every migration and seed the demo dataset "
        "(unless --no-seed). Development databases only: refuses anything that looks like "
        "production."
    )
    # Not needs_session: the reset runs on the session's alias, the seed on the named one.
    session_work = "reset_db (dropping and creating the database, migrate)"
    noinput_help = "do not ask for the database's name before dropping it"
    service_errors = (ResetError, SeedError)

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-seed", action="store_false", dest="seed", help="leave the database empty"
        )

    def error_message(self, exc):
        if isinstance(exc, ResetError):
            return str(exc)
        return f"{exc} (the database was reset and migrated, but is not seeded)"

    def handle(self, *args, seed, database, interactive, verbosity, **options):
        # Behind PgBouncer the drop, create and migrate go to DATABASE_DIRECT_URL; the seed goes
        # through PgBouncer, as seed itself does.
        session = session_alias(database, self.session_work)
        check_resettable(session)
        if interactive:
            confirm_database_name(session, "Drop and recreate (every row is lost)")
        report = reset_database(
            using=session, seed_using=database, seed=seed, progress=self.progress
        )
        if verbosity >= 1:
            self.stdout.write(
                f"{report.database}: dropped, created and migrated ({report.migrations} "
                f"migrations){'' if seed else '; not seeded (--no-seed)'}"
            )
            if report.seed is not None:
                self.write_report(report.seed)
        if report.seed is not None:
            self.write_login(report.seed.login)
