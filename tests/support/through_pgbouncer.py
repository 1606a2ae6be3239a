"""The whole test suite through a real PgBouncer in transaction pooling mode, when
`TEST_DATABASE_POOLER=pgbouncer` (`python3 dev.py test --pgbouncer`).

The test database is created and migrated on the server directly, as migrate runs on
DATABASE_DIRECT_URL in that mode; then Django's default connection reaches it through PgBouncer
with the settings DATABASE_POOLER=pgbouncer gives (no startup options, the role's statement
timeout, no server-side cursors, no prepared statements), the alias `direct` reaches the server
itself as DATABASE_DIRECT_URL does, and `manage.py` subprocesses get the variables an operator
sets: DATABASE_URL naming PgBouncer, DATABASE_POOLER, DATABASE_DIRECT_URL and
DATABASE_POOLER_ADMIN_URL. Tests marked `session` are deselected. PgBouncer stops (closing its
server connections) before pytest-django drops the test database."""

from __future__ import annotations

import contextlib
import copy

import pytest
from django.db import connection, connections

from legalplatform import config
from legalplatform.db.pooler import DIRECT_ALIAS
from tests.support.pgbouncer import PgBouncer, pgbouncer

VARIABLE = "TEST_DATABASE_POOLER"
# Server connections per database and user: enough for a test's transaction, the live server's
# threads and a few subprocesses at once; PgBouncer's clients wait for one beyond that.
POOL_SIZE = 8
# Every process of a run, each with its pool (up to DATABASE_POOL_SIZE) per database.
MAX_CLIENT_CONN = 1000


def enabled() -> bool:
    """Whether this run goes through PgBouncer; a value other than pgbouncer (or none/empty) is
    refused with one line."""
    return config.env_choice(VARIABLE, config.POOLERS, default="none") == "pgbouncer"


_bouncer: list[PgBouncer] = []  # the run's PgBouncer while default goes through it


def bouncer() -> PgBouncer | None:
    return _bouncer[0] if _bouncer else None


@contextlib.contextmanager
def default_through_pgbouncer():
    """Default through a new PgBouncer in front of its server, `direct` past it, for the
    duration; then default as it was."""
    connection.ensure_connection()  # the embedded server's host and port
    original = copy.deepcopy(connection.settings_dict)
    direct = copy.deepcopy(original)
    # The same test database as default: Django flushes it once, through default.
    direct.update(EMBEDDED=False, POOLER="none", TEST={**direct["TEST"], "MIRROR": "default"})
    with pgbouncer(pool_size=POOL_SIZE, max_client_conn=MAX_CLIENT_CONN) as running:
        pooled = config.database_settings(
            running.url(original["NAME"]),
            data_dir=None,
            pool_size=original["OPTIONS"]["pool"]["max_size"],
            wait_timeout_ms=original["OPTIONS"]["pool"]["timeout"] * 1000,
            idle_timeout_ms=original["OPTIONS"]["pool"]["max_idle"] * 1000,
            statement_timeout_ms=original["STATEMENT_TIMEOUT_MS"],
            ssl_mode="disable",
            fail_fast_ms=original["FAIL_FAST_SECONDS"] * 1000,
            pooler="pgbouncer",
        )
        pooled.pop("TEST")  # the test database exists: its name is NAME
        connections.close_all()
        connection.close_pool()  # of the server's address
        # In place: settings.DATABASES and the wrapper share this dict.
        connection.settings_dict.update(pooled, EMBEDDED=False, POOLER_ADMIN_URL=running.admin_url)
        # Restore's swap pauses PgBouncer's pool of the database it replaces, as in settings.py.
        direct["POOLER_ADMIN_URL"] = running.admin_url
        connections.settings[DIRECT_ALIAS] = direct
        _bouncer.append(running)
        try:
            yield running
        finally:
            _bouncer.clear()
            connections.close_all()
            connection.close_pool()
            connections[DIRECT_ALIAS].close_pool()
            del connections[DIRECT_ALIAS]
            del connections.settings[DIRECT_ALIAS]
            connection.settings_dict.clear()
            connection.settings_dict.update(original)


def adapt_items(items: list, config_) -> None:
    """Drop the tests marked `session` from a run through PgBouncer; let every test that uses
    the default database use `direct` too (where the session work it starts runs)."""
    session = [item for item in items if item.get_closest_marker("session")]
    if session:
        config_.hook.pytest_deselected(items=session)
        items[:] = [item for item in items if not item.get_closest_marker("session")]
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and "_django_db_helper" not in item.fixturenames:
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        databases = kwargs.get("databases") or ["default"]
        if databases != "__all__" and "default" in databases:
            kwargs["databases"] = [*databases, DIRECT_ALIAS]
            marked = pytest.mark.django_db(*(marker.args if marker else ()), **kwargs)
            item.add_marker(marked, append=False)  # the closest
