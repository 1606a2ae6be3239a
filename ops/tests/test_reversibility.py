"""Every migration of the project is reversible: each app migrated to zero and forward again
leaves the schema exactly as the catalog described it before."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from ops.history.selectors import project_app_labels, replaced_migrations
from tests.support.catalog import schema_differences, schema_snapshot
from tests.support.scratch import database_alias, new_database

PROJECT_APPS = ["core", "cases", "skills", "discovery", "ops"]


@pytest.fixture(scope="module")
def round_trip_database(migrated_template, django_db_blocker):
    """One migrated copy for every app's round trip: each must leave it as it found it."""
    with django_db_blocker.unblock():
        name = f"{migrated_template.removesuffix('_template')}_round_trip"
        with new_database(name, template=migrated_template):
            yield name


@pytest.fixture
def round_trip_db(db, round_trip_database, django_db_blocker):
    with django_db_blocker.unblock(), database_alias(round_trip_database) as scratch:
        yield scratch


def test_the_project_apps_are_the_five_apps_of_the_repository():
    assert project_app_labels() == PROJECT_APPS


@pytest.mark.slow
@pytest.mark.parametrize("app", PROJECT_APPS)
def test_app_migrated_to_zero_and_forward_has_the_same_schema(app, round_trip_db):
    using = round_trip_db.alias
    before = schema_snapshot(using)

    call_command("migrate", app, "zero", database=using, verbosity=0)
    applied = MigrationRecorder(connections[using]).applied_migrations()
    replaced = replaced_migrations(PROJECT_APPS)  # ops.0001 is a name of core.0001
    assert not [key for key in applied if key[0] == app and key not in replaced]
    unapplied = schema_snapshot(using)
    if (
        app == "core"
    ):  # no tables of its own: its shared function goes, and the migrations that need it
        assert "public.update_updated_at_column()" not in unapplied["functions"]
    else:
        models = apps.get_app_config(app).get_models()
        tables = {f"public.{model._meta.db_table}" for model in models}
        assert tables and not tables & unapplied["relations"].keys()

    call_command("migrate", database=using, verbosity=0)
    assert schema_differences(before, schema_snapshot(using)) == []


def test_the_snapshot_sees_each_kind_of_schema_change(scratch_db):
    using = scratch_db.alias
    before = schema_snapshot(using)
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            COMMENT ON COLUMN skills.display_name IS 'changed';
            CREATE INDEX probe_idx ON skills (version);
            ALTER TABLE skills ADD CONSTRAINT probe_check CHECK (usage_count < 10) NOT VALID;
            CREATE FUNCTION probe() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RETURN NEW; END $$;
            CREATE TRIGGER probe_trigger BEFORE INSERT ON skills
                FOR EACH ROW EXECUTE FUNCTION probe();
            CREATE VIEW probe_view AS SELECT skill_id FROM skills;
            """
        )
    changes = "\n".join(schema_differences(before, schema_snapshot(using)))
    for expected in (
        "columns: public.skills.display_name changed",
        "indexes: public.probe_idx is new",
        "constraints: public.skills.probe_check is new",
        "functions: public.probe() is new",
        "triggers: public.skills.probe_trigger is new",
        "views: public.probe_view is new",
    ):
        assert expected in changes
