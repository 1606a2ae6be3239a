"""Benchmark of the skills statistics triggers and of the admin usage-log list (issues 3, 23).

Part 1, single-row inserts per second into skill_usage_logs with no statistics trigger, with a
recompute-everything trigger like the original's (the baseline), and with ours, each for a
skill with 0 and with N prior logs. Part 1b (issue 23, "the hot row"), raw prepared single-row
INSERTs into one skill with N prior logs, with the statistics against the same INSERTs with the
table's triggers disabled (and against 0010's trigger function, as before skills 0018): 1 writer
in autocommit, 4 writers at once (and the speed-up from 1 to 4 writers of each), and 3,000 rows
in one transaction, with the server's time per INSERT; then what folding the deltas costs.
Part 2, batch ingest rows per second through `skills.services.record_usages` against a raw COPY
with no statistics trigger. Part 3, server time of the admin usage-log list with 1,000,000 logs,
against Django's stock paginator (a full COUNT(*) per page view). Floors (issues 3 and 23) are
checked and printed; the exit code is 1 if one fails.

Everything runs in a scratch database on the configured server (the embedded one unless
DATABASE_URL is set), created, migrated and dropped by this script.

    python bench/usage_ingest.py                 # N = 100,000 prior logs, 1,000,000 for the admin
    python bench/usage_ingest.py --prior 1000000
    python bench/usage_ingest.py --quick         # small sizes, for a check that it runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from _bootstrap import ROOT, setup_django

SCRATCH_DATABASE = "legalplatform_bench_usage_ingest"

ORIGINAL_TRIGGER = """
-- The original trigger, for the baseline: every insert re-aggregates every log of the skill.
CREATE FUNCTION bench_original_update_skill_statistics()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE skills
    SET usage_count = usage_count + 1,
        effectiveness_score = (
            SELECT least(100, round(100.0 * count(*) FILTER (WHERE success) / count(*), 2))
            FROM skill_usage_logs WHERE skill_id = NEW.skill_id),
        token_savings_avg = (
            SELECT coalesce(avg(tokens_saved) FILTER (WHERE success), 0)::integer
            FROM skill_usage_logs WHERE skill_id = NEW.skill_id)
    WHERE id = NEW.skill_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bench_original_stats
    AFTER INSERT ON skill_usage_logs
    FOR EACH ROW EXECUTE FUNCTION bench_original_update_skill_statistics();
ALTER TABLE skill_usage_logs DISABLE TRIGGER bench_original_stats;  -- until its measure
"""


def trigger_of_0010() -> str:
    """0010's statistics trigger function (before skills 0018 appended a single-row INSERT's
    delta without grouping it), under another name, on an INSERT trigger left disabled: part
    1b's "before 0018" variant, measured in the same run as ours."""
    from importlib import import_module

    migration = import_module("skills.migrations.0018_usage_deltas_of_one_log_ungrouped")
    function = migration.RESTORE_DELTA_TRIGGER_FUNCTION_0010.replace(
        "record_skill_usage_deltas()", "bench_0010_record_skill_usage_deltas()"
    )
    return (
        function
        + """
CREATE TRIGGER bench_0010_deltas
    AFTER INSERT ON skill_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION bench_0010_record_skill_usage_deltas();
ALTER TABLE skill_usage_logs DISABLE TRIGGER bench_0010_deltas;  -- until its measure
"""
    )


