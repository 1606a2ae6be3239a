"""Latency of GET /api/health/database under concurrent clients, with the psycopg pool and
without it (a new connection per request), side by side.

    python bench/health.py [--clients 32] [--requests 3000]

Each variant runs the project's WSGI app in its own server process (Django's threaded server);
the clients are threads of this process using keep-alive-free HTTP/1.0 requests.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _bootstrap import ROOT, setup_django
from http_timing import timed_get

PATH = "/api/health/database"


def serve(port: int, pooled: bool) -> None:
    """Run the WSGI app on 127.0.0.1:port (child process)."""
    from django.conf import settings

    setup_django()
    if not pooled:
        settings.DATABASES["default"]["OPTIONS"].pop("pool")
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 256  # the listen backlog; the default 5 drops bursts of 32

    server = Server(("127.0.0.1", port), QuietHandler)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            timed_get(port, PATH)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not answer within {timeout:g} s")


def measure(pooled: bool, clients: int, requests: int) -> dict:
    port = free_port()
    args = [sys.executable, __file__, "--serve", str(port)] + ([] if pooled else ["--no-pool"])
    server = subprocess.Popen(args, cwd=ROOT)
    try:
        wait_until_serving(port)
        for _ in range(clients * 2):  # warm up: threads, pool, caches
            timed_get(port, PATH)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as executor:
            latencies = sorted(executor.map(lambda _: timed_get(port, PATH), range(requests)))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "p50": quantiles[49],
        "p95": quantiles[94],
        "p99": quantiles[98],
        "rps": requests / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-pool", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, pooled=not args.no_pool)
        return

    without = measure(False, args.clients, args.requests)
    pooled = measure(True, args.clients, args.requests)
    print(f"GET {PATH}: {args.requests} requests from {args.clients} concurrent clients\n")
    print(f"{'':24}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for label, row in (("new connection (baseline)", without), ("psycopg pool", pooled)):
        print(
            f"{label:24}{row['p50']:>10.1f}{row['p95']:>10.1f}{row['p99']:>10.1f}"
            f"{row['rps']:>10.0f}"
        )
    print(
        f"{'ratio baseline / pool':24}"
        + "".join(f"{without[k] / pooled[k]:>9.2f}x" for k in ("p50", "p95", "p99"))
        + f"{pooled['rps'] / without['rps']:>9.2f}x"
    )


if __name__ == "__main__":
    main()
