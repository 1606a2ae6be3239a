"""Benchmark of the admin's pages at a million usage logs: server time of the usage analytics
(from the daily rollup, against the same page computed straight from skill_usage_logs), the
usage-log list and the database statistics; what keeping the rollup costs the writes; and the
CSV export of every usage log (rows per second, and the serving process's memory growth).

    python bench/admin.py [--logs 1000000] [--skills 30] [--days 180] [--repeat 7] [--quick]

On a scratch database created on the configured server (the embedded one when DATABASE_URL is
unset) and dropped at the end: migrate, COPY --logs usage logs of --skills skills spread over
the last --days days into skill_usage_logs (the statistics and rollup triggers run, once per
statement), VACUUM ANALYZE, then each page is requested --repeat times through Django's test
Client, logged in as a superuser, after one warm-up request; the table shows the median and
the slowest. "Server time" is the whole request in process: middleware, queries, templates.

The export is downloaded in a fresh process (its memory is then the export's alone), through
Django's test Client, reading the streamed response chunk by chunk; its baseline is the same
SELECT copied out by psycopg into nothing, in that process, in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

from _bootstrap import setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from scratch import create_scratch_database, drop_scratch_database  # noqa: E402

from cases.models import User  # noqa: E402
from legalplatform.db.transactions import atomic_without_statement_timeout  # noqa: E402
from ops.safety import production_reason  # noqa: E402
from skills import selectors  # noqa: E402
from skills.models import Skill, SkillUsageLog  # noqa: E402
from skills.services import (  # noqa: E402
    FOLD_ON_READ,
    fold_skill_usage,
    record_usage,
    record_usages,
)

SEED = 20261122
FLOORS_MS = {"analytics": 500, "list": 300}  # the floors for server time
EXPORT_FLOORS = {"rows_per_second": 50_000, "rss_growth_mb": 50}  # the floors
# Since skills 0010 one trigger keeps the statistics and the rollup: it appends the deltas.
ROLLUP_TRIGGERS = ("skill_usage_deltas_on_insert",)
PENDING_DELTAS = FOLD_ON_READ - 1  # the most a reader leaves unfolded (19,999)
INGEST_BATCH = 100_000
INGEST_SINGLE = 500


# --- data ---------------------------------------------------------------------------------------


def make_skills(count: int) -> list[Skill]:
    kinds = ["document_analysis", "legal_research", "template_generation", "translation"]
    return Skill.objects.bulk_create(
        Skill(
            skill_id=f"bench-skill-{n:02d}",
            display_name=f"Benchmark skill {n:02d}",
            version="1.0.0",
            type=kinds[n % len(kinds)],
            category="legal" if n % 3 else "administrative",
        )
        for n in range(count)
    )


def make_users(count: int) -> list[User]:
    return User.objects.bulk_create(
        User(email=f"bench-user-{n}@example.com", password="!", status="Active")
        for n in range(count)
    )


def usage_rows(count: int, skills: list[Skill], users: list[User], days: int, rng):
    """`count` plausible logs as rows of COPY text: skills used unevenly (a few popular ones),
    92 % successful, spread uniformly over the last `days` days."""
    weights = [1 / (rank + 1) for rank in range(len(skills))]
    skill_ids = [str(s.pk) for s in rng.choices(skills, weights, k=count)]
    user_ids = [str(u.pk) for u in users] + ["\\N"] * (len(users) // 4)
    workspaces = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
    now = timezone.now()
    span = days * 86_400
    for n in range(count):
        used = rng.randint(500, 20_000)
        success = rng.random() < 0.92
        executed_at = now - timedelta(seconds=rng.random() * span)
        yield (
            f"{skill_ids[n]}\t{rng.choice(user_ids)}\t{rng.choice(workspaces)}\t"
            f"{rng.randint(200, 30_000)}\t{used}\t{rng.randint(0, used // 2) if success else 0}\t"
            f"{used * 0.000009:.6f}\t{'t' if success else 'f'}\t{executed_at.isoformat()}\n"
        )


def copy_logs(lines) -> float:
    """COPY the rows into skill_usage_logs in one statement; seconds taken (commit included)."""
    buffer = io.StringIO("".join(lines))
    started = time.perf_counter()
    with atomic_without_statement_timeout() as cursor:
        with cursor.copy(
            "COPY skill_usage_logs (skill_id, user_id, workspace_id, execution_time_ms, "
            "tokens_used, tokens_saved, cost_usd, success, executed_at) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
    return time.perf_counter() - started


# --- the cost of keeping the rollup ---------------------------------------------------------------


def rolled_back(function):
    """Run `function` in a transaction rolled back after: the logs it writes go away."""
    with transaction.atomic():
        result = function()
        transaction.set_rollback(True)
    return result


def without_rollup_trigger(function):
    """rolled_back(function) with the INSERT trigger of the statistics and the rollup (the
    deltas) disabled meanwhile."""

    def bare():
        with connection.cursor() as cursor:
            for trigger in ROLLUP_TRIGGERS:
                cursor.execute(f"ALTER TABLE skill_usage_logs DISABLE TRIGGER {trigger}")
        return function()

    return rolled_back(bare)


def batch_ingest(skills, users, rng) -> float:
    """Seconds for record_usages() of INGEST_BATCH logs (one COPY)."""
    rows = [
        {"skill": rng.choice(skills), "execution_time_ms": 100, "tokens_used": 1000}
        for _ in range(INGEST_BATCH)
    ]
    started = time.perf_counter()
    record_usages(rows)
    return time.perf_counter() - started


def single_ingest(skills, rng) -> float:
    """Seconds per record_usage() call (one INSERT each, inside one transaction)."""
    started = time.perf_counter()
    for _ in range(INGEST_SINGLE):
        record_usage(rng.choice(skills), execution_time_ms=100, tokens_used=1000)
    return (time.perf_counter() - started) / INGEST_SINGLE


# --- the CSV export -------------------------------------------------------------------------------


def memory_kib(field: str) -> int:
    """A VmRSS / VmHWM figure of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_export(admin_email: str) -> dict:
    """In this (fresh) process: download the usage-log export, chunk by chunk, and the bare COPY
    of the same SELECT; rows, seconds and memory of each."""
    from legalplatform.exports import csv_rows

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    client = Client()
    client.force_login(User.objects.get(email=admin_email))
    url = reverse("admin:skills_skillusagelog_export")
    model_admin = admin.site.get_model_admin(SkillUsageLog)
    # Warm up: imports, the connection, the first page's queries.
    client.get(f"{url}?skill__id__exact={uuid.uuid4()}")  # no rows
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    before = memory_kib("VmRSS")
    started = time.perf_counter()
    response = client.get(url)
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    peak = memory_kib("VmHWM")
    # The baseline: the same SELECT (the list's queryset, all logs) copied out and dropped.
    queryset = SkillUsageLog.objects.order_by("-executed_at")
    started = time.perf_counter()
    bare_rows = sum(chunk.count(b"\n") for chunk in csv_rows(queryset, model_admin.export_fields))
    bare_seconds = time.perf_counter() - started
    return {
        "rows": rows - 1,  # the header
        "bytes": size,
        "seconds": seconds,
        "rss_before_mb": before / 1024,
        "rss_growth_mb": (peak - before) / 1024,
        "bare_rows": bare_rows,
        "bare_seconds": bare_seconds,
    }