# Which insert trigger each variant enables; the others are disabled.
VARIANTS = {
    "no trigger": None,
    "original (baseline)": "bench_original_stats",
    "ours": "skill_usage_deltas_on_insert",
}
WRITERS = 4  # concurrent writers on one skill (part 1b)
TRANSACTION_ROWS = 3000  # rows of the one-transaction measure (part 1b)
SERVICE = "record_usage"
INSERT_SQL = (
    "INSERT INTO skill_usage_logs (skill_id, workspace_id, execution_time_ms, tokens_used, "
    "tokens_saved, cost_usd, success, input_data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prior", type=int, default=100_000, help="prior logs of the skill (N)")
    parser.add_argument("--rows", type=int, default=3000, help="single-row inserts per measure")
    parser.add_argument("--seconds", type=float, default=4.0, help="time limit per measure")
    parser.add_argument("--batch", type=int, default=100_000, help="rows per batch ingest")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (best counts)")
    parser.add_argument(
        "--hot-rounds", type=int, default=7, help="rounds of part 1b (best and median shown)"
    )
    parser.add_argument(
        "--admin-logs", type=int, default=1_000_000, help="logs for the admin list (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that it runs")
    args = parser.parse_args()
    if args.quick:
        args.prior, args.rows, args.seconds, args.batch, args.repeat = 5000, 300, 1.0, 5000, 1
        args.hot_rounds = 2
        args.admin_logs = min(args.admin_logs, 20_000)
    return args


# --- Scratch database ---------------------------------------------------------------------------


def server_url(dbname: str) -> str:
    """A URL for database `dbname` on the configured server (DATABASE_URL's, or embedded)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))
    from legalplatform import embedded

    endpoint = embedded.ensure_postgres(
        Path(os.environ.get("LEGALPLATFORM_DATA_DIR") or ROOT / ".data")
    )
    return (
        f"postgresql://{quote(endpoint.user)}@/{dbname}"
        f"?host={quote(endpoint.host)}&port={endpoint.port}"
    )


def recreate_scratch_database(maintenance_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{SCRATCH_DATABASE}"')


# --- Part 1: single-row inserts -----------------------------------------------------------------


def use_variant(cursor, variant: str) -> None:
    for trigger in filter(None, VARIANTS.values()):
        action = "ENABLE" if trigger == VARIANTS[variant] else "DISABLE"
        cursor.execute(f"ALTER TABLE skill_usage_logs {action} TRIGGER {trigger}")


def raw_inserter(conn):
    """One prepared INSERT per row through a plain psycopg connection: the least client work."""
    cursor = conn.cursor()
    cursor.execute("SET synchronous_commit = off")
    workspace = uuid.uuid4()

    def insert(skill, n: int) -> None:
        params = [skill.pk, workspace, 120, 1500, n % 997, Decimal("0.0042"), n % 10 != 0]
        cursor.execute(INSERT_SQL, [*params, '{"q": "clause"}'], prepare=True)

    return insert


def service_inserter(connection):
    """`skills.services.record_usage`: the application's own path (Django ORM)."""
    from skills.services import record_usage

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    workspace = uuid.uuid4()

    def insert(skill, n: int) -> None:
        record_usage(
            skill,
            workspace_id=workspace,
            execution_time_ms=120,
            tokens_used=1500,
            tokens_saved=n % 997,
            cost_usd=Decimal("0.0042"),
            success=n % 10 != 0,
            input_data={"q": "clause"},
        )

    return insert


