"""The production topology's costs, side by side in one run, on an embedded primary with a
streaming replica (tests/support/replica.py) and a real PgBouncer in transaction mode in front
of the primary (tests/support/pgbouncer.py):

- p50/p95 of GET /api/health/database and of the usage-analytics report page, the application
  connected directly (the baseline) and through PgBouncer;
- search_cases on the primary (the baseline) and on the replica;
- the replica's lag while record_usages loads --logs usage logs (100,000) into the primary.

    python bench/topology.py [--requests 400] [--clients 8] [--searches 200] [--logs 100000]

Each application variant is the project's WSGI app in a server process of its own (Django's
threaded server), as in bench/health.py. Nothing it starts outlives it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _bootstrap import ROOT, setup_django
from http_timing import timed_get

HEALTH = "/api/health/database"
SEARCHES = ("contract dispute", "ionescu", "divorce 2024", "mostenire", "contrct")


# --- In child processes -------------------------------------------------------------------------


def serve(port: int) -> None:
    """The WSGI app on 127.0.0.1:port, configured by the environment (child process)."""
    setup_django()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 256

    server = Server(("127.0.0.1", port), QuietHandler)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def time_searches(count: int) -> None:
    """search_cases `count` times (child process; the replica when DATABASE_REPLICA_URLS names
    one): the latencies as JSON."""
    setup_django()
    from cases.selectors import search_cases

    for query in SEARCHES:  # warm up: pool, caches, plans
        search_cases(query)
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        search_cases(SEARCHES[n % len(SEARCHES)])
        latencies.append((time.perf_counter() - started) * 1000)
    print(json.dumps(latencies))


# --- In the bench process -----------------------------------------------------------------------


def manage(*args: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def child(args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT, env=env, **kwargs)


def get(port: int, path: str, cookie: str = "") -> float:
    return timed_get(port, path, headers={"Cookie": cookie} if cookie else None, timeout=60)


def percentiles(latencies: list[float]) -> dict:
    quantiles = statistics.quantiles(latencies, n=100)
    return {"p50": quantiles[49], "p95": quantiles[94]}


def measure_pages(env: dict, pages: dict, clients: int, requests: int) -> dict:
    from tests.support.serving import free_port

    port = free_port()
    server = child(["--serve", str(port)], env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(port, HEALTH)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start within 60 s") from None
                time.sleep(0.1)
        figures = {}
        for name, (path, cookie) in pages.items():
            for _ in range(clients * 2):  # warm up: threads, pools, caches
                get(port, path, cookie)
            with ThreadPoolExecutor(clients) as pool:
                latencies = list(
                    pool.map(get, [port] * requests, [path] * requests, [cookie] * requests)
                )
            figures[name] = percentiles(latencies)
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def staff_cookie() -> str:
    """A session of the seeded superuser (sessions live in Redis, which the servers share)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.filter(is_superuser=True).first())
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def replica_lag_during_load(pair, logs: int) -> dict:
    """Sample the replica's lag every 20 ms while record_usages writes `logs` logs in batches."""
    import psycopg

    from legalplatform.db.replicas import LAG_SQL
    from skills.models import Skill
    from skills.services import record_usages

    skills = list(Skill.objects.all()[:10])
    fields = {"execution_time_ms": 120, "tokens_used": 900, "success": True, "tokens_saved": 40}
    samples, stop = [], threading.Event()

    def sample():
        with (
            psycopg.connect(pair.replica_url, autocommit=True) as replica,
            psycopg.connect(pair.primary_url, autocommit=True) as primary,
        ):
            while not stop.is_set():
                # The primary's own measure: from flushing WAL to the standby reporting it
                # replayed (NULL once it caught up and nothing new came).
                written, replay_lag = primary.execute(
                    "SELECT pg_current_wal_lsn(), "
                    "(SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication)"
                ).fetchone()
                _, seconds = replica.execute(LAG_SQL).fetchone()
                (behind,) = replica.execute(
                    "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())", [written]
                ).fetchone()
                samples.append((float(seconds or 0), max(0, int(behind)), float(replay_lag or 0)))
                time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    batch = 10_000
    for offset in range(0, logs, batch):
        record_usages(
            [{"skill": skills[n % len(skills)], **fields} for n in range(min(batch, logs - offset))]
        )
    loaded = time.perf_counter() - started
    pair.wait_until_replayed(timeout=120)
    caught_up = time.perf_counter() - started
    stop.set()
    sampler.join()
    seconds, behind, replay = (sorted(column) for column in zip(*samples, strict=True))
    return {
        "load_s": loaded,
        "caught_up_s": caught_up,
        "lag_p95_s": statistics.quantiles(seconds, n=100)[94],
        "lag_max_s": seconds[-1],
        "replay_lag_p95_s": statistics.quantiles(replay, n=100)[94],
        "replay_lag_max_s": replay[-1],
        "behind_p95_mb": statistics.quantiles(behind, n=100)[94] / 1e6,
        "behind_max_mb": behind[-1] / 1e6,
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--time-searches", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    if args.time_searches:
        return time_searches(args.time_searches)

    from tests.support.replica import primary_with_replica

    with primary_with_replica() as pair:
        base = {**os.environ, "DATABASE_URL": pair.primary_url}
        manage("migrate", "--noinput", "-v0", env=base)
        manage("seed", "--noinput", "--scale", "3", env=base)
        setup_django(DATABASE_URL=pair.primary_url)
        from tests.support.pgbouncer import pgbouncer

        pair.wait_until_replayed(timeout=120)
        cookie = staff_cookie()
        with pgbouncer(pool_size=10) as bouncer:
            pages = {
                "health": (HEALTH, ""),
                "usage analytics": ("/admin/reports/usage_analytics/", cookie),
            }
            direct = measure_pages(base, pages, args.clients, args.requests)
            pooled_env = {
                **base,
                "DATABASE_URL": bouncer.url("legalplatform"),
                "DATABASE_POOLER": "pgbouncer",
                "DATABASE_DIRECT_URL": pair.primary_url,
            }
            pooled = measure_pages(pooled_env, pages, args.clients, args.requests)

        searches = {}
        for label, env in (
            ("primary", base),
            ("replica", {**base, "DATABASE_REPLICA_URLS": pair.replica_url}),
        ):
            out = child(["--time-searches", str(args.searches)], env, stdout=subprocess.PIPE)
            stdout, _ = out.communicate(timeout=600)
            searches[label] = percentiles(json.loads(stdout.decode().splitlines()[-1]))

        lag = replica_lag_during_load(pair, args.logs)

    print(
        f"pages: {args.requests} requests per page from {args.clients} concurrent clients, "
        "WSGI app direct (baseline) and through PgBouncer 1.18 (transaction mode)\n"
    )
    print(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}")
    for name in pages:
        for label, figures in (("direct", direct), ("through PgBouncer", pooled)):
            row = figures[name]
            print(f"{name + ', ' + label:34}{row['p50']:>10.1f}{row['p95']:>10.1f}")
        ratio = [pooled[name][k] / direct[name][k] for k in ("p50", "p95")]
        print(f"{name + ', PgBouncer / direct':34}{ratio[0]:>9.2f}x{ratio[1]:>9.2f}x")
    print(f"\nsearch_cases: {args.searches} searches, one process, in a row\n")
    print(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}")
    for label, row in searches.items():
        print(f"{'on the ' + label:34}{row['p50']:>10.2f}{row['p95']:>10.2f}")
    ratio = [searches["replica"][k] / searches["primary"][k] for k in ("p50", "p95")]
    print(f"{'replica / primary':34}{ratio[0]:>9.2f}x{ratio[1]:>9.2f}x")
    print(
        f"\nreplica lag while record_usages loads {args.logs:,} logs in batches of 10,000 "
        f"({lag['samples']} samples, every 20 ms): loaded in {lag['load_s']:.1f} s, the replica "
        f"had replayed it all {lag['caught_up_s'] - lag['load_s']:.2f} s later\n"
    )
    print(f"{'':52}{'p95':>10}{'max':>10}")
    rows = (
        ("WAL behind the primary, MB", "behind_p95_mb", "behind_max_mb"),
        (
            "replay_lag (the primary's pg_stat_replication), s",
            "replay_lag_p95_s",
            "replay_lag_max_s",
        ),
        ("the router's lag (legalplatform.db.replicas), s", "lag_p95_s", "lag_max_s"),
    )
    for label, p95, top in rows:
        print(f"{label:52}{lag[p95]:>10.2f}{lag[top]:>10.2f}")


if __name__ == "__main__":
    main()
