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
        parser.add_argument(
            "--replica",
            action="store_true",
            help="start: also a streaming hot standby on a port of its own (switches the primary "
            "to wal_level replica, which makes bulk loads write full WAL); stop: only the standby",
        )
        parser.add_argument(
            "--remove",
            action="store_true",
            help="with stop --replica: also remove the standby and switch the primary back to "
            "wal_level minimal (bulk loads fast again)",
        )

    def handle(self, *args, action, replica=False, remove=False, **options):
        postgres_embedded = bool(settings.DATABASES["default"].get("EMBEDDED"))
        if not (postgres_embedded or settings.REDIS_EMBEDDED):
            raise CommandError("DATABASE_URL and REDIS_URL are set: no embedded server is in use.")
        data_dir = settings.DATA_DIR
        if replica and not postgres_embedded:
            raise CommandError("--replica: DATABASE_URL is set, no embedded PostgreSQL is in use.")
        if remove and not (replica and action == "stop"):
            raise CommandError("--remove goes with stop --replica.")
        if replica:
            return self.replica(action, data_dir, remove)
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
                if (data_dir / embedded.REPLICA_DIRNAME).exists():
                    state = "running" if embedded.replica_is_running(data_dir) else "stopped"
                    self.stdout.write(f"postgres replica: {state}")
            if settings.REDIS_EMBEDDED:
                running = embedded.valkey_is_running(data_dir)
                self.stdout.write(f"valkey: {'running' if running else 'stopped'} ({data_dir})")
        else:
            if postgres_embedded:
                if embedded.stop_replica(data_dir):
                    self.stdout.write("postgres replica: stopped")
                stopped = embedded.stop_postgres(data_dir)
                self.stdout.write(f"postgres: {'stopped' if stopped else 'was not running'}")
            if settings.REDIS_EMBEDDED:
                stopped = embedded.stop_valkey(data_dir)
                self.stdout.write(f"valkey: {'stopped' if stopped else 'was not running'}")

    def replica(self, action: str, data_dir, remove: bool) -> None:
        if action == "start":
            database = settings.DATABASES["default"]["EMBEDDED_DATABASE"]
            endpoint = embedded.ensure_replica(data_dir, database)
            self.stdout.write(
                f"postgres replica: running, streaming; DATABASE_REPLICA_URLS={endpoint.url}"
            )
        elif action == "status":
            running = embedded.replica_is_running(data_dir)
            self.stdout.write(f"postgres replica: {'running' if running else 'stopped'}")
        elif remove:
            was_on = embedded.remove_replica(data_dir)
            self.stdout.write(
                "postgres replica: removed; the primary is back to wal_level minimal"
                if was_on
                else "postgres replica: none (replication was off)"
            )
        else:
            stopped = embedded.stop_replica(data_dir)
            self.stdout.write(f"postgres replica: {'stopped' if stopped else 'was not running'}")
