"""`manage.py migration_history [--check] [--json]`: every migration of the project's apps with
its state, so that a pending, edited or deleted migration is seen before it bites."""

import json
import sys
from collections import Counter

from django.utils import timezone

from core.commands import OperatorCommand, Styled
from ops.history.selectors import (
    APPLIED,
    MISSING,
    MODIFIED,
    PENDING,
    ROLLED_BACK,
    migration_history,
)

COLUMNS = ("app", "name", "applied", "steps", "checksum", "status")  # applied: in TIME_ZONE


class Command(OperatorCommand):
    help = (
        "List every migration of the project's apps in order with app, name, applied time, "
        "steps, short checksum and status: applied, pending, rolled back, MODIFIED after apply "
        "(the file changed since) or missing file. --check exits 1 unless all are applied."
    )
    database_help = 'The database to read (default: "default").'

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 when a migration is pending, rolled back, modified or "
            "missing (for CI and deploys, after migrate).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, check, database, **options):
        history = migration_history(using=database)
        if options["json"]:
            self.stdout.write(json.dumps([state.as_dict() for state in history], indent=2))
        else:
            self._write_table(history)
        problems = Counter(state.status for state in history if state.needs_attention)
        if check and problems:
            summary = ", ".join(f"{count} {status}" for status, count in problems.items())
            self.stderr.write(f"migrations do not match the database: {summary}")
            sys.exit(1)  # like makemigrations --check: the line above is the whole message

    def _write_table(self, history):
        styles = {
            APPLIED: self.style.SUCCESS,
            PENDING: self.style.WARNING,
            ROLLED_BACK: self.style.WARNING,
            MODIFIED: self.style.ERROR,
            MISSING: self.style.ERROR,
        }
        rows = [
            (
                state.app,
                state.name,
                _local(state.applied_at) or "-",
                "-" if state.steps is None else str(state.steps),
                (state.checksum or state.recorded_checksum)[:12] or "-",
                Styled(_status_text(state), styles[state.status]),
            )
            for state in history
        ]
        # The applied times are local: the header names the zone (TIME_ZONE).
        columns = tuple(
            f"applied ({timezone.get_current_timezone_name()})" if c == "applied" else c
            for c in COLUMNS
        )
        self.write_table(columns, rows, right=("steps",))
        counts = Counter(state.status for state in history)
        self.stdout.write(
            ", ".join(f"{counts[status]} {status}" for status in styles if counts[status])
            or "no migrations"
        )


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _status_text(state) -> str:
    if state.status == ROLLED_BACK and state.rolled_back_at:
        return f"{ROLLED_BACK} {_local(state.rolled_back_at)}"
    return state.status
