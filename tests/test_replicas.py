"""Read replicas for real: the embedded primary with a streaming hot standby made by the bundled
pg_basebackup (`manage.py embedded start --replica`), DATABASE_REPLICA_URLS naming it and an
unreachable one. Opted-in reads go to the standby, unless the request wrote, a transaction is
open on the primary, or the standby is further behind than DATABASE_REPLICA_MAX_LAG; health and
dbstats say what each server is; commands that write refuse to run on the standby."""

import json
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.support.processes import run_manage
from tests.support.replica import primary_with_replica

pytestmark = [pytest.mark.replica, pytest.mark.slow]

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/legalplatform"


@pytest.fixture(scope="module")
def pair():
    with primary_with_replica() as pair:
        result = run_manage("migrate", "--noinput", "-v0", env={"DATABASE_URL": pair.primary_url})
        assert result.returncode == 0, result.stderr
        pair.wait_until_replayed()
        yield pair


def env_for(pair, **more):
    return {
        "DATABASE_URL": pair.primary_url,
        "DATABASE_REPLICA_URLS": f"{pair.replica_url},{UNREACHABLE}",
        "DATABASE_REPLICA_MAX_LAG": "1",
        **more,
    }


def test_reads_go_to_a_current_replica_and_stay_on_the_primary_otherwise(pair):
    code = f"from tests.support.replica_checks import main; main({pair.replica_url!r})"
    result = run_manage("shell", "-c", code, env=env_for(pair))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["opted_in_read"] == "replica1"
    assert found["plain_read"] == "default"  # not opted in: the primary
    assert found["read_in_transaction"] == "default"
    assert found["search_queries_on_replica"] > 0
    assert found["read_after_write"] == "default"
    assert found["next_request_read"] == "replica1"
    assert found["lagging_read"] == "default"
    assert found["caught_up_read"] == "replica1"
    health = found["health_lagging"]
    assert health["healthy"] is True  # the primary serves
    lagging, unreachable = health["replicas"]["replica1"], health["replicas"]["replica2"]
    assert lagging["healthy"] is True
    assert lagging["details"]["role"] == "standby"
    assert lagging["details"]["usable"] is False
    assert lagging["details"]["lag_seconds"] > 1
    assert unreachable["healthy"] is False and "127.0.0.1:1" in unreachable["error"]


