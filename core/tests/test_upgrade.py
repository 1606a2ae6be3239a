"""Databases migrated before the schema's foundation moved from ops to core keep migrating: one
migrated with the code of the last commit before the move, then with this code, ends with the
catalog of a database migrated with this code alone, and its history, records and integrity
report are those of the fresh one."""

import io
import json
import subprocess
import tarfile

import pytest

from tests.support.catalog import schema_differences, schema_snapshot
from tests.support.processes import ROOT
from tests.support.scratch import database_alias, new_database

# main just before the move (issue 22): ops/migrations/0001 held the foundation
BEFORE_THE_MOVE = "725cc080aec4778fde0951c53931ac2ee06d9b47"


@pytest.fixture(scope="module")
def project_before_the_move(tmp_path_factory):
    """The project's code as it was at BEFORE_THE_MOVE, from the repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", BEFORE_THE_MOVE],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"this test needs commit {BEFORE_THE_MOVE[:7]} in the checkout's history: "
        + archive.stderr.decode(errors="replace")
    )
    destination = tmp_path_factory.mktemp("before_the_move")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    assert (destination / "ops" / "migrations" / "0001_extensions_and_shared_functions.py").exists()
    return destination


@pytest.fixture
def upgraded_db(db, django_db_blocker, migrated_template):
    """An empty database of its own (alias and URL) on the tests' server, dropped afterwards."""
    with django_db_blocker.unblock():
        name = f"{migrated_template.removesuffix('_template')}_upgraded"
        with new_database(name), database_alias(name) as scratch:
            yield scratch


def history(database) -> list[tuple]:
    result = database.manage("migration_history", "--json")
    assert result.returncode == 0, result.stderr
    return [
        (entry["app"], entry["name"], entry["status"], entry["checksum"], entry["steps"])
        for entry in json.loads(result.stdout)
    ]


def migrations_check(database) -> dict:
    result = database.manage("validate", "--json")
    report = json.loads(result.stdout)
    (check,) = [r for r in report["results"] if r["check"] == "migrations"]
    return check


@pytest.mark.slow
@pytest.mark.session  # the code from before the move predates DATABASE_POOLER: it sends options
def test_a_database_migrated_before_the_move_migrates_to_the_same_catalog(
    project_before_the_move, upgraded_db, scratch_db
):
    old = upgraded_db.manage("migrate", "--noinput", project=project_before_the_move)
    assert old.returncode == 0, old.stderr
    assert "Applying ops.0001_extensions_and_shared_functions" in old.stdout

    new = upgraded_db.manage("migrate", "--noinput")
    assert new.returncode == 0, new.stderr
    assert "Applying ops.0003_checksums_after_the_core_move... OK" in new.stdout
    assert "Applying core.0001" not in new.stdout  # its old name is applied: nothing runs twice

    upgraded, fresh = schema_snapshot(upgraded_db.alias), schema_snapshot(scratch_db.alias)
    assert upgraded["functions"] and upgraded["relations"]
    assert schema_differences(fresh, upgraded) == []

    assert upgraded_db.manage("migrate", "--check").returncode == 0  # nothing left to apply
    for database in (upgraded_db, scratch_db):
        checked = database.manage("migration_history", "--check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(history(upgraded_db)) == sorted(history(scratch_db))  # applied in other orders
    assert {status for _, _, status, _, _ in history(upgraded_db)} == {"applied"}
    assert migrations_check(upgraded_db) == migrations_check(scratch_db)
    assert migrations_check(upgraded_db)["status"] == "PASS"
