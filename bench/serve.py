"""Benchmark of production serving: --clients concurrent clients for --duration seconds against
GET /api/health and the admin's usage-log list, once on the production server (gunicorn with
gunicorn.conf.py, --workers workers, production settings) and once on `manage.py runserver`
(the baseline, same settings, same database), one after the other in the same run. Reports
p50/p95/p99 latency, requests/s and errors; the floor: the production server answers without
an error and serves at least 3x the baseline's requests/s on health.

    python bench/serve.py                  # 32 clients, 60 s per row (about 5 minutes)
    python bench/serve.py --duration 10    # a quick check

A scratch database (migrated, --logs usage logs, a superuser) on the configured server (the
embedded one when DATABASE_URL is unset) and a Valkey of its own, both removed at the end. The
clients are threads in --client-processes processes of their own (so that their Python does
not share a GIL with either server), each thread with one keep-alive HTTP/1.1 connection, sent
as a TLS-terminating proxy sends them (X-Forwarded-Proto: https), signed in as the superuser
for the list. The first --warmup seconds of each row are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")

HEALTH = "/api/health"
USAGE_LOGS = "/admin/skills/skillusagelog/"
FLOOR_RATIO = 3.0  # the production server's requests/s on health against runserver's
ADMIN_EMAIL = "bench-serve@example.com"

LOGS_SQL = """
INSERT INTO skills (skill_id, display_name, version, type, category)
SELECT 'bench-serve-' || g, 'Benchmark skill ' || g, '1.0.0', 'document_analysis', 'legal'
  FROM generate_series(1, 10) g;
INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, tokens_saved, cost_usd,
                              success, executed_at)
SELECT (SELECT id FROM skills ORDER BY skill_id OFFSET mod(g, 10) LIMIT 1), 200 + mod(g, 3000),
       500 + mod(g, 20000), mod(g, 500), (500 + mod(g, 20000)) * 0.000009, mod(g, 13) <> 0,
       now() - (mod(g, 86400)) * interval '90 seconds'
  FROM generate_series(1, %(logs)s) g;
"""


# --- the load ------------------------------------------------------------------------------------


def client_process(port, path, headers, threads, warmup_at, stop_at, results) -> None:
    """`threads` clients requesting `path` until `stop_at` (time.time()), a connection per
    request unless `headers` ask to keep it alive; sends (latencies in ms of the requests
    started after `warmup_at`, errors, first error text) to `results`."""
    keep_alive = headers.get("Connection") != "close"
    latencies: list[float] = []
    errors, sent = [0], [0]
    first_error: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        mine, failed, count = [], 0, 0
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        while (started_wall := time.time()) < stop_at:
            count += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                problem = f"{path} answered {response.status}"
                if not keep_alive:
                    conn.close()
            except (OSError, ValueError) as exc:  # a reset, a timeout, a broken reply
                conn.close()
                conn = HTTPConnection("127.0.0.1", port, timeout=30)
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            if started_wall < warmup_at:
                continue
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                failed += 1
                if not first_error:
                    first_error.append(problem)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed
            sent[0] += count

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put((latencies, errors[0], first_error[:1], sent[0]))


def load(port, path, headers, clients, processes, warmup, duration) -> dict:
    """--clients clients in --client-processes processes; the row's figures."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    warmup_at = time.time() + 2 + warmup  # the processes start in under 2 s
    stop_at = warmup_at + duration
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers = [
        context.Process(
            target=client_process,
            args=(port, path, headers, share, warmup_at, stop_at, results),
        )
        for share in shares
        if share
    ]
    for worker in workers:
        worker.start()
    latencies, errors, first_error, sent = [], 0, [], 0
    for _ in workers:
        mine, failed, problem, count = results.get()
        latencies += mine
        errors += failed
        first_error = first_error or problem
        sent += count
    for worker in workers:
        worker.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / duration,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "errors": errors,
        "sent": sent,  # warm-up included
        "first_error": first_error[0] if first_error else "",
    }


