"""What a restore killed after its swap leaves behind (`{name}__replaced_…`, and a restored
database never validated) is reported and dropped by the next `restore` or `backups`; a scratch
database in use by a running restore is left alone."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from ops.backup import client as pg
from ops.backup.create import create_backup
from ops.backup.restore import RestoreOptions, clean_up_interrupted_restores, restore_backup
from ops.tests.conftest import leftover_databases
from tests.support.processes import server_connection

pytestmark = pytest.mark.django_db(transaction=True)


def leave_behind(mark: str) -> str:
    """A database as a restore killed at that point leaves it (`__replaced_` after the swap,
    `__restore_` before it)."""
    name = f"{connection.settings_dict['NAME']}{mark}20261203080000_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    return name


def test_backups_reports_and_drops_what_a_killed_restore_left(manage, backup_dir):
    replaced, scratch = leave_behind("__replaced_"), leave_behind("__restore_")
    result = manage("backups", "--dir", str(backup_dir), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # the listing stays JSON
    assert (
        f"dropped {replaced}, left by a restore killed after its swap: the database it "
        "restored was never validated (run manage.py validate)" in result.stderr
    )
    assert f"dropped {scratch}, left by an interrupted restore" in result.stderr
    assert leftover_databases() == []
    assert manage("backups", "--dir", str(backup_dir)).stderr == ""  # nothing left to say


def test_the_next_restore_reports_and_drops_them(backup_dir):
    backup = create_backup(keep_days=0)
    replaced = leave_behind("__replaced_")
    lines = []
    result = restore_backup(backup.path, RestoreOptions(safety_backup=False, report=lines.append))
    assert result.leftovers_dropped == [replaced] and leftover_databases() == []
    assert any(line.startswith(f"dropped {replaced}, left by a restore killed") for line in lines)


def test_a_running_restores_databases_are_left_alone(backup_dir):
    scratch = leave_behind("__restore_")
    target = connection.settings_dict["NAME"]
    # as a running restore holds it: on the server's maintenance database, in a session of its
    # own (past PgBouncer when the suite runs through it)
    with pg.connect(server_connection().alias, dbname="postgres", autocommit=True) as running:
        running.execute(
            "SELECT pg_advisory_lock(hashtext('legalplatform restore ' || %s))", [target]
        )
        assert clean_up_interrupted_restores() == []
        assert leftover_databases() == [scratch]
    assert clean_up_interrupted_restores() == [scratch]
