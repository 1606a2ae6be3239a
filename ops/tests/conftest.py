"""Fixtures of the migration tests: a database migrated once per session, and per-test copies of
it (with a project copy for tests that edit migration files)."""

import pytest
from django.core.management import call_command
from django.db import connection, connections

from ops.tests.scratch import copy_project, scratch_database


@pytest.fixture(scope="session")
def migrated_template(django_db_setup, django_db_blocker):
    """Name of a database with every migration applied, the template of the scratch copies."""
    with django_db_blocker.unblock():
        name = f"{connection.settings_dict['NAME']}_migrations_template"
        with scratch_database(name) as template:
            call_command("migrate", database=template.alias, verbosity=0, interactive=False)
            connections[template.alias].close()  # a template must have no sessions
            yield name


@pytest.fixture
def scratch_db(db, migrated_template, django_db_blocker):
    """A fresh, fully migrated database of its own (alias and URL), for one test. (With `db`,
    the default connection is the test database, never the developer's, in the meantime.)"""
    with django_db_blocker.unblock():
        name = f"{migrated_template.removesuffix('_template')}_scratch"
        with scratch_database(name, template=migrated_template) as scratch:
            yield scratch


@pytest.fixture
def project_copy(tmp_path):
    """A copy of the project's code whose migration files the test may change."""
    return copy_project(tmp_path / "project")
