"""migrate_undo: rolls back the last migrations and records when; `migrate` then returns the
same schema; an irreversible migration in the way, a wrong confirmation or a failing reverse
leaves the schema as it was."""

import json
import signal
import stat
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.migrations import Migration, RunPython, RunSQL, SeparateDatabaseAndState
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from ops.history.selectors import disk_migrations, project_app_labels
from ops.history.services import (
    UndoRefused,
    irreversible_operation,
    plan_undo,
    undo_migrations,
)
from ops.models import MigrationRecord
from tests.support.catalog import schema_differences, schema_snapshot
from tests.support.processes import subprocess_env
from tests.support.scratch import create_table_operations, leaf_migration, write_migration


def migration_keys() -> list:
    """Every migration of the project in the order `migrate` applies them."""
    return list(disk_migrations(project_app_labels()))


def applied(alias: str) -> set:
    return set(MigrationRecorder(connections[alias]).applied_migrations())


def rolled_back(alias: str) -> set:
    records = MigrationRecord.objects.using(alias).filter(rolled_back_at__isnull=False)
    return set(records.values_list("app", "name"))


@pytest.mark.slow
def test_undo_of_n_steps_then_migrate_returns_the_same_schema(scratch_db, project_copy):
    using = scratch_db.alias
    previous = leaf_migration("ops")
    for name in ("0901_probe_one", "0902_probe_two"):
        write_migration(project_copy, "ops", name, previous, create_table_operations(name[5:]))
        previous = name
    # not atomic, like a migration with AddIndexConcurrently: the undo runs step by step
    write_migration(
        project_copy,
        "ops",
        "0903_probe_index",
        previous,
        '[migrations.RunSQL("CREATE INDEX CONCURRENTLY probe_two_idx ON probe_two (id)", '
        '"DROP INDEX CONCURRENTLY probe_two_idx")]',
        atomic=False,
    )
    assert scratch_db.manage("migrate", "--noinput", project=project_copy).returncode == 0
    before = schema_snapshot(using)

    result = scratch_db.manage(
        "migrate_undo", "ops", "--steps", "2", "--noinput", "--no-backup", project=project_copy
    )
    assert result.returncode == 0, result.stderr
    assert "  ops.0903_probe_index\n  ops.0902_probe_two\n" in result.stdout
    assert "Rolled back 2 migrations" in result.stdout
    assert rolled_back(using) == {("ops", "0903_probe_index"), ("ops", "0902_probe_two")}
    tables = schema_snapshot(using)["relations"]
    assert "public.probe_one" in tables and "public.probe_two" not in tables

    # no app: the most recently applied migration of the project
    result = scratch_db.manage("migrate_undo", "--noinput", "--no-backup", project=project_copy)
    assert result.returncode == 0, result.stderr
    assert "  ops.0901_probe_one\n" in result.stdout
    assert ("ops", "0901_probe_one") not in applied(using)

    assert scratch_db.manage("migrate", "--noinput", project=project_copy).returncode == 0
    assert schema_differences(before, schema_snapshot(using)) == []
    assert rolled_back(using) == set()


@pytest.mark.slow
def test_undo_backs_up_then_rolls_back_and_migrate_restores_the_schema(scratch_db, tmp_path):
    using = scratch_db.alias
    skills = [key for key in migration_keys() if key[0] == "skills"]
    before, applied_before = schema_snapshot(using), applied(using)

    plan = plan_undo(app="skills", steps=3, using=using)
    assert plan.migrations == skills[:-4:-1]  # newest first
    with override_settings(BACKUP_DIR=tmp_path):
        result = undo_migrations(plan, using=using, verbosity=0)

    assert result.backup_path.parent == tmp_path and "before-undo" in result.backup_path.name
    assert stat.S_IMODE(result.backup_path.stat().st_mode) == 0o600
    manifest = json.loads(
        result.backup_path.with_name(f"{result.backup_path.name}.manifest.json").read_text()
    )
    assert "skills." + skills[-1][1] in manifest["applied_migrations"]  # taken before the undo
    assert applied(using) == applied_before - set(plan.migrations)
    assert rolled_back(using) == set(plan.migrations)

    call_command("migrate", database=using, verbosity=0)
    assert schema_differences(before, schema_snapshot(using)) == []
    assert applied(using) == applied_before and rolled_back(using) == set()


