"""Ending one user's sessions among many, Django's logins and the seed README's `userId` sessions
alike: the per-user index against the original's way (read and decode every session), in the same
run; and the latency of a cache read.

    python bench/sessions.py [--sessions 100000] [--per-user 5] [--rounds 30] [--gets 20000]
    REDIS_URL=redis://127.0.0.1:6379 python bench/sessions.py      # over the loopback

It runs on the Redis of REDIS_URL, or the embedded Valkey when unset, in database --db (never 0:
the development data), which must be empty and is emptied again at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice

from _bootstrap import setup_django

BACKEND = "django.contrib.auth.backends.ModelBackend"
# What the original had to do without an index: SCAN every session, read and decode it.
SCAN_BATCH = 1000


def chunks(items, size: int):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def session_data(user_id: str, kind: int) -> dict:
    """A Django login session (kind 0) or a session of the seed README (kind 1, `userId`)."""
    from django.contrib.auth import SESSION_KEY

    if kind:
        return {
            "userId": user_id,
            "role": "Partner",
            "firmId": "firm-456",
            "lastActivity": datetime.now(UTC).isoformat(),
        }
    return {
        SESSION_KEY: user_id,
        "_auth_user_backend": BACKEND,
        "_auth_user_hash": f"{random.getrandbits(256):064x}",
        "lastActivity": datetime.now(UTC),
    }


def populate_sessions(client, sessions: int, per_user: int) -> list[str]:
    """`sessions` sessions, `per_user` for each user, half the users signed in through Django
    and half with the seed README's sessions, with the index the session manager keeps (written
    in pipelines: the set-up is not what is measured)."""
    from core.progress import progress_bar
    from legalplatform.sessions import session_manager

    encode = session_manager.cache.client.encode
    users = [str(uuid.UUID(int=random.getrandbits(128))) for _ in range(sessions // per_user)]
    ttl = 24 * 60 * 60
    with progress_bar(sys.stderr, total=len(users) * per_user, desc="sessions", unit="") as bar:
        for batch in chunks(users, 1000):
            with client.pipeline(transaction=False) as pipe:
                for user_id in batch:
                    index = session_manager.index_key(user_id)
                    kind = int(user_id[-1], 16) % 2
                    for _ in range(per_user):
                        session_id = f"{random.getrandbits(128):032x}"
                        data = session_data(user_id, kind)
                        pipe.set(session_manager.key(session_id), encode(data), ex=ttl)
                        pipe.sadd(index, session_id)
                    pipe.expire(index, ttl)
                pipe.execute()
            bar.update(len(batch) * per_user)
    return users


def scan_and_decode_delete(client, user_id: str) -> int:
    """The baseline: find the user's sessions by reading and decoding every session (batched
    SCAN and MGET, so that only the approach differs), then delete them."""
    from legalplatform.sessions import OWNER_FIELDS, session_manager

    decode = session_manager.cache.client.decode
    pattern = session_manager.cache.client.make_pattern("*")
    doomed = [
        key
        for keys in chunks(client.scan_iter(match=pattern, count=SCAN_BATCH), SCAN_BATCH)
        for key, value in zip(keys, client.mget(keys), strict=True)
        # the index keys are sets, for which MGET answers None
        if value is not None and user_id in map(decode(value).get, OWNER_FIELDS)
    ]
    return client.delete(*doomed) if doomed else 0


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return (time.perf_counter() - started) * 1000, result


def percentile(values, p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def case_entry(n: int) -> dict:
    """A cached case as a view would keep it (about 0.6 KB of JSON)."""
    return {
        "id": f"2f1b6c1e-8a7e-4d3c-9a55-{n:012d}",
        "caseNumber": f"CASE-2026-{n:04d}",
        "title": "Acțiune în constatarea nulității contractului de vânzare-cumpărare",
        "status": "Active",
        "priority": "High",
        "openedDate": date(2026, 3, 1),
        "nextHearingDate": datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        "fee": Decimal("12500.00"),
        "court": "Tribunalul București",
        "documents": [{"id": k, "title": f"Document {k}", "status": "Draft"} for k in range(5)],
    }


def measure_cache_reads(client, gets: int) -> dict:
    from legalplatform.cache import cache_manager

    keys = [f"case:{n}" for n in range(1000)]
    for n, key in enumerate(keys):
        cache_manager.set(key, case_entry(n))
    raw_keys = [cache_manager.cache.make_key(key) for key in keys]
    ours, raw = [], []
    for _ in range(gets):
        n = random.randrange(len(keys))
        started = time.perf_counter_ns()
        cache_manager.get(keys[n])
        ours.append((time.perf_counter_ns() - started) / 1000)
        started = time.perf_counter_ns()
        client.get(raw_keys[n])
        raw.append((time.perf_counter_ns() - started) / 1000)
    return {
        "ours": (percentile(ours, 50), percentile(ours, 99)),
        "raw": (percentile(raw, 50), percentile(raw, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=30, help="of delete_user_sessions")
    parser.add_argument("--baseline-rounds", type=int, default=3)
    parser.add_argument("--gets", type=int, default=20_000)
    parser.add_argument("--db", type=int, default=13, help="Redis database to use (not 0)")
    args = parser.parse_args()
    if args.db == 0:
        raise SystemExit("error: --db 0 holds the development data; choose another")
    users_needed = args.rounds + args.baseline_rounds + 1
    if args.sessions // args.per_user < users_needed:
        raise SystemExit(f"error: --sessions must give at least {users_needed} users")

    setup_django()
    from django.conf import settings
    from django.test.utils import override_settings
    from django_redis import get_redis_connection

    from legalplatform.config import mask_url
    from legalplatform.sessions import session_manager
    from tests.support.processes import redis_url_for_db

    url = redis_url_for_db(settings.CACHES["default"]["LOCATION"], args.db)
    override_settings(
        CACHES={alias: {**c, "LOCATION": url} for alias, c in settings.CACHES.items()}
    ).enable()
    client = get_redis_connection("default")
    if client.dbsize():
        raise SystemExit(f"error: database {args.db} of {mask_url(url)} is not empty; use --db")
    try:
        server = client.info("server")
        users = populate_sessions(client, args.sessions, args.per_user)
        random.shuffle(users)
        total = client.dbsize()

        listed = [timed(session_manager.user_sessions, users[0])[0] for _ in range(args.rounds)]
        ours = []
        for user_id in users[1 : args.rounds + 1]:
            elapsed, deleted = timed(session_manager.delete_user_sessions, user_id)
            assert deleted == args.per_user, deleted
            ours.append(elapsed)
        baseline = []
        for user_id in users[args.rounds + 1 : users_needed]:
            elapsed, deleted = timed(scan_and_decode_delete, client, user_id)
            assert deleted == args.per_user, deleted
            baseline.append(elapsed)

        expired = users[users_needed : users_needed + max(1, len(users) // 100)]
        with client.pipeline(transaction=False) as pipe:
            for user_id in expired:
                for session_id in session_manager.user_sessions(user_id):
                    pipe.pexpire(session_manager.key(session_id), 1)
            pipe.execute()
        time.sleep(0.05)
        cleanup_ms, cleaned = timed(session_manager.cleanup)
        reads = measure_cache_reads(client, args.gets)
    finally:
        client.flushdb()

    ours_ms, baseline_ms = statistics.median(ours), statistics.median(baseline)
    ratio = baseline_ms / ours_ms
    version = server.get("valkey_version", server["redis_version"])
    print(
        f"{server.get('server_name', 'redis')} {version} at {mask_url(url)}: "
        f"{args.sessions:,} sessions of {len(users):,} users ({args.per_user} each), "
        f"{total:,} keys with the index\n"
    )
    print(f"{'delete one user’s sessions':44}{'median ms':>11}{'max ms':>9}{'runs':>6}")
    for label, values in (
        ("scan and decode every session (baseline)", baseline),
        ("per-user index: delete_user_sessions", ours),
        ("per-user index: user_sessions", listed),
    ):
        print(f"{label:44}{statistics.median(values):>11.3f}{max(values):>9.3f}{len(values):>6}")
    floor_met = ratio >= 100 and ours_ms <= 5
    print(
        f"\ndelete_user_sessions: {ratio:,.0f}× faster than the baseline, {ours_ms:.3f} ms "
        f"(floor ≥ 100× and ≤ 5 ms: {'met' if floor_met else 'NOT MET'})"
    )
    print(f"cleanup(): {cleaned:,} expired entries removed in {cleanup_ms:,.0f} ms\n")
    print(f"{'cache read, ' + f'{args.gets:,} random hits':44}{'p50 µs':>11}{'p99 µs':>9}")
    print(f"{'raw GET, bytes only (baseline)':44}{reads['raw'][0]:>11.0f}{reads['raw'][1]:>9.0f}")
    print(
        f"{'cache_manager.get (JSON decode, ~0.6 KB)':44}"
        f"{reads['ours'][0]:>11.0f}{reads['ours'][1]:>9.0f}"
        f"   ({reads['ours'][0] / reads['raw'][0]:.2f}× the raw p50)"
    )
    if not floor_met:
        sys.exit(1)


if __name__ == "__main__":
    main()
