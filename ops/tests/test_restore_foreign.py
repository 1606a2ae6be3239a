"""A dump that is not of this project is refused before anything changes (issue 16, §2):
`restore --no-manifest` and `import_anonymized` check the restored scratch database for
django_migrations, a history this code can migrate from and the project's tables, and refuse in
one line with the working database exactly as it was and no scratch database left."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.db import connections

from ops.backup.create import create_backup, manifest_path_for
from ops.backup.restore import RestoreError, RestoreOptions, restore_backup
from ops.history.selectors import foreign_history_problem
from ops.tests.conftest import fill_sample_data, fingerprint, leftover_databases
from tests.support.scratch import scratch_database

pytestmark = pytest.mark.django_db(transaction=True)

ANOTHER_APPLICATION = """
CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, widget_id int REFERENCES widgets, qty int);
INSERT INTO widgets (name) SELECT 'widget ' || g FROM generate_series(1, 50) g;
"""
ANOTHER_DJANGO_PROJECT = """
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255),
                                applied timestamptz);
INSERT INTO django_migrations (app, name, applied)
VALUES ('contenttypes', '0001_initial', now()), ('blog', '0001_initial', now());
CREATE TABLE blog_post (id serial PRIMARY KEY, title text);
"""
# This project's database, as a newer version or a damaged copy left it.
NEWER_VERSION = (
    "INSERT INTO django_migrations (app, name, applied) VALUES ('cases', '0099_future', now())"
)
MISSING_TABLES = "DROP TABLE tasks CASCADE; DROP TABLE template_usage_logs CASCADE"
HOLE_IN_HISTORY = "DELETE FROM django_migrations WHERE app = 'skills' AND name LIKE '0002%'"

REFUSALS = {
    "another-application": (None, ANOTHER_APPLICATION, "it has no django_migrations table"),
    "another-django-project": (
        None,
        ANOTHER_DJANGO_PROJECT,
        "no migration of this project's apps (core, cases, skills, discovery, ops) is applied",
    ),
    "a-newer-version": ("template", NEWER_VERSION, "it has cases.0099_future applied, which"),
    "missing-tables": ("template", MISSING_TABLES, "table tasks (of cases.Task) is missing"),
    "a-hole-in-the-history": ("template", HOLE_IN_HISTORY, "is applied without skills.0002_"),
}


@pytest.fixture
def dump_of(migrated_template, tmp_path, django_db_blocker):
    """dump_of(kind): a plain SQL dump, without a manifest, of a database of that kind."""

    def make(kind: str):
        template, script, _ = REFUSALS[kind]
        name = f"foreign_{os.getpid()}_{kind.replace('-', '_')}"
        template = migrated_template if template else None
        with django_db_blocker.unblock(), scratch_database(name, template=template) as db:
            with connections[db.alias].cursor() as cursor:
                cursor.execute(script)
            connections[db.alias].close()
            backup = create_backup(using=db.alias, output_dir=tmp_path, fmt="plain", label=kind)
        manifest_path_for(backup.path).unlink()  # it comes from elsewhere
        return backup.path

    return make


def problem_of(connection_alias: str) -> str | None:
    with connections[connection_alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = cursor.fetchall()
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')"
        )
        tables = {name for (name,) in cursor.fetchall()}
    return foreign_history_problem(applied, tables)


def test_this_projects_database_at_any_point_of_its_history_is_accepted(django_db_blocker):
    assert problem_of("default") is None
    # an older database: only the first migrations applied (the tables they made)
    with django_db_blocker.unblock(), scratch_database(f"older_{os.getpid()}") as older:
        call_command("migrate", "cases", "0001", database=older.alias, verbosity=0)
        assert problem_of(older.alias) is None


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_restore_without_manifest_refuses_a_dump_that_is_not_ours(dump_of, kind, backup_dir):
    path = dump_of(kind)
    fill_sample_data()
    before = fingerprint()
    with pytest.raises(RestoreError) as refused:
        restore_backup(path, RestoreOptions(require_manifest=False, safety_backup=False))
    message = str(refused.value)
    assert message.startswith("refused: the dump is not a database of this project: ")
    assert REFUSALS[kind][2] in message and "\n" not in message
    assert fingerprint() == before and leftover_databases() == []


@pytest.mark.slow
def test_the_commands_refuse_another_applications_dump_in_one_line(dump_of, manage, backup_dir):
    path = dump_of("another-application")
    fill_sample_data()
    before = fingerprint()
    for args in (("restore", str(path), "--no-manifest"), ("import_anonymized", str(path))):
        result = manage(*args, "--noinput", env={"BACKUP_DIR": str(backup_dir)})
        assert result.returncode == 1, result.stderr
        *progress, error = result.stderr.splitlines()  # progress lines, then the one error
        assert error.startswith("CommandError: refused: the dump is not a database of this")
        assert "django_migrations" in error and "Traceback" not in result.stderr
        assert fingerprint() == before and leftover_databases() == []
    assert path.exists()  # an import that was refused deletes no export
