"""Fixtures shared by every app's tests: the tests' own Redis database, `manage.py` in a
subprocess against the test database, as an operator runs it, and scratch databases, empty or
copies of one migrated once per session; with TEST_DATABASE_POOLER=pgbouncer, the whole suite
through a real PgBouncer (tests/support/through_pgbouncer.py). The helpers behind them live in
the test-support package, tests/support/."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import override_settings

from legalplatform.config import ConfigurationError
from tests.support import through_pgbouncer
from tests.support.processes import TEST_REDIS_DB, redis_url_for_db, run_manage
from tests.support.scratch import scratch_database


def pytest_configure(config):
    try:
        config.through_pgbouncer = through_pgbouncer.enabled()
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config):
    if config.through_pgbouncer:
        return (
            "database: through PgBouncer in transaction mode (TEST_DATABASE_POOLER=pgbouncer); "
            "tests marked session deselected"
        )
    return None


def pytest_collection_modifyitems(config, items):
    if config.through_pgbouncer:
        through_pgbouncer.adapt_items(items, config)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request, django_db_blocker):
    """pytest-django's test database, made and migrated on the server; then reached through
    PgBouncer when the suite runs through it, until PgBouncer stops before the database is
    dropped."""
    if not request.config.through_pgbouncer:
        yield
        return
    with contextlib.ExitStack() as stack:
        with django_db_blocker.unblock():
            stack.enter_context(through_pgbouncer.default_through_pgbouncer())
        try:
            yield
        finally:
            with django_db_blocker.unblock():
                stack.close()


@pytest.fixture(scope="session", autouse=True)
def _test_redis_database():
    """Point every cache alias at the tests' own Redis database and start it empty."""
    caches = {
        alias: {**config, "LOCATION": redis_url_for_db(config["LOCATION"], TEST_REDIS_DB)}
        for alias, config in settings.CACHES.items()
    }
    with override_settings(CACHES=caches):
        from django_redis import get_redis_connection

        get_redis_connection("default").flushdb()
        yield


@pytest.fixture
def redis_client():
    """The raw Redis client of the default cache, on an empty test database."""
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    client.flushdb()
    return client


@pytest.fixture
def manage(django_db_blocker):
    """Run `manage.py ARGS` in a subprocess against the test database; returns the result.

    Tests using it need `transaction=True` (or no database fixture) so the subprocess sees
    committed data.
    """

    def run(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 300):
        with django_db_blocker.unblock():
            return run_manage(*args, env=env, input=input, timeout=timeout)

    return run


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
    """A fresh, fully migrated database of its own (alias and URL), for one test. With `db`, the
    default connection is the test database, never the developer's, in the meantime; unblocking
    after it lets the test use the alias Django's test case does not know about."""
    with django_db_blocker.unblock():
        name = f"{migrated_template.removesuffix('_template')}_scratch"
        with scratch_database(name, template=migrated_template) as scratch:
            yield scratch


@pytest.fixture
def empty_db(db, django_db_blocker):
    """An empty database of its own (alias and URL) on the tests' server, for one test; dropped
    afterwards."""
    with django_db_blocker.unblock():
        name = f"{connection.settings_dict['NAME']}_empty_{uuid.uuid4().hex[:8]}"
        with scratch_database(name) as scratch:
            yield scratch
