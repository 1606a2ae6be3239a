"""The scratch database every benchmark runs in: created on the configured server (the embedded
one when DATABASE_URL is unset), made Django's default database, and dropped at the end."""

import contextlib
import os

import psycopg
from django.db import connections
from psycopg import sql


def server_params() -> dict:
    """libpq parameters of the configured server (starting the embedded one if it is used)."""
    params = connections["default"].get_connection_params()
    return {k: v for k, v in params.items() if k not in ("context", "cursor_factory", "dbname")}


def create_scratch_database(name: str) -> None:
    """Database `name`, new (one a kept run left is dropped first), as Django's default."""
    with psycopg.connect(**server_params(), dbname="postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    entry = connections["default"].settings_dict
    entry["NAME"] = entry["EMBEDDED_DATABASE"] = name  # no connection was opened before this


def drop_scratch_database(name: str) -> None:
    connections.close_all()
    connections["default"].close_pool()
    with psycopg.connect(**server_params(), dbname="postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def scratch_database(prefix: str):
    """A scratch database named `{prefix}_{pid}` for the duration of the block."""
    name = f"{prefix}_{os.getpid()}"
    create_scratch_database(name)
    try:
        yield name
    finally:
        drop_scratch_database(name)
