"""The cases migrations reverse cleanly and apply again, on a scratch database of their own:
the app holds the user model, so unapplying it in the shared test database would break every
other test."""

import uuid
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from conftest import current_database_url

INDEXES = [
    "idx_cases_title_trgm",
    "idx_cases_number_trgm",
    "idx_clients_name_trgm",
    "idx_documents_title_trgm",
    "idx_documents_embedding_hnsw",
    "idx_cases_firm_status_opened",
    "idx_tasks_status_due",
]


@pytest.fixture
def scratch_database(db):
    """An empty database on the test server, dropped afterwards; yields (url, connect)."""
    name = f"test_cases_migrations_{uuid.uuid4().hex[:8]}"
    params = {**connection.get_connection_params(), "dbname": "postgres", "autocommit": True}
    params = {k: v for k, v in params.items() if k not in ("context", "cursor_factory", "pool")}
    with psycopg.connect(**params) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlsplit(current_database_url())._replace(path=f"/{name}").geturl()

    def connect():
        return psycopg.connect(**{**params, "dbname": name})

    try:
        yield url, connect
    finally:
        with psycopg.connect(**params) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def schema_state(connect):
    with connect() as conn:
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [INDEXES]
            )
        }
        tables = conn.execute("SELECT to_regclass('cases') IS NOT NULL").fetchone()[0]
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'documents'"
            )
        }
        groups = set()
        if conn.execute("SELECT to_regclass('auth_group') IS NOT NULL").fetchone()[0]:
            groups = {row[0] for row in conn.execute("SELECT name FROM auth_group")}
    return {
        "indexes": indexes,
        "tables": tables,
        "embedding_state": {"content_hash", "embedding_source_hash"} <= columns,
        "groups": groups,
    }


@pytest.mark.slow
def test_cases_migrations_reverse_and_apply_again(scratch_database, manage):
    url, connect = scratch_database

    def migrate(*args):
        result = manage("migrate", *args, "--noinput", env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        return schema_state(connect)

    full = {
        "indexes": set(INDEXES),
        "tables": True,
        "embedding_state": True,
        "groups": {"Partner", "Associate", "Paralegal"},
    }
    assert migrate() == full
    assert migrate("cases", "0001") == {
        "indexes": set(),
        "tables": True,
        "embedding_state": False,
        "groups": set(),
    }
    # All the way down (Django also unapplies admin, which depends on the user model) and up.
    assert migrate("cases", "zero")["tables"] is False
    assert migrate() == full
