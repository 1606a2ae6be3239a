"""One connection budget for the fleet: instances × processes × pool + the operators' reserve
must fit in DATABASE_MAX_CONNECTIONS. `check` reports it, the WSGI and ASGI applications and
gunicorn refuse to start in one line, and the server's real limit (max_connections less its
reserved slots) is compared on the first connection, in check --database and in dbstats; behind
PgBouncer the pools are its clients, and its own limits are compared instead."""

import json
import subprocess
import sys

import pytest

from legalplatform.budget import Budget, default_pool_size
from tests.support.pgbouncer import pgbouncer
from tests.support.processes import ROOT, database_url, server_connection, subprocess_env
from tests.support.serving import GUNICORN, free_port

OVER = {"DATABASE_INSTANCES": "2", "WEB_CONCURRENCY": "2", "DATABASE_POOL_SIZE": "5"}
OVER_LINE = (
    "the connection budget does not fit: DATABASE_INSTANCES=2 × WEB_CONCURRENCY=2 × "
    "DATABASE_POOL_SIZE=5 + DATABASE_OPS_RESERVE=3 = 23 > DATABASE_MAX_CONNECTIONS=20; "
    "set DATABASE_POOL_SIZE to 4 or less"
)
# Fits in DATABASE_MAX_CONNECTIONS, not in the embedded server's 100 - 3 superuser slots.
ABOVE_THE_SERVER = {
    "DATABASE_MAX_CONNECTIONS": "500",
    "DATABASE_POOL_SIZE": "10",
    "DATABASE_INSTANCES": "10",
    "WEB_CONCURRENCY": "4",
}


def on_the_server(**env: str) -> dict:
    """`env` with the test database reached on the server itself, past the suite's PgBouncer
    when it runs through one: only there is the server's limit the pools' limit."""
    return {**env, "DATABASE_URL": database_url(server_connection().get_connection_params())}


def run(args, env, timeout=120):
    return subprocess.run(
        args, cwd=ROOT, env=subprocess_env(**env), capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("instances", "processes", "pool"),
    # The seed's sizes with the reserve of 3 and processes per instance (README's table).
    [(1, 1, 10), (1, 2, 8), (2, 1, 8), (2, 2, 4), (3, 1, 5), (4, 1, 4), (4, 2, 2)],
)
def test_the_default_pool_is_the_seeds_10_or_what_fits(instances, processes, pool):
    assert default_pool_size(20, 3, instances * processes) == pool
    budget = Budget(instances, processes, pool, 3, 20)
    assert budget.fits and (pool == 10 or budget.largest_pool_that_fits == pool)
    assert not Budget(instances, processes, budget.largest_pool_that_fits + 1, 3, 20).fits


def test_check_refuses_a_fleet_that_does_not_fit(manage):
    result = manage("check", env=OVER)
    assert result.returncode == 1
    assert "legalplatform.E001" in result.stderr and OVER_LINE in result.stderr


def test_check_passes_the_defaults_and_counts_the_default_pool(manage):
    script = "from django.conf import settings as s; print(s.DATABASE_POOL_SIZE)"
    assert manage("check").returncode == 0
    assert manage("shell", "-c", script).stdout.split()[-1] == "10"
    two = manage("shell", "-c", script, env={"WEB_CONCURRENCY": "2"})
    assert two.stdout.split()[-1] == "8"


@pytest.mark.parametrize("module", ["legalplatform.wsgi", "legalplatform.asgi"])
def test_the_application_refuses_to_start_in_one_line(module):
    result = run([sys.executable, "-c", f"import {module}"], OVER)
    assert result.returncode == 4  # gunicorn's "application failed to load": no restart loop
    assert result.stderr.strip() == f"error: refusing to start: {OVER_LINE}, " + (
        "or raise DATABASE_MAX_CONNECTIONS (and the server's max_connections) or put PgBouncer "
        "in front"
    )


def test_gunicorn_refuses_before_forking_and_counts_its_own_workers():
    """The master counts the workers it will start (here -w 3 on the command line) and stops
    in one line before any of them exists."""
    port = free_port()
    env = {"PORT": str(port), "DATABASE_POOL_SIZE": "6", "LOG_FORMAT": "json"}
    result = run([str(GUNICORN), "-c", "gunicorn.conf.py", "-w", "3"], env, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        "error: refusing to start: the connection budget does not fit: DATABASE_INSTANCES=1 × "
        "WEB_CONCURRENCY=3 × DATABASE_POOL_SIZE=6 + DATABASE_OPS_RESERVE=3 = 21 > "
        "DATABASE_MAX_CONNECTIONS=20; set DATABASE_POOL_SIZE to 5 or less, or raise "
        "DATABASE_MAX_CONNECTIONS (and the server's max_connections) or put PgBouncer in front"
    )
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr
    assert all(json.loads(line)["logger"] == "gunicorn.error" for line in lines[:-1])


