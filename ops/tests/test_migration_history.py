"""migration_history: each status (applied, pending, rolled back, MODIFIED after apply, missing
file) on a project copy whose migration files are edited, deleted and added; `--check` exit
codes; and the records the post_migrate signal keeps (checksums, rollbacks, back-fill)."""

import io
import json
from datetime import timedelta
from importlib import import_module

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ops.history.selectors import (
    APPLIED,
    MISSING,
    MODIFIED,
    PENDING,
    ROLLED_BACK,
    file_checksum,
    migration_history,
    project_app_labels,
    replaced_migrations,
)
from ops.history.services import backfill_migration_records
from ops.models import MigrationRecord
from tests.support.scratch import create_table_operations, leaf_migration, write_migration

CREATE_TABLE = '[migrations.RunSQL("CREATE TABLE {0} (id int)", "DROP TABLE {0}")]'  # reversible


@pytest.mark.slow
def test_history_shows_every_status_and_check_fails(scratch_db, project_copy):
    ops_leaf = leaf_migration("ops")
    edited = write_migration(
        project_copy, "ops", "0901_probe_edited", ops_leaf, create_table_operations("probe_edited")
    )
    deleted = write_migration(
        project_copy,
        "ops",
        "0902_probe_deleted",
        "0901_probe_edited",
        create_table_operations("probe_deleted"),
    )
    result = scratch_db.manage("migrate", "--noinput", project=project_copy)
    assert result.returncode == 0, result.stderr

    deleted.unlink()
    write_migration(
        project_copy,
        "ops",
        "0903_probe_rolled_back",
        "0901_probe_edited",
        create_table_operations("probe_rolled_back"),
    )
    assert scratch_db.manage("migrate", "ops", project=project_copy).returncode == 0
    # a plain `migrate APP TARGET` rollback is recorded too (post_migrate's plan)
    result = scratch_db.manage("migrate", "ops", "0901_probe_edited", project=project_copy)
    assert result.returncode == 0, result.stderr
    write_migration(
        project_copy,
        "ops",
        "0904_probe_pending",
        "0903_probe_rolled_back",
        create_table_operations("probe_pending"),
    )
    edited.write_text(edited.read_text() + "# edited after it was applied\n")

    result = scratch_db.manage("migration_history", "--json", project=project_copy)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    history = {entry["name"]: entry for entry in entries if entry["name"].startswith("09")}
    assert history["0901_probe_edited"]["status"] == MODIFIED
    assert history["0901_probe_edited"]["checksum"] == file_checksum(edited)
    assert history["0901_probe_edited"]["recorded_checksum"] != file_checksum(edited)
    assert history["0902_probe_deleted"]["status"] == MISSING
    assert history["0902_probe_deleted"]["checksum"] is None
    assert history["0903_probe_rolled_back"]["status"] == ROLLED_BACK
    assert history["0903_probe_rolled_back"]["rolled_back_at"] is not None
    assert history["0904_probe_pending"]["status"] == PENDING
    assert history["0904_probe_pending"]["applied_at"] is None
    others = [entry for entry in entries if not entry["name"].startswith("09")]
    assert {entry["status"] for entry in others} == {APPLIED}
    assert {entry["app"] for entry in others} == {"core", "cases", "skills", "discovery", "ops"}
    names = [entry["name"] for entry in entries]
    assert names.index("0902_probe_deleted") < names.index("0904_probe_pending")

    result = scratch_db.manage("migration_history", "--check", project=project_copy)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "migrations do not match the database: "
        "1 MODIFIED after apply, 1 missing file, 1 rolled back, 1 pending"
    )
    lines = {tuple(line.split()[:2]): line for line in result.stdout.splitlines()[1:-1]}
    assert lines["ops", "0901_probe_edited"].endswith("MODIFIED after apply")
    assert lines["ops", "0902_probe_deleted"].endswith("missing file")
    assert "rolled back 20" in lines["ops", "0903_probe_rolled_back"]
    assert lines["ops", "0904_probe_pending"].endswith("pending")
    assert lines["skills", "0001_initial"].endswith("applied")


@pytest.mark.slow
def test_check_passes_when_every_migration_is_applied(scratch_db):
    result = scratch_db.manage("migration_history", "--check")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1].endswith(" applied")


