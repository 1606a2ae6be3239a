"""Benchmark of the monthly partitions of skill_usage_logs (issue 23): how long migrating an
existing table takes (skills 0013: index and CHECK built while writes go on; 0014: the short
transaction that attaches it as the first partition), and how long pruning a month takes, at
the month's size and against the whole table's.

    python bench/usage_partitions.py [--existing 1000000] [--month 10000000] [--quick]

On a scratch database on the configured server (the embedded one when DATABASE_URL is unset),
dropped at the end. Part 1: migrate to skills 0012, INSERT --existing logs over the past year
(triggers on, in statements of 500,000), then time `migrate skills 0013` and `0014`. Part 2:
part 1's logs truncated and the first partition (the old table) dropped, partitions for the
past months created, one month filled with --month logs through skill_usage_logs (triggers on),
the next with a tenth of it;
then prune_usage_logs of that month is timed (no backup: the backup is a COPY of the rows,
timed apart), and `validate`'s statistics checks are run before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
os.environ["DATABASE_STATEMENT_TIMEOUT"] = "0"  # statements of millions of rows

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from scratch import create_scratch_database, drop_scratch_database  # noqa: E402

from ops.safety import production_reason  # noqa: E402
from skills import selectors, services  # noqa: E402
from skills.models import Skill  # noqa: E402

BATCH = 500_000
FLOOR_PRUNE_SECONDS = 1.0

INSERT_LOGS = """
INSERT INTO skill_usage_logs (skill_id, workspace_id, execution_time_ms, tokens_used,
                              tokens_saved, cost_usd, success, executed_at)
SELECT skill_ids[1 + n %% array_length(skill_ids, 1)], md5('w' || n %% 200)::uuid,
       50 + n %% 3000, 500 + n %% 8000, n %% 900, (n %% 1000) / 10000.0, n %% 14 <> 0,
       %(start)s::timestamptz + (n %% %(span)s) * interval '1 second'
FROM (SELECT array_agg(id) AS skill_ids FROM skills) AS s,
     generate_series(%(first)s, %(last)s) AS n
