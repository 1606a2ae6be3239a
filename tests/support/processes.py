"""`manage.py` in a subprocess against the tests' database and Redis, as an operator runs it:
the URLs that name them and the environment the subprocess gets (through PgBouncer when the
suite runs through it: tests/support/through_pgbouncer.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, connections

from legalplatform.db.pooler import DIRECT_ALIAS

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_DB = 15  # the development data lives in db 0; tests never touch it


def redis_url_for_db(url: str, db: int) -> str:
    """The same Redis server as `url`, database `db` (redis://…/N or unix://…?db=N)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [p for p in parts.query.split("&") if p and not p.startswith("db=")]
        return f"unix://{parts.path}?" + "&".join([*query, f"db={db}"])
    return urlunsplit(parts._replace(path=f"/{db}"))


def server_connection():
    """Django's connection to the tests' server itself: the alias `direct` while default goes
    through the suite's PgBouncer, else default."""
    if connection.settings_dict.get("POOLER", "none") != "none":
        return connections[DIRECT_ALIAS]
    return connection


def database_url(params: dict, dbname: str | None = None) -> str:
    """A DATABASE_URL from a connection's libpq parameters, naming `dbname` if given."""
    user = quote(params.get("user") or "")
    password = params.get("password")
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = params.get("host") or "localhost"
    dbname = quote(dbname or params["dbname"])
    if host.startswith("/"):
        return f"postgresql://{auth}/{dbname}?host={quote(host)}"
    return f"postgresql://{auth}{host}:{params.get('port') or 5432}/{dbname}"


def current_database_url() -> str:
    """A DATABASE_URL naming the database the tests use right now (the test database)."""
    return database_url(connection.get_connection_params())


def database_environment(dbname: str | None = None) -> dict:
    """DATABASE_URL naming `dbname` (else the test database) as the tests reach it; through the
    suite's PgBouncer also DATABASE_POOLER, DATABASE_DIRECT_URL (the server itself) and
    DATABASE_POOLER_ADMIN_URL, as an operator sets them."""
    environment = {"DATABASE_URL": database_url(connection.get_connection_params(), dbname)}
    pooler = connection.settings_dict.get("POOLER", "none")
    if pooler != "none":
        server = server_connection().get_connection_params()
        environment["DATABASE_POOLER"] = pooler
        environment["DATABASE_DIRECT_URL"] = database_url(server, dbname)
        environment["DATABASE_POOLER_ADMIN_URL"] = connection.settings_dict["POOLER_ADMIN_URL"]
    return environment


def subprocess_env(**overrides: str | None) -> dict:
    """The environment for a `manage.py` subprocess: the test database and Redis db, plus
    overrides (a value of None removes the variable). A DATABASE_URL among them replaces the
    pooler's variables too, unless they are given as well."""
    env = dict(os.environ)
    env.update(database_environment() if "DATABASE_URL" not in overrides else {})
    env["REDIS_URL"] = redis_url_for_db(settings.CACHES["default"]["LOCATION"], TEST_REDIS_DB)
    env["PYTHONPATH"] = str(ROOT)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_manage(
    *args: str,
    project: Path = ROOT,
    env: dict | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run `manage.py ARGS` of `project` (the real one or a copy) with `subprocess_env(**env)`;
    returns the finished process, its output as text."""
    return subprocess.run(
        [sys.executable, str(project / "manage.py"), *args],
        cwd=project,
        env=subprocess_env(**(env or {})),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