def test_check_fails_on_a_pending_migration(scratch_db):
    call_command("migrate", "skills", "zero", database=scratch_db.alias, verbosity=0)
    with pytest.raises(SystemExit) as exit:
        call_command("migration_history", "--check", database=scratch_db.alias)
    assert exit.value.code == 1


def test_a_rolled_back_migration_whose_file_is_gone_is_history_not_a_problem(scratch_db):
    applied_at = timezone.now() - timedelta(days=2)
    MigrationRecord.objects.using(scratch_db.alias).create(
        app="ops",
        name="0999_withdrawn",
        checksum="ab" * 32,
        steps=2,
        applied_at=applied_at,
        rolled_back_at=applied_at + timedelta(days=1),
    )
    withdrawn = migration_history(using=scratch_db.alias)[-1]
    assert (withdrawn.app, withdrawn.name, withdrawn.status) == (
        "ops",
        "0999_withdrawn",
        ROLLED_BACK,
    )
    assert (withdrawn.steps, withdrawn.recorded_checksum, withdrawn.checksum) == (2, "ab" * 32, "")
    assert not withdrawn.needs_attention
    call_command("migration_history", "--check", database=scratch_db.alias, stdout=io.StringIO())


def test_migrate_records_each_file_checksum_and_steps(scratch_db):
    history = migration_history(using=scratch_db.alias)
    records = {(r.app, r.name): r for r in MigrationRecord.objects.using(scratch_db.alias).all()}
    assert history and {state.status for state in history} == {APPLIED}
    for state in history:
        record = records[(state.app, state.name)]
        assert record.checksum == state.checksum and len(record.checksum) == 64
        assert record.steps == state.steps > 0
        assert record.applied_at == state.applied_at and record.rolled_back_at is None


def test_records_are_back_filled_from_django_migrations(scratch_db):
    using = scratch_db.alias
    expected = {
        (r.app, r.name): (r.checksum, r.steps, r.applied_at)
        for r in MigrationRecord.objects.using(using).all()
    }
    MigrationRecord.objects.using(using).all().delete()
    call_command("migrate", database=using, verbosity=0)  # nothing to apply: back-fills

    backfilled = {
        (r.app, r.name): (r.checksum, r.steps, r.applied_at)
        for r in MigrationRecord.objects.using(using).all()
    }
    assert backfilled == expected
    applied = MigrationRecorder(connections[using]).applied_migrations()
    # core.0001 was applied when Django recorded the name it replaces, ops.0001
    first_name = {new: old for old, new in replaced_migrations(project_app_labels()).items()}
    assert {key: at for key, (_, _, at) in backfilled.items()} == {
        key: applied[first_name.get(key, key)].applied for key in backfilled
    }
    assert backfill_migration_records(using) == 0


@pytest.mark.django_db
def test_the_table_names_the_time_zone_of_its_times(settings):
    out = io.StringIO()
    call_command("migration_history", stdout=out)
    header = out.getvalue().splitlines()[0]
    assert f"applied ({settings.TIME_ZONE})" in header  # Europe/Bucharest, not UTC


def test_records_of_files_edited_after_they_were_applied_take_the_new_checksums(scratch_db):
    """ops.0005: a database that applied four migrations before their docstrings cited
    docs/schema.md has their old checksums; once migrated, their records match the files."""
    using = scratch_db.alias
    edited = import_module("ops.migrations.0005_checksums_after_docs_schema_references")
    keys = {(app, name) for app, name, _, _ in edited.EDITED_FILES}
    records = MigrationRecord.objects.using(using)
    call_command("migrate", "ops", "0004", database=using, verbosity=0)
    for app, name, before, _ in edited.EDITED_FILES:
        records.filter(app=app, name=name).update(checksum=before)
    states = [s for s in migration_history(using=using) if (s.app, s.name) in keys]
    assert len(states) == 4 and {state.status for state in states} == {MODIFIED}

    call_command("migrate", "ops", database=using, verbosity=0)

    states = [s for s in migration_history(using=using) if (s.app, s.name) in keys]
    assert {state.status for state in states} == {APPLIED}
    assert {(s.app, s.name): s.checksum for s in states} == {
        (app, name): after for app, name, _, after in edited.EDITED_FILES
    }
    call_command("migration_history", "--check", database=using, stdout=io.StringIO())
