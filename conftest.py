"""Test-suite plumbing shared by every app: the tests' own Redis database, and running
`manage.py` in a subprocess against the test database, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

ROOT = Path(__file__).resolve().parent
TEST_REDIS_DB = 15  # the development data lives in db 0; tests never touch it


def redis_url_for_db(url: str, db: int) -> str:
    """The same Redis server as `url`, database `db` (redis://…/N or unix://…?db=N)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [p for p in parts.query.split("&") if p and not p.startswith("db=")]
        return f"unix://{parts.path}?" + "&".join([*query, f"db={db}"])
    return urlunsplit(parts._replace(path=f"/{db}"))


def current_database_url() -> str:
    """A DATABASE_URL naming the database the tests use right now (the test database)."""
    params = connection.get_connection_params()
    user = quote(params.get("user") or "")
    password = params.get("password")
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = params.get("host") or "localhost"
    dbname = quote(params["dbname"])
    if host.startswith("/"):
        return f"postgresql://{auth}/{dbname}?host={quote(host)}"
    return f"postgresql://{auth}{host}:{params.get('port') or 5432}/{dbname}"


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


def subprocess_env(**overrides: str | None) -> dict:
    """The environment for a `manage.py` subprocess: the test database and Redis db, plus
    overrides (a value of None removes the variable)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = current_database_url()
    env["REDIS_URL"] = redis_url_for_db(settings.CACHES["default"]["LOCATION"], TEST_REDIS_DB)
    env["PYTHONPATH"] = str(ROOT)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
def manage(django_db_blocker):
    """Run `manage.py ARGS` in a subprocess against the test database; returns the result.

    Tests using it need `transaction=True` (or no database fixture) so the subprocess sees
    committed data.
    """

    def run(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 300):
        with django_db_blocker.unblock():
            full_env = subprocess_env(**(env or {}))
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
