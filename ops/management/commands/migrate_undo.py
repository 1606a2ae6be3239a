"""`manage.py migrate_undo [APP] [--steps N]`: roll back the last migrations after naming them,
asking for confirmation and taking a safety backup; refuses irreversible ones up front."""

from django.core.management.base import CommandError

from core.commands import OperatorCommand, whole_number
from ops.history.services import UndoFailed, UndoRefused, plan_undo, undo_migrations
from ops.safety import confirm_database_name, database_label, production_reason


class Command(OperatorCommand):
    help = (
        "Roll back the last N applied migrations of APP (default: the most recently applied "
        "migration of the project), after a confirmation naming them and a safety backup. "
        "Refuses, changing nothing, when a migration in the way is irreversible."
    )
    needs_session = "migrate_undo (SET outside a transaction, index builds)"
    refused_on_standby = "roll back migrations"
    noinput_help = "Do not ask for confirmation (refused for a production-looking database)."
    database_help = 'The database to roll back (default: "default").'
    service_errors = (UndoRefused, UndoFailed)

    def add_arguments(self, parser):
        parser.add_argument(
            "app", nargs="?", help="App whose migrations to roll back (cases, skills, ...)."
        )
        parser.add_argument(
            "--steps",
            type=whole_number(1),
            default=1,
            help="How many applied migrations to roll back (default 1).",
        )
        parser.add_argument(
            "--no-backup",
            action="store_false",
            dest="backup",
            help="Skip the safety backup taken before the rollback.",
        )

    def handle(self, *args, app, steps, interactive, backup, database, verbosity, **options):
        if not interactive and (reason := production_reason(database)):
            raise CommandError(
                f"the database looks like production ({reason}): --noinput is refused; "
                "type its name at the prompt (or pipe it in)"
            )
        plan = plan_undo(app=app, steps=steps, using=database)
        count = len(plan.migrations)
        migrations = f"{count} migration{'s' if count != 1 else ''}"
        self.stdout.write(
            f"Rolling back {migrations} on {database_label(database)}, in this order:"
        )
        for app_label, name in plan.migrations:
            self.stdout.write(f"  {app_label}.{name}")
        if interactive:
            try:
                confirm_database_name(database, "Roll back the migrations above on")
            except EOFError:
                raise CommandError("no confirmation given; nothing was changed") from None
        result = undo_migrations(
            plan,
            using=database,
            backup=backup,
            verbosity=verbosity,
            stdout=self.stream,
            progress=self.progress,
        )
        if result.backup_path:
            self.stdout.write(f"Safety backup: {result.backup_path}")
        self.stdout.write(
            self.style.SUCCESS(f"Rolled back {migrations}; `manage.py migrate` applies them again.")
        )
