"""The suite's switch TEST_DATABASE_POOLER (tests/support/through_pgbouncer.py): the tests reach
their database as the run says, directly or through PgBouncer in transaction mode, and a value
that is neither is refused in one line before anything runs."""

import subprocess
import sys

from django.db import connection

from tests.support import through_pgbouncer
from tests.support.processes import ROOT, subprocess_env


def test_the_tests_reach_their_database_as_the_run_says(db, request):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("1min",)
    bouncer = through_pgbouncer.bouncer()
    environment = subprocess_env()
    if request.config.through_pgbouncer:
        assert connection.connection.info.port == bouncer.port
        clients = {row[2] for row in bouncer.admin("SHOW CLIENTS")}
        assert connection.settings_dict["NAME"] in clients
        assert environment["DATABASE_POOLER"] == "pgbouncer"
        assert environment["DATABASE_URL"].startswith(
            f"postgresql://postgres@127.0.0.1:{bouncer.port}/"
        )
        assert environment["DATABASE_DIRECT_URL"] != environment["DATABASE_URL"]
    else:
        assert bouncer is None
        assert "DATABASE_POOLER" not in environment and "DATABASE_DIRECT_URL" not in environment


def test_an_unknown_pooler_is_refused_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/test_suite_modes.py"],
        cwd=ROOT,
        env={**subprocess_env(), "TEST_DATABASE_POOLER": "pgpool"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4
    assert (
        "ERROR: TEST_DATABASE_POOLER must be one of none, pgbouncer; got 'pgpool'" in result.stderr
    )
