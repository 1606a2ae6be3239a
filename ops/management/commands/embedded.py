"""`manage.py embedded start|status|stop`: the embedded development servers, by hand."""

from django.conf import settings
from django.core.management.base import CommandError

from core.commands import OperatorCommand
from legalplatform import embedded


class Command(OperatorCommand):
    help = "Start, show or stop the embedded PostgreSQL and Valkey used when no URL is set."
    uses_database = False  # the servers, not a database alias

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "status", "stop"])

    def handle(self, *args, action, **options):
        postgres_embedded = bool(settings.DATABASES["default"].get("EMBEDDED"))
        if not (postgres_embedded or settings.REDIS_EMBEDDED):
            raise CommandError("DATABASE_URL and REDIS_URL are set: no embedded server is in use.")
        data_dir = settings.DATA_DIR
        if action == "start":
            if postgres_embedded:
                endpoint = embedded.ensure_postgres(data_dir)
                self.stdout.write(f"postgres: running, socket in {endpoint.host}")
            if settings.REDIS_EMBEDDED:
                self.stdout.write(f"valkey: running at {embedded.ensure_valkey(data_dir)}")
        elif action == "status":
            if postgres_embedded:
                running = (data_dir / embedded.POSTGRES_DIRNAME / "postmaster.pid").exists()
                self.stdout.write(f"postgres: {'running' if running else 'stopped'} ({data_dir})")
            if settings.REDIS_EMBEDDED:
                running = embedded.valkey_is_running(data_dir)
                self.stdout.write(f"valkey: {'running' if running else 'stopped'} ({data_dir})")
        else:
            if postgres_embedded:
                stopped = embedded.stop_postgres(data_dir)
                self.stdout.write(f"postgres: {'stopped' if stopped else 'was not running'}")
            if settings.REDIS_EMBEDDED:
                stopped = embedded.stop_valkey(data_dir)
                self.stdout.write(f"valkey: {'stopped' if stopped else 'was not running'}")
