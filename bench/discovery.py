"""Benchmark of document-type discovery: how record_discovery() keeps up as the registry grows,
and what the GIN trigram indexes do for find_similar_types().

    python bench/discovery.py [--rows 100000] [--calls 2000] [--lookups 100] [--quick]

Measures, on a scratch database created on the configured server (the embedded one when
DATABASE_URL is unset) and dropped at the end:
  1. record_discovery() calls per second on an empty registry (the baseline) and on one of
     --rows types: each call one sighting of one of 200 types (new at first, then known), with a
     new document and a length, in autocommit as an import would run them;
  2. find_similar_types() latency (p50, p95) at --rows types for misspelled names of known types,
     with the trigram indexes and without them (dropped inside a transaction rolled back after).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid

from _bootstrap import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from scratch import create_scratch_database, drop_scratch_database  # noqa: E402

from discovery.normalization import normalize_type_name  # noqa: E402
from discovery.selectors import find_similar_types  # noqa: E402
from discovery.services import record_discovery  # noqa: E402
from legalplatform.db.transactions import atomic_without_statement_timeout  # noqa: E402
from ops.safety import production_reason  # noqa: E402

SEED = 20261122
TYPES_PER_WORKLOAD = 200
KINDS = (
    "Contract Cerere Notificare Somație Proces-verbal Act adițional Adresă Întâmpinare Declarație "
    "Hotărâre Decizie Raport Memoriu Plângere Contestație Ordonanță Procură Acord Convenție "
    "Protocol Certificat Adeverință Împuternicire Ofertă Comandă Factură Regulament Anexă "
    "Dispoziție"
).split()
SUBJECTS = (
    "vânzare cumpărare închiriere prestări servicii muncă comodat împrumut mandat cesiune "
    "garanție ipotecă fidejusiune asociere furnizare antrepriză transport depozit leasing "
    "franciză agenție reziliere restituire executare plată apel recurs divorț partaj succesiune "
    "moștenire expertiză confidențialitate colaborare sponsorizare donație schimb întreținere"
).split()
SYLLABLES = "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi la le li lo lu ma me mi mo mu "
SYLLABLES = (
    SYLLABLES + "na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to"
).split()


def type_names(count: int, rng: random.Random) -> list[str]:
    """`count` distinct, plausible type names: a kind, a subject and a made-up qualifier."""
    names: set[str] = set()
    while len(names) < count:
        qualifier = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        names.add(f"{rng.choice(KINDS)} {rng.choice(SUBJECTS)} {qualifier}")
    return sorted(names)


def misspell(name: str, rng: random.Random) -> str:
    """The name with one letter dropped and no diacritics: how imports get it wrong."""
    position = rng.randrange(len(name))
    return (name[:position] + name[position + 1 :]).translate(
        str.maketrans("ăâîșțĂÂÎȘȚ", "aaistAAIST")
    )


# --- measurements ---------------------------------------------------------------------------------


def fill_registry(rows: int, names: list[str]) -> None:
    """COPY `rows` types into the registry (the registry trigger records their spellings)."""
    with atomic_without_statement_timeout() as cursor:
        with cursor.copy(
            "COPY document_type_registry (discovered_type_original, discovered_type_normalized, "
            "primary_language, total_occurrences) FROM STDIN"
        ) as copy:
            for index, name in enumerate(names[:rows]):
                copy.write_row((name, normalize_type_name(name, "ro"), "ro", 1 + index % 97))
        cursor.execute("ANALYZE document_type_registry")
        cursor.execute("ANALYZE document_type_variations")


def commit_rate(calls: int) -> float:
    """One-row INSERTs per second in autocommit: the floor any write per call stands on (the
    commit's WAL flush), measured for scale."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE commit_floor (n integer)")  # logged, as the registry is
        started = time.perf_counter()
        for n in range(calls):
            cursor.execute("INSERT INTO commit_floor VALUES (%s)", [n])
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE commit_floor")
    return calls / elapsed


def record_rate(calls: int, names: list[str], rng: random.Random) -> float:
    """record_discovery() calls per second over `calls` sightings of `names`."""
    started = time.perf_counter()
    for index in range(calls):
        record_discovery(
            names[index % len(names)],
            language="ro",
            category="contract",
            document_id=uuid.uuid4(),
            length=rng.randint(500, 9000),
            confidence=0.9,
        )
    return calls / (time.perf_counter() - started)


def lookup_latencies(queries: list[str]) -> list[float]:
    """Milliseconds per find_similar_types() call, one per query."""
    latencies = []
    for query in queries:
        started = time.perf_counter()
        find_similar_types(query, limit=10)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def lookup_without_trigram_indexes(queries: list[str]) -> list[float]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX idx_registry_original_trgm, idx_registry_normalized_trgm")
        latencies = lookup_latencies(queries)
        transaction.set_rollback(True)  # the indexes come back
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="registry size (100000)")
    parser.add_argument("--calls", type=int, default=2000, help="record_discovery calls (2000)")
    parser.add_argument("--lookups", type=int, default=100, help="find_similar_types calls (100)")
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 300 calls, 40 lookups")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.calls, args.lookups = 10_000, 300, 40
    if min(args.rows, args.calls, args.lookups) < 20:
        parser.error("--rows, --calls and --lookups must each be at least 20")
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")

    rng = random.Random(SEED)
    names = type_names(args.rows + 2 * TYPES_PER_WORKLOAD, rng)
    registry_names = names[: args.rows]
    empty_workload = names[args.rows : args.rows + TYPES_PER_WORKLOAD]
    full_workload = names[args.rows + TYPES_PER_WORKLOAD :]
    queries = [misspell(rng.choice(registry_names), rng) for _ in range(args.lookups)]

    scratch = f"bench_discovery_{os.getpid()}"
    create_scratch_database(scratch)
    try:
        print(f"scratch database {scratch}: migrating …", file=sys.stderr)
        call_command("migrate", verbosity=0)
        print("record_discovery on an empty registry …", file=sys.stderr)
        floor_rate = commit_rate(args.calls)
        empty_rate = record_rate(args.calls, empty_workload, rng)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE document_type_registry CASCADE")
        print(f"loading {args.rows:,} types …", file=sys.stderr)
        fill_registry(args.rows, registry_names)
        print(f"record_discovery at {args.rows:,} types …", file=sys.stderr)
        full_rate = record_rate(args.calls, full_workload, rng)
        print("find_similar_types with and without the trigram indexes …", file=sys.stderr)
        lookup_latencies(queries[:10])  # warm the caches
        indexed = lookup_latencies(queries)
        unindexed = lookup_without_trigram_indexes(queries)
    finally:
        drop_scratch_database(scratch)

    found = f"{args.rows:,} types"
    p50 = statistics.median
    lines = [  # label, value, unit, the baseline its ratio is against
        (
            "one-row INSERT + commit (the disk's floor, for scale)",
            floor_rate,
            "calls/s",
            empty_rate,
        ),
        ("record_discovery, empty registry (baseline)", empty_rate, "calls/s", empty_rate),
        (f"record_discovery, {found}", full_rate, "calls/s", empty_rate),
        (
            f"find_similar_types p50, {found}, trigram index (base)",
            p50(indexed),
            "ms",
            p50(indexed),
        ),
        (f"find_similar_types p50, {found}, no index", p50(unindexed), "ms", p50(indexed)),
        (
            f"find_similar_types p95, {found}, trigram index (base)",
            p95(indexed),
            "ms",
            p95(indexed),
        ),
        (f"find_similar_types p95, {found}, no index", p95(unindexed), "ms", p95(indexed)),
    ]
    print(f"\nDiscovery: {args.calls:,} record_discovery calls, {args.lookups} lookups\n")
    print(f"{'measurement':<58} {'value':>18} {'ratio':>8}")
    print("-" * 86)
    for label, value, unit, baseline in lines:
        print(f"{label:<58} {value:>10,.1f} {unit:<7} {value / baseline:>7.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
