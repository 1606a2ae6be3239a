"""Benchmark of `validate` at ten million usage logs in twelve closed months (issue 23, "validate
at a billion"): a run that reads every log against runs that take the unchanged months from
their records (skill_usage_verified_months, migration skills 0017).

    python bench/validate.py [--logs 10000000] [--months 12] [--repeat 3] [--quick]

On a scratch database on the configured server (the embedded one when DATABASE_URL is unset),
dropped at the end: migrate, one partition per month for the last --months closed months and
this one, --logs logs spread evenly over the closed months (a thousandth of them in this month)
by INSERT … SELECT generate_series through skill_usage_logs (the statistics triggers run, in
statements of 500,000), 40 skills and 200 users, fold, VACUUM ANALYZE. Then, each --repeat
times (the table shows the median):

- "no records": validate as before the ledger (core.integrity's ledgers emptied): every check
  reads every log in the snapshot, nothing is recorded; the baseline.
- "--full": every closed month re-verified and recorded again, then the snapshot.
- "incremental, unchanged": nothing written since the last run: every closed month recorded.
- "incremental, 1 month changed": a late log into one closed month before each run.

Every run must pass every check; the exit code is 1 if one does not, or if an incremental run
read or re-verified a month it should have taken from its record.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from unittest import mock

from _bootstrap import setup_django

setup_django(DATABASE_STATEMENT_TIMEOUT="0")  # statements of millions of rows

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from scratch import scratch_database  # noqa: E402

from cases.models import User  # noqa: E402
from core.integrity import RE_VERIFIED, RECORDED, registry  # noqa: E402
from ops.integrity.validate import validate_database  # noqa: E402
from ops.safety import production_reason  # noqa: E402
from skills import selectors, services  # noqa: E402
from skills.models import Skill  # noqa: E402

BATCH = 500_000
SKILLS, USERS = 40, 200

# Log n: a skill and (one log in three) a user by n, in closed month n % months, spread over
# that month's seconds; tokens, cost and success varying with n.
INSERT_LOGS = """
INSERT INTO skill_usage_logs (skill_id, user_id, workspace_id, execution_time_ms, tokens_used,
                              tokens_saved, cost_usd, success, executed_at)
SELECT s.ids[1 + n %% array_length(s.ids, 1)],
       CASE WHEN n %% 3 = 0 THEN u.ids[1 + n %% array_length(u.ids, 1)] END,
       md5('w' || n %% 200)::uuid, 50 + n %% 3000, 500 + n %% 8000, n %% 900,
       (n %% 1000) / 10000.0, n %% 14 <> 0,
       m.starts[1 + n %% %(months)s]
           + ((n / %(months)s) %% %(seconds)s) * interval '1 second'
FROM (SELECT array_agg(id) AS ids FROM skills) AS s,
     (SELECT array_agg(id) AS ids FROM users) AS u,
     (SELECT %(starts)s::timestamptz[] AS starts) AS m,
     generate_series(%(first)s, %(last)s) AS n