def export_in_fresh_process(database: str, admin_email: str) -> dict:
    """measure_export() in a new Python process on the scratch database."""
    env = {**os.environ, "BENCH_ADMIN_DATABASE": database}
    completed = subprocess.run(
        [sys.executable, __file__, "--measure-export", admin_email],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the export process failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- pages --------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Milliseconds per request: wall clock (what a user waits for, the database included) and
    the CPU time of this process (the Django side alone, whatever else the machine runs)."""

    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def server_times(client: Client, url: str, repeat: int) -> Timing:
    """Timing of `repeat` requests of `url`, after one warm-up request."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    timing = Timing([], [])
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        client.get(url)
        timing.wall.append((time.perf_counter() - started) * 1000)
        timing.cpu.append((time.process_time() - cpu) * 1000)
    return timing


def from_logs():
    """The analytics page computed straight from skill_usage_logs (the baseline)."""
    return mock.patch.object(
        selectors, "usage_analytics", partial(selectors.usage_analytics, from_logs=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=int, default=1_000_000, help="usage logs (1000000)")
    parser.add_argument("--skills", type=int, default=30, help="skills (30)")
    parser.add_argument("--days", type=int, default=180, help="days the logs span (180)")
    parser.add_argument("--repeat", type=int, default=7, help="requests per page (7)")
    parser.add_argument("--quick", action="store_true", help="100,000 logs, 3 requests a page")
    parser.add_argument("--measure-export", metavar="ADMIN_EMAIL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_export:  # the child process of export_in_fresh_process
        settings_dict = connection.settings_dict
        settings_dict["NAME"] = settings_dict["EMBEDDED_DATABASE"] = os.environ[
            "BENCH_ADMIN_DATABASE"
        ]
        print(json.dumps(measure_export(args.measure_export)))
        return 0
    if args.quick:
        args.logs, args.repeat = 100_000, 3
    if args.logs < 1000 or args.skills < 2 or args.days < 90 or args.repeat < 1:
        parser.error("need --logs ≥ 1000, --skills ≥ 2, --days ≥ 90 and --repeat ≥ 1")
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")
    # Sessions in a signed cookie: the benchmark leaves nothing in Redis.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

    rng = random.Random(SEED)
    scratch = f"bench_admin_{os.getpid()}"
    create_scratch_database(scratch)
    try:
        print(f"scratch database {scratch}: migrating …", file=sys.stderr)
        call_command("migrate", verbosity=0)
        skills, users = make_skills(args.skills), make_users(50)
        print(f"generating and COPYing {args.logs:,} usage logs …", file=sys.stderr)
        load_seconds = copy_logs(usage_rows(args.logs, skills, users, args.days, rng))
        fold_skill_usage()  # the COPY's deltas, as the fold timer would within the minute
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("VACUUM ANALYZE skill_usage_logs")
            cursor.execute("VACUUM ANALYZE skill_usage_daily")
            cursor.execute("VACUUM ANALYZE skills")
            cursor.execute("SELECT count(*) FROM skill_usage_daily")
            rollup_rows = cursor.fetchone()[0]
            cursor.execute("RESET statement_timeout")
        print("checking the rollup against the logs …", file=sys.stderr)
        mismatches = len(selectors.daily_usage_mismatches())

        print("ingest with and without the deltas trigger …", file=sys.stderr)
        ingest = {}
        for kind, measure in (
            ("batch", lambda: batch_ingest(skills, users, rng)),
            ("single", lambda: single_ingest(skills, rng)),
        ):
            # The fastest of 3 each, in alternating order: the machine's noise is large.
            timings = {rolled_back: [], without_rollup_trigger: []}
            for order in (
                (rolled_back, without_rollup_trigger),
                (without_rollup_trigger, rolled_back),
                (rolled_back, without_rollup_trigger),
            ):
                for run in order:
                    timings[run].append(run(measure))
            ingest[kind] = min(timings[rolled_back])
            ingest[f"{kind}_bare"] = min(timings[without_rollup_trigger])

        client = Client()
        client.force_login(User.objects.create_superuser("bench-admin@example.com", None))
        print("CSV export of every usage log, in a fresh process …", file=sys.stderr)
        exported = export_in_fresh_process(scratch, "bench-admin@example.com")
        analytics = reverse("admin:usage_analytics")
        logs = reverse("admin:skills_skillusagelog_changelist")
        popular = skills[0]
        by_cost = admin.site.get_model_admin(SkillUsageLog).list_display.index("cost")
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        since_today = urlencode({"executed_at__gte": str(today)})
        pages = [  # label, URL, floor, baseline key
            ("analytics, 7 days", f"{analytics}?days=7", "analytics", True),
            ("analytics, 30 days", f"{analytics}?days=30", "analytics", True),
            ("analytics, 90 days", f"{analytics}?days=90", "analytics", True),
            (
                "analytics, 90 days, one skill",
                f"{analytics}?days=90&skill={popular.skill_id}",
                "analytics",
                True,
            ),
            ("usage-log list, first page", logs, "list", False),
            ("usage-log list, one skill", f"{logs}?skill__id__exact={popular.pk}", "list", False),
            ("usage-log list, failures", f"{logs}?success__exact=0", "list", False),
            ("usage-log list, since midnight", f"{logs}?{since_today}", "list", False),
            ("usage-log list, by cost", f"{logs}?o=-{by_cost}", "list", False),
            ("skills list", reverse("admin:skills_skill_changelist"), None, False),
            ("dbstats", reverse("admin:dbstats"), None, False),
        ]
        results = []
        # Each page with the most pending deltas a reader leaves unfolded (single-row
        # statements' deltas, as a minute of ingest leaves them), then with none; nothing else
        # is pending (the COPY's deltas were folded), so no page folds on reading.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO skill_usage_deltas SELECT (%s::uuid[])[1 + n %% %s], "
                "current_date - n %% 30, 1, 1, 1500, 7, 7, 0.0042, 120 "
                "FROM generate_series(1, %s) AS n",
                [[s.pk for s in skills], len(skills), PENDING_DELTAS],
            )
        for state in ("pending", "folded"):
            if state == "folded":
                # Had a page folded on reading, the "pending" figures would be folded ones.
                if (pending := selectors.pending_usage_deltas()) != PENDING_DELTAS:
                    raise SystemExit(f"{pending:,} deltas pending, not {PENDING_DELTAS:,}")
                fold_skill_usage()
            for label, url, floor, has_baseline in pages:
                label = f"{label} ({state})"
                print(f"{label} …", file=sys.stderr)
                times = server_times(client, url, args.repeat)
                baseline = None
                if has_baseline and state == "folded":
                    with from_logs():
                        baseline = server_times(client, url, args.repeat)
                results.append((label, times, FLOORS_MS.get(floor), baseline))
    finally:
        drop_scratch_database(scratch)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\nAdmin pages at {args.logs:,} usage logs of {args.skills} skills over {args.days} "
        f"days ({rollup_rows:,} rollup rows; rollup mismatches: {mismatches}); "
        f"{args.repeat} requests each, (pending) with {PENDING_DELTAS:,} unfolded deltas, "
        f"(folded) with none; load average {load} on {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'page':<44} {'median':>9} {'fastest':>9} {'CPU':>8} {'floor':>7} "
        f"{'from logs':>10} {'ratio':>7}"
    )
    print("-" * 100)
    for label, timing, floor, baseline in results:
        met = "" if floor is None else ("met" if timing.median <= floor else "MISSED")
        base = f"{baseline.median:>8.0f}ms" if baseline else ""
        ratio = f"{baseline.median / timing.median:>6.1f}×" if baseline else ""
        print(
            f"{label:<44} {timing.median:>7.1f}ms {min(timing.wall):>7.1f}ms "
            f"{statistics.median(timing.cpu):>6.1f}ms {met:>7} {base:>10} {ratio:>7}"
        )
    print(
        f"\nCOPY of {args.logs:,} logs with the statistics and rollup triggers: "
        f"{load_seconds:.1f} s ({args.logs / load_seconds:,.0f} logs/s)"
    )
    print("Writes with and without the deltas trigger (fastest of 3 each, order alternated):")
    for kind, unit, scale in (("batch", "s", 1), ("single", "ms", 1000)):
        with_rollup, bare = ingest[kind] * scale, ingest[f"{kind}_bare"] * scale
        what = (
            f"record_usages() of {INGEST_BATCH:,} logs (COPY)"
            if kind == "batch"
            else "record_usage(), per call"
        )
        print(
            f"{what:<42} {with_rollup:>8.3f} {unit} with the rollup, {bare:>8.3f} {unit} "
            f"without: {with_rollup / bare:.2f}×"
        )
    rate = exported["rows"] / exported["seconds"]
    bare_rate = exported["bare_rows"] / exported["bare_seconds"]
    rate_met = rate >= EXPORT_FLOORS["rows_per_second"]
    memory_met = exported["rss_growth_mb"] <= EXPORT_FLOORS["rss_growth_mb"]
    print(
        f"\nCSV export of the usage-log list, all {exported['rows']:,} logs "
        f"({exported['bytes'] / 1e6:,.0f} MB), streamed through the admin: "
        f"{exported['seconds']:.1f} s, {rate:,.0f} rows/s "
        f"(floor {EXPORT_FLOORS['rows_per_second']:,}: {'met' if rate_met else 'MISSED'}); "
        f"bare COPY of the same SELECT {bare_rate:,.0f} rows/s: {rate / bare_rate:.2f}×"
    )
    print(
        f"Memory of the serving process: {exported['rss_before_mb']:.0f} MB before, peak growth "
        f"{exported['rss_growth_mb']:.1f} MB during the download "
        f"(floor {EXPORT_FLOORS['rss_growth_mb']} MB: {'met' if memory_met else 'MISSED'})"
    )
    pages_met = all(f is None or t.median <= f for _, t, f, _ in results)
    return 0 if pages_met and rate_met and memory_met and exported["rows"] == args.logs else 1


if __name__ == "__main__":
    sys.exit(main())
