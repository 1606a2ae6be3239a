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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from scratch import create_scratch_database, drop_scratch_database  # noqa: E402

from ops.safety import production_reason  # noqa: E402
from ops.services import synthetic  # noqa: E402
from ops.services.validate import validate_database  # noqa: E402

SEED = 20261122
BATCH_SIZE = 1000
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def empty_synthetic_tables() -> None:
    names = ", ".join(table.name for table in synthetic.TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {names}, skill_versions, skills CASCADE")


# --- the two ways in ------------------------------------------------------------------------------


def copy_load(firms: int) -> tuple[int, float]:
    """Rows and seconds of seed_synthetic_firms (COPY), in one transaction as `seed` runs it."""
    started = time.perf_counter()
    with transaction.atomic():
        result = synthetic.seed_synthetic_firms(firms, random_seed=SEED)
    return result.total_rows, time.perf_counter() - started


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


def bulk_create_load(firms: int) -> tuple[int, float]:
    """Rows and seconds of the same rows through bulk_create, in one transaction."""
    started = time.perf_counter()
    rows = 0
    with transaction.atomic():
        as_of = synthetic.start_of_day()
        skill_ids, _ = synthetic.ensure_synthetic_skills("default", as_of)
        generator = synthetic.FirmGenerator(SEED, as_of, skill_ids)
        for index in range(firms):
            for table, lines in generator.firm_rows(index).items():
                table.model.objects.bulk_create(
                    model_instances(table, lines), batch_size=BATCH_SIZE
                )
                rows += len(lines)
    return rows, time.perf_counter() - started


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

    scratch = f"bench_seed_{os.getpid()}"
    create_scratch_database(scratch)
    try:
        print(f"scratch database {scratch}: migrating …", file=sys.stderr)
        call_command("migrate", verbosity=0)
        print(f"COPY, {args.firms} firms …", file=sys.stderr)
        copy_rows, copy_seconds = copy_load(args.firms)
        empty_synthetic_tables()
        print(f"bulk_create, {args.firms} firms …", file=sys.stderr)
        bulk_rows, bulk_seconds = bulk_create_load(args.firms)
        empty_synthetic_tables()
        print(f"COPY, {args.validate_firms} firms for validate …", file=sys.stderr)
        big_rows, big_seconds = copy_load(args.validate_firms)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print("validate …", file=sys.stderr)
        started = time.perf_counter()
        report = validate_database()
        validate_seconds = time.perf_counter() - started
        total_rows = database_rows()
    finally:
        drop_scratch_database(scratch)

    assert copy_rows == bulk_rows, (copy_rows, bulk_rows)
    copy_rate, bulk_rate = copy_rows / copy_seconds, bulk_rows / bulk_seconds
    big_rate = big_rows / big_seconds
    print(f"\nseed --scale: synthetic firms of about {synthetic.rows_per_firm():,} rows\n")
    print(f"{'':48}{'rows':>12}{'seconds':>10}{'rows/s':>10}{'ratio':>8}")
    for label, rows, seconds, rate in (
        (f"bulk_create, {args.firms} firms (baseline)", bulk_rows, bulk_seconds, bulk_rate),
        (f"seed --scale {args.firms} (COPY)", copy_rows, copy_seconds, copy_rate),
        (f"seed --scale {args.validate_firms} (COPY)", big_rows, big_seconds, big_rate),
    ):
        print(f"{label:48}{rows:>12,}{seconds:>10.1f}{rate:>10,.0f}{rate / bulk_rate:>7.1f}x")
    status = "all checks pass" if report.ok else f"{len(report.failures)} FAIL"
    print(
        f"\nvalidate on {total_rows:,} rows ({args.validate_firms} firms): "
        f"{validate_seconds:.1f} s, {status}"
    )
    for failure in report.failures:
        print(f"  FAIL {failure.check} {failure.target}: {failure.detail}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
