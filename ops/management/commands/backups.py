"""`manage.py backups`: the backups in BACKUP_DIR (or, with --remote, in BACKUP_STORAGE_URL) with
date, size, environment, encryption and whether each still verifies; `--check --max-age 26h`
exits 1 when the newest verified backup is older than that, for monitoring."""

import json

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections

from core.commands import OperatorCommand, one_line
from ops.backup.create import BackupError, format_size, list_backups
from ops.backup.freshness import backup_freshness
from ops.backup.offsite import open_store
from ops.backup.restore import clean_up_interrupted_restores, leftover_message


class Command(OperatorCommand):
    help = (
        "List backups (newest first) with date, size, environment, encryption and verification; "
        "--remote lists the off-site store; --check --max-age 26h exits 1 when the newest "
        "verified backup is older."
    )
    database_default = None
    database_help = "only backups of this database alias (default: every backup)"
    service_errors = (BackupError,)

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", dest="directory", help="directory to list (default BACKUP_DIR)"
        )
        parser.add_argument(
            "--no-verify",
            action="store_false",
            dest="verify",
            help="do not read the files to check their checksums (fast)",
        )
        parser.add_argument(
            "--remote", action="store_true", help="the off-site store (BACKUP_STORAGE_URL)"
        )
        parser.add_argument("--json", action="store_true", help="a JSON list for programs")
        parser.add_argument(
            "--check",
            action="store_true",
            help="exit 1 unless the newest verified backup of the environment is recent enough",
        )
        parser.add_argument(
            "--max-age", default="26h", help="for --check: 30m, 26h, 2d (default 26h)"
        )
        parser.add_argument(
            "--environment",
            help=f"for --check: whose backups (default APP_ENV={settings.APP_ENV})",
        )

    def handle(self, *args, directory, database, verify, remote, check, verbosity, **options):
        if check:
            return self._check(
                remote,
                directory,
                options["environment"] or settings.APP_ENV,
                options["max_age"],
                options["json"],
            )
        self._clean_up_interrupted_restores(database or "default", verbosity)
        if remote:
            listings = open_store().list_backups()
        else:
            listings = list_backups(
                directory,
                database=connections[database].settings_dict["NAME"] if database else None,
                verify=verify,
                progress=self.progress,
            )
        if options["json"]:
            self.stdout.write(json.dumps([item.as_dict() for item in listings], indent=2))
            return
        if not listings:
            self.stdout.write("no backups")
            return
        rows = [
            (
                f"{item.created_at:%Y-%m-%d %H:%M:%S}",
                format_size(item.size),
                item.environment or "?",
                "age" if item.encrypted else "plain",
                _status(item),
                item.name,
            )
            for item in listings
        ]
        columns = ("created (UTC)", "size", "environment", "encrypted", "checksum", "file")
        lines = self.table_lines(columns, rows, right=("size",))
        self.stdout.write(next(lines))
        for item, line in zip(listings, lines, strict=True):
            self.stdout.write(line)
            if item.problem and verbosity >= 1:
                self.stdout.write(f"    {item.problem}")

    def _clean_up_interrupted_restores(self, using: str, verbosity: int) -> None:
        """Databases a killed restore left behind are reported (on stderr, so that --json
        stays JSON) and dropped; a server that cannot be reached leaves the listing alone."""
        try:
            dropped = clean_up_interrupted_restores(using)
        except (BackupError, psycopg.Error) as exc:
            if verbosity >= 2:
                self.stderr.write(f"not checked for interrupted restores: {one_line(exc)}")
            return
        for name in dropped:
            self.stderr.write(leftover_message(name))

    def _check(self, remote, directory, environment, max_age_text, as_json) -> None:
        freshness = backup_freshness(
            environment, max_age_text, remote=remote, directory=directory, progress=self.progress
        )
        if as_json:
            self.stdout.write(json.dumps(freshness.as_dict(), indent=2))
        if problem := freshness.problem():
            raise CommandError(problem)
        if not as_json:
            self.stdout.write(f"ok: {freshness.summary} ({freshness.newest.name})")


def _status(item) -> str:
    if item.problem:
        return "FAILED" if item.manifest else "NO MANIFEST"
    return "ok" if item.verified else "not checked"