"""


def load(cursor, logs: int, months: list) -> None:
    starts = [selectors.month_start(month) for month in months]
    seconds = 28 * 86_400  # every month has at least 28 days
    for first in range(0, logs, BATCH):
        last = min(first + BATCH, logs) - 1
        cursor.execute(
            INSERT_LOGS,
            {
                "months": len(months),
                "seconds": seconds,
                "starts": starts,
                "first": first,
                "last": last,
            },
        )
        print(f"  {last + 1:,} logs", file=sys.stderr)


def late_log(cursor, month) -> None:
    """One log dated in closed `month`, through the triggers (the statistics count it)."""
    cursor.execute(
        "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, executed_at) "
        "SELECT id, 1, 1, %s FROM skills ORDER BY id LIMIT 1",
        [selectors.month_start(month) + timezone.timedelta(hours=12)],
    )
    # This session's counts reach the statistics system at once, not within the next second.
    cursor.execute("SELECT pg_stat_force_next_flush()")


def timed_runs(label: str, repeat: int, run, before=None) -> dict:
    seconds, reports = [], []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        report = run()
        seconds.append(time.perf_counter() - started)
        reports.append(report)
    statuses = {}
    for part in reports[-1].parts:
        statuses[part.status] = statuses.get(part.status, 0) + 1
    return {
        "label": label,
        "median": statistics.median(seconds),
        "slowest": max(seconds),
        "ok": all(r.ok for r in reports),
        "failures": [f for r in reports for f in r.failures][:3],
        "statuses": statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12, help="closed months the logs fill")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that it runs")
    args = parser.parse_args()
    if args.quick:
        args.logs, args.repeat = 60_000, 1
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")

    with scratch_database("bench_validate"):
        call_command("migrate", verbosity=0)
        cursor = connection.cursor()
        cursor.execute("SET statement_timeout = 0")
        today = timezone.localdate()
        months = [selectors.add_months(today, n) for n in range(-args.months, 0)]
        # The months get partitions of their own (the first one, empty, covers them all).
        first = selectors.usage_partitions()[0].name
        cursor.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {first}")
        cursor.execute(f"DROP TABLE {first}")
        for month in [*months, today]:
            cursor.execute("SELECT create_skill_usage_partition(%s)", [month])
        services.create_usage_partitions()
        Skill.objects.bulk_create(
            Skill(skill_id=f"bench-{n}", display_name="B", version="1.0.0", type="t", category="c")
            for n in range(SKILLS)
        )
        User.objects.bulk_create(
            User(email=f"bench{n}@bench.example", first_name="B", last_name=str(n))
            for n in range(USERS)
        )
        print(f"inserting {args.logs:,} logs into {args.months} months …", file=sys.stderr)
        started = time.perf_counter()
        load(cursor, args.logs, months)
        late_log(cursor, today)  # and this month: open, read by every run
        services.fold_skill_usage()
        cursor.execute("VACUUM ANALYZE")
        loaded = time.perf_counter() - started

        print("validating …", file=sys.stderr)
        first_run = timed_runs("first run (no record yet)", 1, validate_database)
        with mock.patch.object(registry, "ledgers", []):
            before = timed_runs("no records (every log read)", args.repeat, validate_database)
        full = timed_runs("--full", args.repeat, lambda: validate_database(full=True))
        unchanged = timed_runs("incremental, unchanged", args.repeat, validate_database)
        changed = timed_runs(
            "incremental, 1 month changed",
            args.repeat,
            validate_database,
            before=lambda: late_log(cursor, months[len(months) // 2]),
        )

    rows = [first_run, before, full, unchanged, changed]
    load_average = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\nvalidate at {args.logs:,} usage logs in {args.months} closed months (loaded in "
        f"{loaded:.0f} s; load average {load_average} on {os.cpu_count()} CPUs; median of "
        f"{args.repeat}):"
    )
    print("| run | median s | slowest s | ratio to --full | closed months | all pass |")
    print("|---|---:|---:|---:|---|---|")
    for row in rows:
        described = ", ".join(f"{n} {status}" for status, n in sorted(row["statuses"].items()))
        print(
            f"| {row['label']} | {row['median']:.2f} | {row['slowest']:.2f} | "
            f"{row['median'] / full['median']:.3f} | {described or '-'} | {row['ok']} |"
        )
    for row in rows:
        for failure in row["failures"]:
            print(f"  {row['label']}: FAIL {failure.target}: {failure.detail}")
    expected = (
        unchanged["statuses"] == {RECORDED: args.months}
        and changed["statuses"] == {RECORDED: args.months - 1, RE_VERIFIED: 1}
        and full["statuses"] == {RE_VERIFIED: args.months}
    )
    if not expected:
        print("  an incremental run read or re-verified a month it should have taken as recorded")
    return 0 if expected and all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
