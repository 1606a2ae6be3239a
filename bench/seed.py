"""Benchmark of `seed --scale N` and `validate`: synthetic rows per second through COPY against a
bulk_create of the very same rows, and the wall time of validate on a large database.

    python bench/seed.py [--firms 3] [--validate-firms 100] [--quick]

On a scratch database created on the configured server (the embedded one when DATABASE_URL is
unset) and dropped at the end:
  1. seed_synthetic_firms(--firms) through COPY: rows per second, generation included;
  2. the same rows (same seed) made into model instances and written with bulk_create, the way a
     Django seed script would (the baseline), generation included;
  3. --validate-firms firms (about 40,000 rows each) through COPY, then validate_database() on
     the result: its wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from _bootstrap import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from scratch import scratch_database  # noqa: E402

from ops.integrity.validate import validate_database  # noqa: E402
from ops.safety import production_reason  # noqa: E402
from ops.seeding import synthetic  # noqa: E402

SEED = 20261122
BATCH_SIZE = 1000
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def empty_synthetic_tables() -> None:
    names = ", ".join(table.name for table in synthetic.TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {names}, skill_versions, skills CASCADE")


# --- the two ways in ------------------------------------------------------------------------------


class Measurement:
    """Wall time, and CPU time of this process and of the database server's processes (when the
    server runs on this machine): on a shared machine CPU seconds say what the work costs."""

    def __init__(self):
        self.rows = 0

    def __enter__(self):
        self.wall, self.python, self.server = time.perf_counter(), time.process_time(), server_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.python = time.process_time() - self.python
        after = server_cpu()
        self.server = None if after is None or self.server is None else after - self.server


def server_cpu() -> float | None:
    """CPU seconds of the server's postmaster and all its children (backends, parallel workers,
    checkpointer, …), live or ended, or None when they are not processes of this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = int(_proc_stat(backend)[1])
        total = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = _proc_stat(int(entry))
                if fields and int(fields[1]) == postmaster:
                    total += int(fields[11]) + int(fields[12])
        fields = _proc_stat(postmaster)  # its own time, and that of its ended children
        total += sum(int(value) for value in fields[11:15])
    except (OSError, ValueError, IndexError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, …, utime, stime, cutime,
    cstime at 11 to 14."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return []


def copy_load(firms: int) -> Measurement:
    """seed_synthetic_firms (COPY), in one transaction as `seed` runs it."""
    with Measurement() as measured, transaction.atomic():
        measured.rows = synthetic.seed_synthetic_firms(firms, random_seed=SEED).total_rows
    return measured


def model_instances(table: synthetic.Table, lines: list[str]) -> list:
    """The COPY lines as model instances: what bulk_create starts from."""
    json_columns = {table.columns.index(c) for c in table.json_columns}
    instances = []
    for line in lines:
        row = {}
        for i, (column, value) in enumerate(zip(table.columns, line[:-1].split("\t"), strict=True)):
            if value == synthetic.NULL:
                row[column] = None
                continue
            if "\\" in value:
                value = _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], value)
            row[column] = json.loads(value) if i in json_columns else value
        instances.append(table.model(**row))
    return instances


def bulk_create_load(firms: int) -> Measurement:
    """The same rows through bulk_create, in one transaction."""
    with Measurement() as measured, transaction.atomic():
        as_of = synthetic.start_of_day()
        skill_ids, _ = synthetic.ensure_synthetic_skills("default", as_of)
        generator = synthetic.FirmGenerator(SEED, as_of, skill_ids)
        for index in range(firms):
            for table, lines in generator.firm_rows(index).items():
                table.model.objects.bulk_create(
                    model_instances(table, lines), batch_size=BATCH_SIZE
                )
                measured.rows += len(lines)
    return measured


def cpu_rate(measured: Measurement) -> float | None:
    """Rows per CPU second of both sides together."""
    if measured.server is None:
        return None
    return measured.rows / (measured.python + measured.server)


def database_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(n_live_tup)::bigint FROM pg_stat_user_tables WHERE schemaname = 'public'"
        )
        return cursor.fetchone()[0] or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=3, help="firms of the COPY/bulk_create race")
    parser.add_argument(
        "--validate-firms", type=int, default=100, help="firms in the database validate checks"
    )
    parser.add_argument("--quick", action="store_true", help="1 firm, validate at 5 firms")
    args = parser.parse_args()
    if args.quick:
        args.firms, args.validate_firms = 1, 5
    if args.firms < 1 or args.validate_firms < 1:
        parser.error("--firms and --validate-firms must be at least 1")
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")

    with scratch_database("bench_seed") as scratch:
        print(f"scratch database {scratch}: migrating …", file=sys.stderr)
        call_command("migrate", verbosity=0)
        print(f"COPY, {args.firms} firms …", file=sys.stderr)
        copied = copy_load(args.firms)
        empty_synthetic_tables()
        print(f"bulk_create, {args.firms} firms …", file=sys.stderr)
        baseline = bulk_create_load(args.firms)
        empty_synthetic_tables()
        print(f"COPY, {args.validate_firms} firms for validate …", file=sys.stderr)
        big = copy_load(args.validate_firms)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print("validate …", file=sys.stderr)
        with Measurement() as checked:
            report = validate_database()
        total_rows = database_rows()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]

    assert copied.rows == baseline.rows, (copied.rows, baseline.rows)
    print(
        f"\nseed --scale: synthetic firms of {synthetic.rows_per_firm():,} rows; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
    )
    print(
        f"{'':40}{'rows':>11}{'wall s':>8}{'rows/s':>9}{'ratio':>7}"
        f"{'CPU s py':>10}{'CPU s pg':>10}{'rows/CPU s':>12}{'ratio':>7}"
    )
    base_rate, base_cpu = baseline.rows / baseline.wall, cpu_rate(baseline)
    for label, measured in (
        (f"bulk_create, {args.firms} firms (baseline)", baseline),
        (f"seed --scale {args.firms} (COPY)", copied),
        (f"seed --scale {args.validate_firms} (COPY)", big),
    ):
        rate, per_cpu = measured.rows / measured.wall, cpu_rate(measured)
        server = f"{measured.server:>10.1f}" if measured.server is not None else f"{'n/a':>10}"
        cpu = f"{per_cpu:>12,.0f}{per_cpu / base_cpu:>6.1f}x" if per_cpu and base_cpu else ""
        print(
            f"{label:40}{measured.rows:>11,}{measured.wall:>8.1f}{rate:>9,.0f}"
            f"{rate / base_rate:>6.1f}x{measured.python:>10.1f}{server}{cpu}"
        )
    status = "all checks pass" if report.ok else f"{len(report.failures)} FAIL"
    server = f", server CPU {checked.server:.1f} s" if checked.server is not None else ""
    print(
        f"\nvalidate on {total_rows:,} rows ({size}, {args.validate_firms} firms): "
        f"{checked.wall:.1f} s wall{server}, {status}"
    )
    for failure in report.failures:
        print(f"  FAIL {failure.check} {failure.target}: {failure.detail}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
