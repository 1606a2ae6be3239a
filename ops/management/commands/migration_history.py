"""`manage.py migration_history [--check] [--json]`: every migration of the project's apps with
its state, so that a pending, edited or deleted migration is seen before it bites."""

import json
import sys
from collections import Counter

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from ops.history.selectors import (
    APPLIED,
    MISSING,
    MODIFIED,
    PENDING,
    ROLLED_BACK,
    migration_history,
)

COLUMNS = ("app", "name", "applied", "steps", "checksum", "status")


class Command(BaseCommand):
    help = (
        "List every migration of the project's apps in order with app, name, applied time, "
        "steps, short checksum and status: applied, pending, rolled back, MODIFIED after apply "
        "(the file changed since) or missing file. --check exits 1 unless all are applied."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 when a migration is pending, rolled back, modified or "
            "missing (for CI and deploys, after migrate).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='The database to read (default: "default").',
        )

    def handle(self, *args, check, database, **options):
        history = migration_history(using=database)
        if options["json"]:
            self.stdout.write(_as_json(history))
        else:
            self._write_table(history)
        problems = Counter(state.status for state in history if state.needs_attention)
        if check and problems:
            summary = ", ".join(f"{count} {status}" for status, count in problems.items())
            self.stderr.write(f"migrations do not match the database: {summary}")
            sys.exit(1)

    def _write_table(self, history):
        rows = [
            (
                state.app,
                state.name,
                _local(state.applied_at) or "-",
                "-" if state.steps is None else str(state.steps),
                (state.checksum or state.recorded_checksum)[:12] or "-",
                _status_text(state),
            )
            for state in history
        ]
        widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        styles = {
            APPLIED: self.style.SUCCESS,
            PENDING: self.style.WARNING,
            ROLLED_BACK: self.style.WARNING,
            MODIFIED: self.style.ERROR,
            MISSING: self.style.ERROR,
        }
        self.stdout.write(
            "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()
        )
        for state, row in zip(history, rows, strict=True):
            cells = [
                cell.rjust(width) if column == "steps" else cell.ljust(width)
                for column, cell, width in zip(COLUMNS, row, widths, strict=True)
            ]
            cells[-1] = styles[state.status](row[-1])
            self.stdout.write("  ".join(cells).rstrip())
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


def _as_json(history) -> str:
    return json.dumps(
        [
            {
                "app": state.app,
                "name": state.name,
                "status": state.status,
                "applied_at": state.applied_at.isoformat() if state.applied_at else None,
                "rolled_back_at": (
                    state.rolled_back_at.isoformat() if state.rolled_back_at else None
                ),
                "steps": state.steps,
                "checksum": state.checksum or None,
                "recorded_checksum": state.recorded_checksum or None,
            }
            for state in history
        ],
        indent=2,
    )
