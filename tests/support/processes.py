"""`manage.py` in a subprocess against the tests' database and Redis, as an operator runs it:
the URLs that name them and the environment the subprocess gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
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