def test_gunicorn_refuses_a_bad_value_in_one_line():
    result = run([str(GUNICORN), "-c", "gunicorn.conf.py"], {"WEB_THREADS": "many"}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: refusing to start: WEB_THREADS must be a whole number of threads; got 'many'"
    )


def test_check_with_a_database_warns_when_the_server_allows_fewer(manage):
    result = manage("check", "--database", "default", env=on_the_server(**ABOVE_THE_SERVER))
    assert result.returncode == 0, result.stderr
    assert "legalplatform.W001" in result.stderr
    assert (
        "= 403 of DATABASE_MAX_CONNECTIONS 500) exceeds what the server allows: " in result.stderr
    )
    assert "max_connections 100 − superuser_reserved_connections 3 = 97" in result.stderr
    assert "W001" not in manage("check", "--database", "default").stderr


def test_the_first_connection_warns_when_the_server_allows_fewer(manage):
    script = "from django.db import connection; connection.ensure_connection()"
    result = manage("shell", "-c", script, env=on_the_server(**ABOVE_THE_SERVER, LOG_FORMAT="json"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (warning,) = [record for record in records if record["level"] == "WARNING"]
    assert warning["logger"] == "legalplatform.db"
    assert "exceeds what the server allows" in warning["message"]


def test_dbstats_shows_the_budget_and_warns(manage):
    text = manage("dbstats", env=on_the_server(**ABOVE_THE_SERVER)).stdout
    assert (
        "budget       10 instances × 4 processes × pool 10 + 3 reserved = 403 of "
        "DATABASE_MAX_CONNECTIONS 500; the server allows 97" in text
    )
    assert "warning      the connection budget (" in text
    document = json.loads(manage("dbstats", "--json").stdout)
    assert document["budget_total"] == 13 and document["budget_warning"] == ""
    assert document["server_connection_limit"] == 97


@pytest.mark.pgbouncer
def test_behind_pgbouncer_the_pools_meet_pgbouncers_limits_not_the_servers(manage, scratch_db):
    """403 connections of DATABASE_MAX_CONNECTIONS 500 are PgBouncer's clients: far above the
    server's 97 is right there. PgBouncer's max_client_conn, and its pool of the database
    against the server's limit less the operators' reserve, are what must fit."""
    with pgbouncer(pool_size=96, max_client_conn=450) as bouncer:
        pooled = {
            **ABOVE_THE_SERVER,
            "DATABASE_URL": bouncer.url(scratch_db.name),
            "DATABASE_POOLER": "pgbouncer",
            "LOG_FORMAT": "json",
        }
        unknown = manage("check", "--database", "default", env=pooled)
        assert unknown.returncode == 0, unknown.stderr
        assert "W001" not in unknown.stderr and "WARNING" not in unknown.stderr
        with_console = {**pooled, "DATABASE_POOLER_ADMIN_URL": bouncer.admin_url}
        checked = manage("check", "--database", "default", env=with_console)
        assert checked.returncode == 0, checked.stderr
        assert (
            "legalplatform.W001) PgBouncer's pool of the database (pool_size 96 + reserve_pool "
            "0 = 96) and DATABASE_OPS_RESERVE 3 exceed what the server allows: max_connections "
            "100 − superuser_reserved_connections 3 = 97; lower PgBouncer's pool_size to 94"
        ) in checked.stderr
    with pgbouncer(pool_size=2, max_client_conn=400) as bouncer:
        pooled["DATABASE_URL"] = bouncer.url(scratch_db.name)
        text = manage("dbstats", env={**pooled, "DATABASE_POOLER_ADMIN_URL": bouncer.admin_url})
        assert text.returncode == 0, text.stderr
        assert (
            "warning      the connection budget (10 instances × 4 processes × pool 10 + 3 "
            "reserved = 403 of DATABASE_MAX_CONNECTIONS 500) exceeds PgBouncer's max_client_conn "
            "400"
        ) in text.stdout


@pytest.mark.pgbouncer
def test_behind_pgbouncer_an_unreachable_console_is_one_line_within_seconds(manage, scratch_db):
    with pgbouncer() as bouncer:
        env = {
            **ABOVE_THE_SERVER,
            "DATABASE_URL": bouncer.url(scratch_db.name),
            "DATABASE_POOLER": "pgbouncer",
            "DATABASE_POOLER_ADMIN_URL": "postgresql://pgbouncer@127.0.0.1:1/pgbouncer",
        }
        result = manage("check", "--database", "default", env=env)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert (
        "PgBouncer's limits could not be read on its admin console (DATABASE_POOLER_ADMIN_URL): "
        "connection failed:" in line
    )