def cpu_seconds(pids) -> float:
    """User + system CPU seconds of the processes `pids` (all their threads)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- the servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runserver:
    """`manage.py runserver --noreload` (threaded, as developers run it) on a free port."""

    def __init__(self, env: dict, logs: Path):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload",
             f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "runserver.out", "wb"),  # noqa: SIM115 - the child keeps it
            stderr=open(logs / "runserver.err", "wb"),  # noqa: SIM115
        )  # fmt: skip
        wait_until_serving(self.port, self.process, logs / "runserver.err")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_serving(port: int, process: subprocess.Popen, log: Path, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"runserver exited {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health/live")
            if conn.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"runserver did not answer within {timeout} s: {log.read_text()[-2000:]}")


# --- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--duration", type=float, default=60, help="seconds per row (60)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds not counted (3)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: one per core)")
    parser.add_argument(
        "--threads", type=int, help="threads per gunicorn worker (default: WEB_THREADS's, 4)"
    )
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes the clients run in (2)"
    )
    parser.add_argument("--logs", type=int, default=20_000, help="usage logs (20000)")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="one connection per client for the whole row (default: one per request, as the "
        "project's TLS proxy and nginx's default upstream forward them)",
    )
    args = parser.parse_args()
    if args.clients < 1 or args.duration <= 0 or args.client_processes < 1:
        parser.error("need --clients >= 1, --duration > 0 and --client-processes >= 1")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from scratch import create_scratch_database, drop_scratch_database

    from legalplatform import embedded, serving
    from ops.safety import production_reason
    from tests.support.processes import current_database_url
    from tests.support.serving import FROM_TLS_PROXY, ProductionServer, collect_static

    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")
    workers = args.workers or serving.default_workers()
    threads = args.threads or serving.DEFAULT_THREADS
    scratch = f"bench_serve_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    create_scratch_database(scratch)
    servers, static_root = [], None
    try:
        print(f"scratch database {scratch}: migrating, {args.logs:,} usage logs …", flush=True)
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute(LOGS_SQL, {"logs": args.logs})
            cursor.execute("VACUUM ANALYZE skill_usage_logs")
        password = "bench-" + os.urandom(8).hex()
        from cases.models import User

        User.objects.create_superuser(ADMIN_EMAIL, password)
        env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "REDIS_URL": embedded.ensure_valkey(work / "valkey"),
            "PYTHONPATH": str(ROOT),
        }
        connection.close()
        static_root = collect_static(env)
        env["STATIC_ROOT"] = str(static_root)
        production = ProductionServer(
            env, WEB_CONCURRENCY=str(workers), WEB_THREADS=str(threads)
        ).start()
        servers.append(production)
        baseline = Runserver(production.env, work)  # the same settings, production's
        servers.append(baseline)
        client = production.client()
        client.admin_login(ADMIN_EMAIL, password)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        proxy = {**FROM_TLS_PROXY, **({} if args.keep_alive else {"Connection": "close"})}
        rows = []
        for label, path, headers in [
            ("health", HEALTH, proxy),
            ("usage-log list", USAGE_LOGS, {**proxy, "Cookie": cookie}),
        ]:
            for name, port, pids in [
                (
                    "gunicorn",
                    production.port,
                    lambda: {production.process.pid, *production.worker_pids()},
                ),
                ("runserver", baseline.port, lambda: {baseline.process.pid}),
            ]:
                print(f"{label} on {name} …", flush=True)
                cpu_before = cpu_seconds(pids())
                figures = load(
                    port, path, headers, args.clients, args.client_processes, args.warmup,
                    args.duration,
                )  # fmt: skip
                cpu = cpu_seconds(pids()) - cpu_before
                figures["cpu_ms"] = cpu * 1000 / max(1, figures["sent"])
                rows.append((label, name, figures))
    finally:
        for server in reversed(servers):
            server.stop()
        embedded.stop_valkey(work / "valkey")
        drop_scratch_database(scratch)
        if static_root:
            shutil.rmtree(static_root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return report(rows, args, workers, threads)


def report(rows, args, workers: int, threads: int) -> int:
    load_average = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{args.clients} clients, {args.duration:g} s a row (after {args.warmup:g} s of "
        f"warm-up), gunicorn {workers} workers × {threads} threads, runserver threaded; "
        f"load average {load_average} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| path | server | requests | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| server CPU ms per request | vs runserver (req/s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_key = {(label, name): figures for label, name, figures in rows}
    for label, name, f in rows:
        ratio = f["rps"] / by_key[(label, "runserver")]["rps"] if name == "gunicorn" else 1.0
        print(
            f"| {label} | {name} | {f['requests']:,} | {f['rps']:,.0f} | {f['p50']:.1f} | "
            f"{f['p95']:.1f} | {f['p99']:.1f} | {f['errors']} | {f['cpu_ms']:.1f} | {ratio:.2f}× |"
        )
    for label, name, f in rows:
        if f["first_error"]:
            print(f"  first error, {label} on {name}: {f['first_error']}")
    health = by_key[("health", "gunicorn")]
    ratio = health["rps"] / by_key[("health", "runserver")]["rps"]
    errors = sum(f["errors"] for label, name, f in rows if name == "gunicorn")
    met = errors == 0 and ratio >= FLOOR_RATIO
    print(
        f"\nfloor (gunicorn: no errors, health ≥ {FLOOR_RATIO:g}× runserver's req/s): "
        f"{'met' if met else 'NOT MET'} ({errors} errors, {ratio:.2f}×)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