def report_page_reads() -> None:
    """Run by `manage.py shell` against the pair: where the admin's report pages, an opted-in
    list and similar_documents read, printed as JSON (tests.support.replica_checks checks the
    router itself and search_cases)."""
    import time

    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    users = get_user_model().objects
    user = users.create_superuser("reports@example.com", "x", first_name="R", last_name="R")
    deadline = time.monotonic() + 30
    while not users.using("replica1").filter(pk=user.pk).exists():  # replayed: can sign in
        assert time.monotonic() < deadline, "the replica did not replay the new user"
        time.sleep(0.05)
    client = Client()
    client.force_login(user)
    found = {}
    for name in (
        "usage_analytics",
        "discovery_overview",
        "dbstats",
        "skills_skillusagelog_changelist",
    ):
        with (
            CaptureQueriesContext(connections["replica1"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            response = client.get(reverse(f"admin:{name}"))
        found[name] = {
            "status": response.status_code,
            "text": response.content.decode(),
            "on_replica": len(on_replica),
            "on_primary": [query["sql"] for query in on_primary],
        }
    from cases.selectors import similar_documents

    with CaptureQueriesContext(connections["replica1"]) as on_replica:
        similar_documents([0.1] * 1536)
    found["similar_documents_on_replica"] = len(on_replica)
    print(json.dumps(found))


def test_the_admins_report_pages_and_opted_in_lists_read_from_the_replica(pair):
    code = "from tests.test_replicas import report_page_reads; report_page_reads()"
    result = run_manage("shell", "-c", code, env=env_for(pair, DATABASE_REPLICA_MAX_LAG="5"))
    assert result.returncode == 0, result.stderr
    pages = json.loads(result.stdout.splitlines()[-1])
    assert pages.pop("similar_documents_on_replica") > 0  # search_cases: replica_checks
    for name, page in pages.items():
        assert page["status"] == 200, name
        assert page["on_replica"] > 0, name
        # On the primary only what runs around the view: the signed-in user (middleware), and
        # the usage page's count of pending deltas (it folds a backlog first). Not the form's
        # choices of skills, read when the template renders.
        reads = [sql for sql in page["on_primary"] if "skill_usage_deltas" not in sql]
        if name == "dbstats":  # the server's own figures are the primary's; the tables' are not
            assert "read on the replica replica1" in page["text"]
            assert not [
                sql for sql in reads if "pg_total_relation_size" in sql or 'count(*) FROM "' in sql
            ]
            continue
        assert all('FROM "users"' in sql for sql in reads), (name, reads)


def test_dbstats_says_standby_and_how_far_behind(pair):
    on_replica = run_manage("dbstats", env={"DATABASE_URL": pair.replica_url})
    assert on_replica.returncode == 0, on_replica.stderr
    assert "server       standby (read-only hot standby), 0.0 s behind the primary" in (
        on_replica.stdout
    )
    on_primary = run_manage("dbstats", env={"DATABASE_URL": pair.primary_url})
    assert "server       primary" in on_primary.stdout


@pytest.mark.parametrize(
    ("args", "work"),
    [
        (["seed", "--noinput"], "seed the database"),
        (["anonymize", "--noinput"], "anonymize the database"),
        (["restore", "x.dump", "--noinput"], "restore the database"),
        (["migrate_undo", "--noinput"], "roll back migrations"),
        (["import_anonymized", "x.dump", "--noinput"], "import into the database"),
        (["prune_usage_logs", "--keep-months", "1", "--noinput"], "prune usage logs"),
        (["fold_skill_usage"], "fold usage statistics"),
        (["migrate", "--noinput"], "migrate the database"),
    ],
)
def test_commands_that_write_refuse_a_standby_in_one_line(pair, args, work):
    result = run_manage(*args, env={"DATABASE_URL": pair.replica_url})
    assert result.returncode == 1
    port = pair.replica_url.split(":")[-1].split("/")[0]
    assert result.stderr.strip().splitlines() == [
        f"CommandError: refusing to {work}: 127.0.0.1:{port}/legalplatform as postgres is a "
        "read-only standby (a replica); run it against the primary"
    ]


def test_validate_on_a_standby_reads_every_closed_month_and_records_nothing(pair):
    # Two closed months of their own on the primary, verified and recorded there.
    with psycopg.connect(pair.primary_url, autocommit=True) as primary:
        first = primary.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'skill_usage_logs'::regclass AND c.relname LIKE '%before%'"
        ).fetchone()[0]
        primary.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {first}")
        primary.execute(f"DROP TABLE {first}")
        for months in (-2, -1, 0, 1, 2):
            primary.execute(
                "SELECT create_skill_usage_partition((now() + %s * interval '1 month')::date)",
                [months],
            )
        primary.execute(
            "INSERT INTO skills (skill_id, display_name, version, type, category) "
            "VALUES ('standby-check', 'S', '1.0.0', 't', 'c')"
        )
        primary.execute(
            "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, executed_at) "
            "SELECT id, 10, 100, date_trunc('month', now()) - n * interval '9 days' "
            "FROM skills, generate_series(1, 6) AS n"
        )
    on_primary = run_manage("validate", "--json", env={"DATABASE_URL": pair.primary_url})
    assert on_primary.returncode == 0, on_primary.stdout
    recorded = {p["part"]: p["status"] for p in json.loads(on_primary.stdout)["parts"]}
    assert set(recorded.values()) == {"re-verified"} and len(recorded) >= 2
    pair.wait_until_replayed()

    on_standby = run_manage("validate", "--json", env={"DATABASE_URL": pair.replica_url})

    assert on_standby.returncode == 0, on_standby.stdout  # every check passes, nothing written
    report = json.loads(on_standby.stdout)
    # The standby's counters do not follow the primary's writes: no record is trusted there.
    assert {p["part"]: p["status"] for p in report["parts"]} == dict.fromkeys(recorded, "read")


def test_embedded_start_replica_prints_its_url_stop_stops_both_and_remove_switches_it_off():
    # Not pytest's tmp_path: other checkouts' pytest runs on the machine prune its parents.
    directory = Path(tempfile.mkdtemp(prefix="lp-embedded-replica-"))
    data = {"DATABASE_URL": None, "LEGALPLATFORM_DATA_DIR": str(directory / "data")}
    try:
        started = run_manage("embedded", "start", "--replica", env=data)
        assert started.returncode == 0, started.stderr
        (line,) = started.stdout.splitlines()
        assert line.startswith("postgres replica: running, streaming; DATABASE_REPLICA_URLS=")
        url = line.split("=", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres") as replica:
            standby, status = replica.execute(
                "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)"
            ).fetchone()
        assert (standby, status) == (True, "streaming")
        status = run_manage("embedded", "status", env=data).stdout
        assert "postgres: running" in status and "postgres replica: running" in status
        stopped = run_manage("embedded", "stop", env=data)
        assert "postgres replica: stopped" in stopped.stdout
        assert "postgres: stopped" in stopped.stdout
        # Switched off again: no standby, and the primary's bulk loads skip the WAL again.
        assert run_manage("embedded", "start", env=data).returncode == 0
        removed = run_manage("embedded", "stop", "--replica", "--remove", env=data)
        assert removed.stdout.splitlines() == [
            "postgres replica: removed; the primary is back to wal_level minimal"
        ]
        shown = run_manage("dbshell", "--", "-Atc", "SHOW wal_level", env=data)
        assert shown.stdout.split() == ["minimal"], shown.stderr
        assert "postgres replica" not in run_manage("embedded", "status", env=data).stdout
    finally:
        run_manage("embedded", "stop", env=data)
        shutil.rmtree(directory, ignore_errors=True)