def test_undo_stops_before_any_change_when_the_safety_backup_fails(scratch_db, tmp_path):
    (tmp_path / "a-file").write_text("")
    plan = plan_undo(app="skills", using=scratch_db.alias)
    with override_settings(BACKUP_DIR=tmp_path / "a-file" / "backups"):
        with pytest.raises(UndoRefused, match="^the safety backup failed, nothing was changed: "):
            undo_migrations(plan, using=scratch_db.alias, verbosity=0)
    assert set(plan.migrations) <= applied(scratch_db.alias)


def migrate_probes(scratch_db, project, first: str, operations: str):
    """Apply ops migration `first` (with `operations`), then a reversible one after it, on a
    project copy; return the schema and the applied migrations then."""
    write_migration(project, "ops", first, leaf_migration("ops"), operations)
    write_migration(project, "ops", "0902_probe_table", first, create_table_operations("probe"))
    assert scratch_db.manage("migrate", "--noinput", project=project).returncode == 0
    return schema_snapshot(scratch_db.alias), applied(scratch_db.alias)


def undo_both_probes(scratch_db, project):
    return scratch_db.manage(
        "migrate_undo", "ops", "--steps", "2", "--noinput", "--no-backup", project=project
    )


@pytest.mark.slow
def test_undo_refuses_an_irreversible_migration_and_changes_nothing(scratch_db, project_copy):
    before, applied_before = migrate_probes(
        scratch_db, project_copy, "0901_probe_irreversible", "[migrations.RunPython(forwards)]"
    )

    result = undo_both_probes(scratch_db, project_copy)
    assert result.returncode == 1
    assert result.stderr == (
        "CommandError: cannot undo: ops.0901_probe_irreversible is irreversible "
        "(operation 1, Raw Python operation, has no reverse); nothing was changed\n"
    )
    assert schema_differences(before, schema_snapshot(scratch_db.alias)) == []
    assert applied(scratch_db.alias) == applied_before


@pytest.mark.slow
def test_a_failing_reverse_rolls_the_whole_undo_back(scratch_db, project_copy):
    before, applied_before = migrate_probes(
        scratch_db,
        project_copy,
        "0901_probe_bad_reverse",
        '[migrations.RunSQL("SELECT 1", "SELECT 1 / 0")]',
    )

    result = undo_both_probes(scratch_db, project_copy)
    assert result.returncode == 1
    assert result.stderr.startswith("CommandError: undo failed: division by zero")
    assert result.stderr.endswith("; nothing was rolled back\n")
    assert schema_differences(before, schema_snapshot(scratch_db.alias)) == []
    assert applied(scratch_db.alias) == applied_before
    assert rolled_back(scratch_db.alias) == set()


@pytest.mark.slow
def test_undo_asks_for_the_database_name_first(scratch_db):
    leaf = ("skills", leaf_migration("skills"))
    result = scratch_db.manage("migrate_undo", "skills", "--no-backup", input="legalplatform\n")
    assert result.returncode == 1
    assert f"  skills.{leaf[1]}\n" in result.stdout
    assert "Type the database name to continue" in result.stdout
    assert result.stderr == (
        "CommandError: confirmation did not match the database name; nothing was changed\n"
    )
    assert leaf in applied(scratch_db.alias)

    result = scratch_db.manage("migrate_undo", "skills", "--no-backup", input=scratch_db.name)
    assert result.returncode == 0, result.stderr
    assert leaf not in applied(scratch_db.alias) and leaf in rolled_back(scratch_db.alias)


def test_undo_without_a_prompt_is_refused_on_production(scratch_db, settings):
    settings.APP_ENV = "production"
    with pytest.raises(CommandError) as refusal:
        call_command("migrate_undo", "--noinput", "--no-backup", database=scratch_db.alias)
    assert str(refusal.value) == (
        "the database looks like production (APP_ENV is production): --noinput is refused; "
        "type its name at the prompt (or pipe it in)"
    )