"""


def insert_logs(cursor, count: int, start, seconds: int) -> None:
    for first in range(0, count, BATCH):
        last = min(first + BATCH, count) - 1
        cursor.execute(INSERT_LOGS, {"start": start, "span": seconds, "first": first, "last": last})


def evict_from_page_cache(cursor, tables: list[str]) -> int:
    """Write `tables` (with their indexes and TOAST) out and have the kernel drop their files
    from its page cache: CHECKPOINT, then posix_fadvise(DONTNEED) on every file. The state of a
    month last written long ago, which is what a retention prune drops (a month just filled is
    still in memory, and removing cached files costs freeing their pages). Needs the server's
    data directory on this machine, readable."""
    cursor.execute("CHECKPOINT")
    cursor.execute("SHOW data_directory")
    data = Path(cursor.fetchone()[0])
    cursor.execute(
        """
        -- The tables and their TOAST tables, then the indexes of both.
        WITH heaps AS (
            SELECT c.oid
            FROM unnest(%s::text[]) AS name, pg_class AS c
            WHERE c.oid IN (name::regclass, (SELECT t.reltoastrelid FROM pg_class AS t
                                             WHERE t.oid = name::regclass))
        )
        SELECT pg_relation_filepath(oid) FROM heaps
        UNION ALL
        SELECT pg_relation_filepath(indexrelid) FROM pg_index
        WHERE indrelid IN (SELECT oid FROM heaps)
        """,
        [tables],
    )
    for (relative,) in cursor.fetchall():
        base = data / relative
        # The relation's segments (name, name.1, …) and forks (name_fsm, name_vm, …).
        pattern = re.compile(rf"{re.escape(base.name)}(_[a-z]+)?(\.\d+)?")
        for path in base.parent.iterdir():
            if pattern.fullmatch(path.name):
                with path.open("rb") as file:
                    os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--existing", type=int, default=1_000_000, help="logs before 0013/0014")
    parser.add_argument("--month", type=int, default=10_000_000, help="logs of the pruned month")
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that it runs")
    parser.add_argument(
        "--out-of-cache",
        action="store_true",
        help="drop the pruned month's files from the page cache first, as an old month's are",
    )
    args = parser.parse_args()
    if args.quick:
        args.existing, args.month = 20_000, 50_000
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")
    scratch = f"bench_usage_partitions_{os.getpid()}"
    create_scratch_database(scratch)
    figures = {}
    try:
        cursor = connection.cursor()
        cursor.execute("SET statement_timeout = 0")
        call_command("migrate", "skills", "0012", verbosity=0)
        Skill.objects.bulk_create(
            Skill(skill_id=f"bench-{n}", display_name="B", version="1.0.0", type="t", category="c")
            for n in range(20)
        )
        print(f"inserting {args.existing:,} logs over the past year …", file=sys.stderr)
        year_ago = timezone.now() - timezone.timedelta(days=365)
        insert_logs(cursor, args.existing, year_ago, 365 * 86_400)
        services.fold_skill_usage()
        cursor.execute("VACUUM ANALYZE skill_usage_logs")
        figures["0013"] = timed(lambda: call_command("migrate", "skills", "0013", verbosity=0))
        figures["0014"] = timed(lambda: call_command("migrate", "skills", "0014", verbosity=0))
        call_command("migrate", verbosity=0)
        cursor.execute("SET statement_timeout = 0")

        print("partitions for the past months …", file=sys.stderr)
        today = timezone.localdate()
        # Part 1's logs go (TRUNCATE recounts), and the old table with them: its months get
        # partitions of their own.
        cursor.execute("TRUNCATE skill_usage_logs")
        first = selectors.usage_partitions()[0].name
        cursor.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {first}")
        cursor.execute(f"DROP TABLE {first}")
        for n in range(-14, 1):
            cursor.execute(
                "SELECT create_skill_usage_partition(%s)", [selectors.add_months(today, n)]
            )
        month = selectors.add_months(today, -12)
        start, end = (
            selectors.month_start(month),
            selectors.month_start(selectors.add_months(month, 1)),
        )
        span = int((end - start).total_seconds())
        print(f"inserting {args.month:,} logs into {month:%Y-%m} …", file=sys.stderr)
        figures["fill"] = timed(lambda: insert_logs(cursor, args.month, start, span))
        insert_logs(cursor, args.month // 10, end, span)  # the next month, a tenth
        services.fold_skill_usage()
        cursor.execute("VACUUM ANALYZE skill_usage_logs")
        cursor.execute("SELECT count(*) FROM skill_usage_logs")
        figures["total_logs"] = cursor.fetchone()[0]
        before = selectors.check_statistics()
        pruned = [p.name for p in services.partitions_before(selectors.add_months(month, 1))]
        cursor.execute(
            "SELECT sum(pg_total_relation_size(name::regclass))::bigint "
            "FROM unnest(%s::text[]) AS name",
            [pruned],
        )
        figures["bytes"] = cursor.fetchone()[0]
        if args.out_of_cache:
            evict_from_page_cache(cursor, pruned)
        result = services.prune_usage_logs(selectors.add_months(month, 1), by="bench", backup=False)
        figures["prune"] = result.seconds
        figures["steps"] = result.steps
        figures["pruned"] = result.rows
        after = selectors.check_statistics()
        figures["statistics kept"] = before == after and all(c.matches for c in after)
        figures["rollup exact"] = selectors.daily_usage_mismatches() == []
    finally:
        drop_scratch_database(scratch)

    print(
        f"\nMigrating {args.existing:,} existing logs (load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs):"
    )
    print(f"  skills 0013 (unique index concurrently, CHECK validated; writes go on): "
          f"{figures['0013']:.1f} s")  # fmt: skip
    print(
        f"  skills 0014 (one transaction: attach as the first partition): {figures['0014']:.2f} s"
    )
    print(
        f"\nPrune of one month of {figures['pruned']:,} logs out of {figures['total_logs']:,} "
        f"(filled in {figures['fill']:.0f} s): {figures['prune']:.3f} s, the transaction "
        f"(floor {FLOOR_PRUNE_SECONDS:.0f} s: "
        f"{'met' if figures['prune'] <= FLOOR_PRUNE_SECONDS else 'MISSED'}); statistics kept: "
        f"{figures['statistics kept']}; rollup exact: {figures['rollup exact']}"
    )
    print("  steps: " + ", ".join(f"{k} {v:.3f} s" for k, v in figures["steps"].items()))
    print(
        f"  then the files removed (DROP TABLE after the commit, holding only the detached "
        f"table): {figures['steps']['drop']:.3f} s for {figures['bytes'] / 1e9:.2f} GB "
        f"(heap and indexes, {'out of' if args.out_of_cache else 'in'} the page cache); "
        f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    ok = figures["prune"] <= FLOOR_PRUNE_SECONDS and figures["statistics kept"]
    return 0 if ok and figures["rollup exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
