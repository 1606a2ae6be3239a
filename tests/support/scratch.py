"""Scratch databases, the one helper every test uses for them: empty or copies of a migrated
database on the tests' server, reachable in this process through their own connection alias and
by URL from `manage.py` subprocesses, so that rolling migrations back and forth never touches the
test database; and databases on the machine's own PostgreSQL, for tests of another server.
When the suite runs through PgBouncer (tests/support/through_pgbouncer.py), the subprocesses reach
a scratch database through it as an operator's would; this process reaches it directly."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

from tests.support.processes import ROOT, database_environment, run_manage, server_connection


@dataclass(frozen=True)
class ScratchDatabase:
    alias: str  # connection alias in this process
    name: str
    env: dict  # DATABASE_URL for subprocesses (and the pooler's variables through PgBouncer)

    @property
    def url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def direct_url(self) -> str:
        """The server itself, past the suite's PgBouncer when it runs through one."""
        return self.env.get("DATABASE_DIRECT_URL", self.url)

    def manage(self, *args: str, project: Path = ROOT, input: str | None = None):
        """Run `manage.py ARGS` of `project` (the real one or a copy) against this database."""
        environment = {
            **self.env,
            "PYTHONPATH": str(project),
            "LEGALPLATFORM_DATA_DIR": str(settings.DATA_DIR),
        }
        return run_manage(*args, project=project, env=environment, input=input)


def _execute_on_server(sql: str) -> None:
    with connection._nodb_cursor() as cursor:
        cursor.execute(sql)


@contextlib.contextmanager
def new_database(name: str, *, template: str | None = None):
    """Database `name` (a copy of `template`, else empty) on the tests' server for the duration;
    then dropped. The caller must have the database access unblocked."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _execute_on_server(drop)
    _execute_on_server(
        f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    )
    try:
        yield name
    finally:
        _execute_on_server(drop)


@contextlib.contextmanager
def database_alias(name: str):
    """A connection alias `name` to database `name` on the tests' server, like the default one,
    for the duration. (Register it after pytest-django's `db` set up: Django then lets the test
    use it.)"""
    connection.ensure_connection()  # fills in the embedded server's host and port
    entry = copy.deepcopy(server_connection().settings_dict)
    entry.update(NAME=name, EMBEDDED=False)
    entry["OPTIONS"].pop("pool", None)  # a plain connection, really closed by close()
    connections.settings[name] = entry
    try:
        yield ScratchDatabase(alias=name, name=name, env=database_environment(name))
    finally:
        connections[name].close()
        del connections[name]
        del connections.settings[name]


@contextlib.contextmanager
def scratch_database(name: str, *, template: str | None = None):
    """A new database with a connection alias of the same name; dropped afterwards."""
    with new_database(name, template=template), database_alias(name) as scratch:
        yield scratch


# The machine's own PostgreSQL 15 (no pgvector; ships uuid-ossp), for tests that need another
# server than the tests' one. Every checkout's test runs share it.
MACHINE_POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


@contextlib.contextmanager
def machine_postgres_database(prefix: str):
    """A new database `{prefix}_{pid}` on the machine's PostgreSQL (named after this process, since
    that server is shared); yields its libpq parameters and drops it afterwards."""
    name = f"{prefix}_{os.getpid()}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    with psycopg.connect(**MACHINE_POSTGRES, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {**MACHINE_POSTGRES, "dbname": name}
    finally:
        with psycopg.connect(**MACHINE_POSTGRES, autocommit=True) as admin:
            admin.execute(drop)


def copy_project(destination: Path) -> Path:
    """A copy of the project's code (not its data or tests) whose migration files a test may
    edit, delete or add to; run it with `ScratchDatabase.manage(project=...)`."""
    destination.mkdir(parents=True)
    for item in ("manage.py", "legalplatform", "core", "cases", "skills", "discovery", "ops"):
        source = ROOT / item
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "tests")
            shutil.copytree(source, destination / item, ignore=ignore)
        else:
            shutil.copy2(source, destination / item)
    return destination


def leaf_migration(app: str) -> str:
    """The name of `app`'s latest migration in the project."""
    (leaf,) = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(app)
    return leaf[1]


def write_migration(
    project: Path, app: str, name: str, depends_on: str, operations: str, *, atomic: bool = True
) -> Path:
    """Add `app/migrations/{name}.py` to a project copy: one migration after `depends_on` with
    `operations` (Python source of a list, which may call `forwards`, a no-op RunPython code)."""
    path = project / app / "migrations" / f"{name}.py"
    path.write_text(
        "from django.db import migrations\n\n\n"
        "def forwards(apps, schema_editor):\n"
        "    pass\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    atomic = {atomic}\n"
        f"    dependencies = [({app!r}, {depends_on!r})]\n"
        f"    operations = {operations}\n"
    )
    return path


def create_table_operations(table: str) -> str:
    """Operations source of a reversible migration that creates (and drops) a probe table."""
    return f'[migrations.RunSQL("CREATE TABLE {table} (id int)", "DROP TABLE {table}")]'