def test_undo_refuses_what_it_cannot_do(scratch_db):
    using = scratch_db.alias
    with pytest.raises(
        UndoRefused, match=r"^'nope' is not one of the project's apps \(core, cases, "
    ):
        plan_undo(app="nope", using=using)
    with pytest.raises(UndoRefused, match="^--steps must be at least 1; got 0$"):
        plan_undo(steps=0, using=using)
    with pytest.raises(
        UndoRefused, match=r"^skills has only \d+ applied migrations; cannot undo 99$"
    ):
        plan_undo(app="skills", steps=99, using=using)
    call_command("migrate", "skills", "zero", database=using, verbosity=0)
    with pytest.raises(UndoRefused, match="^skills has no applied migration; nothing to undo$"):
        plan_undo(app="skills", using=using)


def test_the_plan_names_dependent_migrations_of_other_apps(scratch_db):
    cases = [key for key in migration_keys() if key[0] == "cases"]
    plan = plan_undo(app="cases", steps=len(cases), using=scratch_db.alias)
    assert plan.targets == [("cases", None)]
    assert [key for key in plan.migrations if key[0] == "cases"] == cases[::-1]
    assert plan.migrations[-1] == ("cases", "0001_initial")
    assert ("admin", "0001_initial") in plan.migrations  # the admin log points at users


def noop(apps, schema_editor):
    pass


@pytest.mark.parametrize(
    ("operation", "problem"),
    [
        (RunSQL("SELECT 1"), "operation 2, Raw SQL operation, has no reverse"),
        (RunPython(noop), "operation 2, Raw Python operation, has no reverse"),
        (
            SeparateDatabaseAndState(database_operations=[RunSQL("SELECT 1")]),
            "operation 2, Custom state/database change combination, has no reverse",
        ),
        (RunSQL("SELECT 1", RunSQL.noop), None),
        (RunPython(noop, RunPython.noop), None),
    ],
)
def test_irreversible_operation_names_the_first_one_without_a_reverse(operation, problem):
    migration = Migration("0009_probe", "ops")
    migration.operations = [RunSQL("SELECT 1", "SELECT 2"), operation]
    assert irreversible_operation(migration) == problem


@pytest.mark.slow
def test_an_undo_killed_after_unapplying_shows_it_rolled_back(scratch_db, project_copy):
    """kill -9 between Django unapplying one migration and the post_migrate signal that records
    the rollback: migration_history says "rolled back", not "pending"."""
    using = scratch_db.alias
    previous = leaf_migration("ops")
    # Not atomic, so each is unapplied on its own; the older one's reverse takes a minute.
    write_migration(
        project_copy,
        "ops",
        "0901_slow_reverse",
        previous,
        '[migrations.RunSQL("SELECT 1", "SELECT pg_sleep(60)")]',
        atomic=False,
    )
    write_migration(
        project_copy, "ops", "0902_probe", "0901_slow_reverse", create_table_operations("probe")
    )
    assert scratch_db.manage("migrate", "--noinput", project=project_copy).returncode == 0
    env = subprocess_env(
        **scratch_db.env,
        PYTHONPATH=str(project_copy),
        LEGALPLATFORM_DATA_DIR=str(settings.DATA_DIR),
    )
    undo = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "migrate_undo",
            "ops",
            "--steps",
            "2",
            "--noinput",
            "--no-backup",
        ],
        cwd=project_copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _sleeping_reverse(using):
            assert undo.poll() is None, undo.stderr.read().decode()
            assert time.monotonic() < deadline, "the slow reverse never started"
            time.sleep(0.05)
        undo.send_signal(signal.SIGKILL)
        undo.wait(timeout=30)
    finally:
        if undo.poll() is None:
            undo.kill()
        _end_sleeping_reverse(using)

    assert ("ops", "0902_probe") not in applied(using)  # unapplied, its rollback unrecorded
    assert ("ops", "0902_probe") not in rolled_back(using)
    history = scratch_db.manage("migration_history", "--json", project=project_copy)
    status = {(s["app"], s["name"]): s["status"] for s in json.loads(history.stdout)}
    assert status[("ops", "0902_probe")] == "rolled back"
    assert status[("ops", "0901_slow_reverse")] == "applied"


def _sleeping_reverse(using: str) -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = 'SELECT pg_sleep(60)' AND state = 'active'"
        )
        return cursor.fetchone() is not None


def _end_sleeping_reverse(using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = 'SELECT pg_sleep(60)'"
        )