def single_insert_rate(insert, skill, rows: int, seconds: float) -> float:
    """Inserts per second, one row per statement and per transaction (autocommit).

    Connections run with synchronous_commit off: a commit then does not wait for the WAL
    flush, whose latency (the same for every variant, and on a shared disk, noisy) would
    otherwise hide what is measured, the work of the insert and its trigger."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while done < rows and time.perf_counter() < deadline:
        insert(skill, done)
        done += 1
    return done / (time.perf_counter() - start)


def bench_single_inserts(args, make_skill, cursor, clients: dict) -> dict:
    """{(client, variant, prior logs): best inserts/s over args.repeat rounds}."""
    prior_skill = make_skill("bench-prior")
    cursor.execute(
        """
        INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, tokens_saved,
                                      success, executed_at)
        SELECT %s, 100, 1000, n %% 500, n %% 10 <> 0, now() - n * interval '1 second'
        FROM generate_series(1, %s) AS n
        """,
        [prior_skill.pk, args.prior],
    )
    cursor.execute("VACUUM ANALYZE skill_usage_logs")
    rates = {}
    for round_number in range(args.repeat):
        for variant in VARIANTS:
            use_variant(cursor, variant)
            for client, insert in clients.items():
                fresh = make_skill(f"bench-zero-{round_number}-{variant}-{client}")
                for prior, skill in ((0, fresh), (args.prior, prior_skill)):
                    rate = single_insert_rate(insert, skill, args.rows, args.seconds)
                    key = client, variant, prior
                    rates[key] = max(rates.get(key, 0), rate)
    use_variant(cursor, "ours")
    return rates


# --- Part 1b: the hot row (issue 23) ------------------------------------------------------------


def writers_rate(url: str, skill_pk, writers: int, seconds: float) -> float:
    """Rows per second of `writers` connections inserting into one skill at once, each a raw
    prepared INSERT per statement in autocommit, for `seconds`; threads (psycopg waits for the
    server without the GIL), started together at a barrier."""
    import psycopg

    barrier = threading.Barrier(writers + 1)
    counts = [0] * writers
    connections = [psycopg.connect(url, autocommit=True) for _ in range(writers)]

    def write(number: int) -> None:
        cursor = connections[number].cursor()
        cursor.execute("SET synchronous_commit = off")
        workspace = uuid.uuid4()
        barrier.wait()
        deadline = time.perf_counter() + seconds
        done = 0
        while time.perf_counter() < deadline:
            params = [skill_pk, workspace, 120, 1500, done % 997, Decimal("0.0042"), done % 10 != 0]
            cursor.execute(INSERT_SQL, [*params, "{}"], prepare=True)
            done += 1
        counts[number] = done

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for conn in connections:
        conn.close()
    return sum(counts) / elapsed


def transaction_rate(url: str, skill_pk, rows: int) -> float:
    """Rows per second of `rows` raw prepared INSERTs of one skill in one transaction."""
    import psycopg

    with psycopg.connect(url) as conn:
        cursor = conn.cursor()
        cursor.execute("SET synchronous_commit = off")
        conn.commit()
        workspace = uuid.uuid4()
        start = time.perf_counter()
        for n in range(rows):
            params = [skill_pk, workspace, 120, 1500, n % 997, Decimal("0.0042"), n % 10 != 0]
            cursor.execute(INSERT_SQL, [*params, "{}"], prepare=True)
        conn.commit()
        return rows / (time.perf_counter() - start)


# Part 1b's variants: the table's triggers as migrated ("ours"), all of them disabled ("bare":
# foreign keys stay checked), or ours with 0010's function instead of 0018's ("before 0018").
HOT_VARIANTS = ("ours", "bare", "before 0018")


def set_user_triggers(cursor, variant: str) -> None:
    """Enable the triggers of `variant` (HOT_VARIANTS) on skill_usage_logs, disable the rest."""
    if variant == "bare":
        cursor.execute("ALTER TABLE skill_usage_logs DISABLE TRIGGER USER")
        return
    cursor.execute("ALTER TABLE skill_usage_logs ENABLE TRIGGER USER")
    off = ["bench_original_stats"]  # the original's stays off
    off.append("bench_0010_deltas" if variant == "ours" else "skill_usage_deltas_on_insert")
    for trigger in off:
        cursor.execute(f"ALTER TABLE skill_usage_logs DISABLE TRIGGER {trigger}")


class ServerTimes:
    """Mean server time of the raw INSERT per call, from pg_stat_statements (the statement's
    own AFTER triggers included: they run inside it), this database's entries only; unavailable
    (None) where the server does not load the extension. Unlike a rate, it leaves out the
    client and the time a statement waits for a CPU, so it shows the trigger's own work."""

    def __init__(self, cursor):
        from django.db import DatabaseError

        self.cursor = cursor
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.reset()
            self.available = True
        except DatabaseError:  # not in shared_preload_libraries: no figure
            self.available = False

    def reset(self) -> None:
        self.cursor.execute(
            "SELECT pg_stat_statements_reset(0, "
            "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
        )

    def microseconds(self) -> float | None:
        if not self.available:
            return None
        self.cursor.execute(
            "SELECT 1000 * sum(total_exec_time) / nullif(sum(calls), 0) FROM pg_stat_statements "
            "WHERE toplevel AND query LIKE 'INSERT INTO skill_usage_logs %' "
            "AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return self.cursor.fetchone()[0]


def bench_hot_row(args, url: str, skill, cursor) -> tuple[dict, dict]:
    """{(measure, "ours" | "bare"): the rate of each of args.hot_rounds rounds}, and the same
    of the server's microseconds per INSERT (ServerTimes; empty lists without the extension):
    in each round every measure runs once per variant (HOT_VARIANTS), their order rotating from
    round to round, so that a burst of load elsewhere on the machine lands on each alike."""
    from skills.services import fold_skill_usage

    measures = {
        "1 writer, autocommit": lambda: writers_rate(url, skill.pk, 1, args.seconds),
        f"{WRITERS} writers, autocommit": lambda: writers_rate(
            url, skill.pk, WRITERS, args.seconds
        ),
        f"1 writer, {TRANSACTION_ROWS:,} rows in one transaction": lambda: transaction_rate(
            url, skill.pk, TRANSACTION_ROWS
        ),
    }
    server = ServerTimes(cursor)
    rates, server_us = {}, {}
    for round_number in range(args.hot_rounds):
        shift = round_number % len(HOT_VARIANTS)
        order = HOT_VARIANTS[shift:] + HOT_VARIANTS[:shift]
        for name, measure in measures.items():
            for variant in order:
                set_user_triggers(cursor, variant)
                server.reset()
                rates.setdefault((name, variant), []).append(measure())
                if (microseconds := server.microseconds()) is not None:
                    server_us.setdefault((name, variant), []).append(float(microseconds))
        fold_skill_usage()  # as the timer would, between rounds
    set_user_triggers(cursor, "ours")
    return rates, server_us


def bench_fold(skill, cursor) -> tuple[int, float]:
    """Seconds to fold a backlog of single-row deltas (one per logged statement)."""
    from skills.services import fold_skill_usage, record_usages

    fold_skill_usage()
    record_usages([{"skill": skill, "execution_time_ms": 1, "tokens_used": 1}])  # warm
    cursor.execute(
        """
        INSERT INTO skill_usage_deltas
        SELECT %s, current_date - n %% 3, 1, 1, 1500, 7, 7, 0.0042, 120
        FROM generate_series(1, 100000) AS n
        """,
        [skill.pk],
    )
    start = time.perf_counter()
    folded = fold_skill_usage()
    return folded, time.perf_counter() - start


# --- Part 1c: the three dropped indexes (issue 23) ----------------------------------------------

# The single-column indexes migration skills.0012 dropped, built again here to measure them.
DROPPED_INDEXES = {
    "bench_dropped_skill": "skill_id",
    "bench_dropped_user": "user_id",
    "bench_dropped_workspace": "workspace_id",
}


def bench_dropped_indexes(args, url: str, skill, cursor) -> dict:
    """Bytes per row of the indexes on skill_usage_logs with and without the three dropped
    ones, and raw prepared single-row INSERTs per second (triggers disabled) against the same
    table with them built again, best of args.repeat rounds alternated."""

    def index_bytes() -> tuple[int, int]:
        # A partitioned table's indexes are its partitions' (skills 0014).
        cursor.execute(
            "SELECT (SELECT sum(pg_indexes_size(inhrelid))::bigint FROM pg_inherits "
            "WHERE inhparent = 'skill_usage_logs'::regclass), count(*) FROM skill_usage_logs"
        )
        return cursor.fetchone()

    def rate() -> float:
        return writers_rate(url, skill.pk, 1, args.seconds)

    set_user_triggers(cursor, "bare")
    rates = {"without": 0.0, "with": 0.0}
    try:
        for round_number in range(args.repeat):
            for variant in ("with", "without") if round_number % 2 else ("without", "with"):
                for name, column in DROPPED_INDEXES.items():
                    if variant == "with":
                        cursor.execute(
                            f"CREATE INDEX IF NOT EXISTS {name} ON skill_usage_logs ({column})"
                        )
                    else:
                        cursor.execute(f"DROP INDEX IF EXISTS {name}")
                if variant == "with":
                    with_bytes, rows = index_bytes()
                else:
                    without_bytes, _ = index_bytes()
                rates[variant] = max(rates[variant], rate())
    finally:
        for name in DROPPED_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        set_user_triggers(cursor, "ours")
    return {
        "rows": rows,
        "bytes_per_row_with": with_bytes / rows,
        "bytes_per_row_without": without_bytes / rows,
        "inserts_with": rates["with"],
        "inserts_without": rates["without"],
    }


# --- Part 2: batch ingest -----------------------------------------------------------------------


BATCH_COLUMNS = [
    "skill_id",
    "workspace_id",
    "execution_time_ms",
    "tokens_used",
    "tokens_saved",
    "cost_usd",
    "success",
    "input_data",
    "executed_at",
]
BATCH_TYPES = ["uuid", "uuid", "int4", "int4", "int4", "numeric", "bool", "jsonb", "timestamptz"]


def bench_batch_ingest(args, skills, connection) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from skills.services import record_usages

    workspaces = [uuid.uuid4() for _ in range(50)]
    # Each execution at its own time, over the last day, as logs arrive from the platform.
    now, millisecond = timezone.now(), timezone.timedelta(milliseconds=1)
    rows = [
        dict(
            zip(
                BATCH_COLUMNS,
                (
                    skills[n % len(skills)].pk,
                    workspaces[n % len(workspaces)],
                    100 + n % 900,
                    1000 + n % 5000,
                    n % 700,
                    Decimal("0.0031"),
                    n % 13 != 0,
                    {"document": n % 100},
                    now - n * millisecond,
                ),
                strict=True,
            )
        )
        for n in range(args.batch)
    ]
    tuples = [tuple(row.values()) for row in rows]
    copy_sql = f"COPY skill_usage_logs ({', '.join(BATCH_COLUMNS)}) FROM STDIN (FORMAT BINARY)"

    def raw_copy():
        """The baseline: the same rows as ready tuples, only their columns, no statistics."""
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.copy(copy_sql) as copy:
                copy.set_types(BATCH_TYPES)
                for values in tuples:
                    copy.write_row(values)

    def timed(run) -> float:
        start = time.perf_counter()
        run()
        return args.batch / (time.perf_counter() - start)

    rates = {"raw COPY, no trigger": 0.0, "record_usages (COPY + ours)": 0.0}
    with connection.cursor() as cursor:
        for _ in range(args.repeat):
            use_variant(cursor, "no trigger")
            rates["raw COPY, no trigger"] = max(rates["raw COPY, no trigger"], timed(raw_copy))
            use_variant(cursor, "ours")
            rate = timed(lambda: record_usages(rows))
            rates["record_usages (COPY + ours)"] = max(rates["record_usages (COPY + ours)"], rate)
    return rates


# --- Part 3: admin usage-log list ---------------------------------------------------------------


def fill_logs_to(total: int, skills, cursor) -> None:
    """Top skill_usage_logs up to `total` rows (at least 1,000 more) over a year, of 30 users
    and 200 workspaces."""
    cursor.execute("SELECT count(*) FROM skill_usage_logs")
    missing = max(total - cursor.fetchone()[0], 1000)  # some logs of users, for the search
    cursor.execute(
        """
        INSERT INTO users (email, password, first_name, last_name, is_superuser)
        SELECT 'bench-user-' || n || '@example.com', '!', 'Bench', 'User ' || n, false
        FROM generate_series(1, 30) AS n
        ON CONFLICT (email) DO NOTHING
        """
    )
    cursor.execute(
        """
        INSERT INTO skill_usage_logs (skill_id, user_id, workspace_id, execution_time_ms,
                                      tokens_used, tokens_saved, cost_usd, success,
                                      executed_at)
        SELECT skill_ids[1 + n %% array_length(skill_ids, 1)],
               CASE WHEN n %% 3 = 0 THEN NULL
                    ELSE user_ids[1 + n %% array_length(user_ids, 1)] END,
               md5('workspace' || n %% 200)::uuid,
               50 + n %% 3000, 500 + n %% 8000, n %% 900, (n %% 1000) / 10000.0,
               n %% 14 <> 0,
               now() - (n %% 31536000) * interval '1 second'
        FROM (SELECT array_agg(id) AS skill_ids FROM skills WHERE id = ANY (%s)) AS s,
             (SELECT array_agg(id) AS user_ids FROM users) AS u,
             generate_series(1, %s) AS n
        """,
        [[skill.pk for skill in skills], missing],
    )
    cursor.execute("VACUUM ANALYZE skill_usage_logs")


def admin_list_times(client, skill, user_pk, repeat: int = 5) -> dict:
    """Median server time (ms) of the usage-log list for a few typical views."""
    from django.utils import timezone

    week_ago = quote((timezone.localtime() - timezone.timedelta(days=7)).isoformat(" "))
    base = "/admin/skills/skillusagelog/"
    views = {
        "first page": base,
        "page 50": base + "?p=50",
        "filtered by skill": f"{base}?skill__id__exact={skill.pk}",
        "failures only": base + "?success__exact=0",
        "past 7 days": f"{base}?executed_at__gte={week_ago}",
        "search user id": f"{base}?q={user_pk}",
    }
    times = {}
    for name, url in views.items():
        assert client.get(url).status_code == 200, url  # warm-up
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, url
        times[name] = statistics.median(samples)
    return times


def bench_admin_list(args, skills, cursor) -> tuple[dict, dict, int]:
    from django.core.paginator import Paginator
    from django.test import Client

    from cases.models import User
    from skills.admin import SkillUsageLogAdmin

    fill_logs_to(args.admin_logs, skills, cursor)
    cursor.execute("SELECT count(*) FROM skill_usage_logs")
    total = cursor.fetchone()[0]
    client = Client()
    client.force_login(User.objects.create_superuser("bench-admin@example.com", None))
    cursor.execute("SELECT user_id FROM skill_usage_logs WHERE user_id IS NOT NULL LIMIT 1")
    user_pk = cursor.fetchone()[0]
    ours = admin_list_times(client, skills[0], user_pk)
    # Baseline: Django's defaults, a full COUNT(*) for the paginator and one for the total.
    stock = {"paginator": Paginator, "show_full_result_count": True}
    saved = {name: getattr(SkillUsageLogAdmin, name) for name in stock}
    for name, value in stock.items():
        setattr(SkillUsageLogAdmin, name, value)
    try:
        baseline = admin_list_times(client, skills[0], user_pk, repeat=3)
    finally:
        for name, value in saved.items():
            setattr(SkillUsageLogAdmin, name, value)
    return ours, baseline, total


# --- Report -------------------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(line, widths, strict=True)))


def main() -> int:
    args = parse_args()
    maintenance_url, scratch_url = server_url("postgres"), server_url(SCRATCH_DATABASE)
    recreate_scratch_database(maintenance_url)
    setup_django(
        DATABASE_URL=scratch_url,
        DATABASE_STATEMENT_TIMEOUT="0",  # building the data takes longer than the default 60 s
        DEBUG="false",
    )
    import psycopg
    from django.core.management import call_command
    from django.db import connection, connections

    from skills.models import Skill

    def make_skill(skill_id: str) -> Skill:
        return Skill.objects.create(
            skill_id=skill_id,
            display_name=skill_id,
            version="1.0.0",
            type="bench",
            category="bench",
        )

    floors = []
    try:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(ORIGINAL_TRIGGER)
            cursor.execute(trigger_of_0010())
            with psycopg.connect(scratch_url, autocommit=True) as raw_conn:
                clients = {
                    SERVICE: service_inserter(connection),
                    "raw prepared INSERT": raw_inserter(raw_conn),
                }
                single = bench_single_inserts(args, make_skill, cursor, clients)
            prior_skill = Skill.objects.get(skill_id="bench-prior")
            load_before = os.getloadavg()
            hot_rounds, server_us = bench_hot_row(args, scratch_url, prior_skill, cursor)
            hot_load = (load_before, os.getloadavg())
            folded, fold_seconds = bench_fold(prior_skill, cursor)
            indexes = bench_dropped_indexes(args, scratch_url, prior_skill, cursor)
        skills = [make_skill(f"bench-batch-{n}") for n in range(20)]
        batch = bench_batch_ingest(args, skills, connection)

        for client in clients:
            none_0, none_n = (
                single[client, "no trigger", 0],
                single[client, "no trigger", args.prior],
            )
            table(
                f"Single-row inserts/s through {client}, one per transaction, N = {args.prior:,}",
                ["trigger", "0 prior", "N prior", "N / 0", "vs no trigger (0 / N)"],
                [
                    [
                        variant,
                        f"{single[client, variant, 0]:,.0f}",
                        f"{single[client, variant, args.prior]:,.0f}",
                        f"{single[client, variant, args.prior] / single[client, variant, 0]:.2f}",
                        f"{single[client, variant, 0] / none_0:.2f} / "
                        f"{single[client, variant, args.prior] / none_n:.2f}",
                    ]
                    for variant in VARIANTS
                ],
            )
        # The floors take each rate's best round (load elsewhere only ever slows a round
        # down); the median round is shown beside it, for the spread.
        hot = {key: max(rates) for key, rates in hot_rounds.items()}
        median = {key: statistics.median(rates) for key, rates in hot_rounds.items()}
        table(
            f"Raw prepared INSERTs into one skill with {args.prior:,} prior logs, rows/s "
            f"(synchronous_commit off), best / median of {args.hot_rounds} rounds",
            ["measure", "with statistics", "triggers disabled", "ratio",
             "before 0018", "its ratio"],
            [
                [name, f"{hot[name, 'ours']:,.0f} / {median[name, 'ours']:,.0f}",
                 f"{hot[name, 'bare']:,.0f} / {median[name, 'bare']:,.0f}",
                 f"{hot[name, 'ours'] / hot[name, 'bare']:.2f} / "
                 f"{median[name, 'ours'] / median[name, 'bare']:.2f}",
                 f"{hot[name, 'before 0018']:,.0f} / {median[name, 'before 0018']:,.0f}",
                 f"{hot[name, 'before 0018'] / hot[name, 'bare']:.2f} / "
                 f"{median[name, 'before 0018'] / median[name, 'bare']:.2f}"]
                for name in dict.fromkeys(name for name, _ in hot)
            ],
        )  # fmt: skip
        one, many = "1 writer, autocommit", f"{WRITERS} writers, autocommit"
        speedup = {v: hot[many, v] / hot[one, v] for v in HOT_VARIANTS}
        median_speedup = {v: median[many, v] / median[one, v] for v in HOT_VARIANTS}
        for label, ups in (("best rounds", speedup), ("median rounds", median_speedup)):
            print(
                f"  speed-up 1 -> {WRITERS} writers, {label}: {ups['ours']:.2f}x with "
                f"statistics, {ups['bare']:.2f}x bare ({ups['ours'] / ups['bare']:.2f} of "
                f"bare's); before 0018 {ups['before 0018']:.2f}x "
                f"({ups['before 0018'] / ups['bare']:.2f})"
            )
        for name in dict.fromkeys(name for name, _ in server_us):
            us = {v: statistics.median(server_us[name, v]) for v in HOT_VARIANTS}
            print(
                f"  server time per INSERT, {name} (pg_stat_statements, median round): "
                f"{us['bare']:.1f} us bare, with statistics {us['ours']:.1f} "
                f"({us['ours'] - us['bare']:+.1f}), before 0018 {us['before 0018']:.1f} "
                f"({us['before 0018'] - us['bare']:+.1f})"
            )
        print(
            "  load average (1, 5, 15 min) before / after: "
            + " / ".join(", ".join(f"{v:.1f}" for v in load) for load in hot_load)
            + f" on {os.cpu_count()} CPUs"
        )
        print(f"  fold of {folded:,} pending deltas: {fold_seconds * 1000:,.0f} ms")
        saved = indexes["bytes_per_row_with"] - indexes["bytes_per_row_without"]
        table(
            f"The three single-column indexes dropped by skills.0012, at {indexes['rows']:,} "
            "logs (fresh indexes; raw prepared INSERTs, triggers disabled)",
            ["indexes", "index bytes per row", "inserts/s"],
            [
                ["with the three", f"{indexes['bytes_per_row_with']:.0f}",
                 f"{indexes['inserts_with']:,.0f}"],
                ["without (now)", f"{indexes['bytes_per_row_without']:.0f}",
                 f"{indexes['inserts_without']:,.0f}"],
            ],
        )  # fmt: skip
        print(
            f"  saved: {saved:.0f} B per row; each insert "
            f"{1e6 / indexes['inserts_with'] - 1e6 / indexes['inserts_without']:.0f} us faster "
            f"({indexes['inserts_without'] / indexes['inserts_with']:.2f}x the rate)"
        )
        in_transaction = f"1 writer, {TRANSACTION_ROWS:,} rows in one transaction"
        floors += [
            (f"{one}: >= 0.6 of bare", hot[one, "ours"] / hot[one, "bare"] >= 0.6),
            (f"{many}: >= 0.6 of bare", hot[many, "ours"] / hot[many, "bare"] >= 0.6),
            (
                f"speed-up 1 -> {WRITERS} writers >= 0.8 of bare's",
                speedup["ours"] >= 0.8 * speedup["bare"],
            ),
            (
                f"{in_transaction}: >= 0.5 of bare",
                hot[in_transaction, "ours"] / hot[in_transaction, "bare"] >= 0.5,
            ),
        ]
        raw = batch["raw COPY, no trigger"]
        table(
            f"Batch ingest rows/s ({args.batch:,} rows over 20 skills)",
            ["path", "rows/s", "vs raw COPY"],
            [[name, f"{rate:,.0f}", f"{rate / raw:.2f}"] for name, rate in batch.items()],
        )
        ours_0, ours_n = single[SERVICE, "ours", 0], single[SERVICE, "ours", args.prior]
        floors += [
            (
                f"ours >= 60% of no-trigger single-row rate ({SERVICE})",
                ours_0 / single[SERVICE, "no trigger", 0] >= 0.60,
            ),
            (f"ours at N within 10% of ours at 0 ({SERVICE})", ours_n >= 0.90 * ours_0),
            ("record_usages >= 50% of raw COPY", batch["record_usages (COPY + ours)"] / raw >= 0.5),
        ]

        if args.admin_logs:
            ours, baseline, total = bench_admin_list(args, skills, cursor=connection.cursor())
            table(
                f"Admin usage-log list, median server ms with {total:,} logs",
                ["view", "ours", "stock paginator", "ours / stock"],
                [
                    [name, f"{ours[name]:.0f}", f"{baseline[name]:.0f}",
                     f"{ours[name] / baseline[name]:.2f}"]
                    for name in ours
                ],
            )  # fmt: skip
            floors.append(("admin usage-log list < 300 ms", max(ours.values()) < 300))
    finally:
        connections.close_all()
        for conn in connections.all():
            conn.close_pool()
        recreate_scratch_database(maintenance_url, drop_only=True)

    print("\nFloors")
    for name, passed in floors:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(passed for _, passed in floors) else 1


if __name__ == "__main__":
    sys.exit(main())
