"""The failover window under Redis Sentinel: a primary, a replica and three sentinels
(tests/support/sentinel.py), requests that read a stored session through Django's middleware
every --interval ms, then the primary SIGKILLed. It measures, for each sentinel
down-after-milliseconds given, how long the sentinels took to promote the replica, how long
requests answered 503 (from the kill to the first 200 that read the same session), and how fast
a 503 came against a normal request before the kill (the baseline, in the same run).

    python bench/sentinel.py [--down-after 1000,3000] [--rounds 3] [--interval 20]

Nothing it starts outlives it: every server runs in a temporary directory removed at the end.
Its exit code is 1 if any request answered other than 200 or 503, or a session was lost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import setup_django

# The page requested: it reads the session (the admin's login form) and needs no database.
PAGE = "/admin/login/"


def one_failover(directory: Path, down_after_ms: int, interval: float, settings) -> dict:
    from django.test import Client
    from django.test.utils import override_settings

    from legalplatform.sessions import session_manager
    from tests.support.sentinel import SentinelTopology, sentinel_caches

    topology = SentinelTopology(directory, down_after_ms=down_after_ms)
    with topology, override_settings(CACHES=sentinel_caches(topology.url(), settings.CACHES)):
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = "benchsession"
        assert session_manager.set("benchsession", {"visits": 1})
        normal = [timed_get(client)[0] for _ in range(50)]
        assert topology.data_client(topology.primary).wait(1, 5000) == 1

        topology.kill_primary()
        killed = time.monotonic()
        promoted_at = None
        failed, others = [], []
        while time.monotonic() - killed < 60:
            elapsed, status = timed_get(client)
            if status == 200:
                window = time.monotonic() - killed
                break
            (failed if status == 503 else others).append(elapsed)
            if promoted_at is None and topology.primary_address() == (
                "127.0.0.1",
                topology.replica.port,
            ):
                promoted_at = time.monotonic() - killed
            time.sleep(interval)
        else:
            raise SystemExit("error: no request was answered 200 for 60 s after the kill")
        if promoted_at is None:
            topology.wait_for_failover()
            promoted_at = time.monotonic() - killed
        kept = session_manager.get("benchsession") == {"visits": 1}
    return {
        "promoted": promoted_at,
        "window": window,
        "failed": failed,
        "others": others,
        "normal": normal,
        "kept": kept,
    }


def timed_get(client) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(PAGE, HTTP_ACCEPT="text/html")
    return (time.perf_counter() - started) * 1000, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down-after", default="1000,3000", help="ms, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="failovers per setting")
    parser.add_argument("--interval", type=int, default=20, help="ms between requests")
    args = parser.parse_args()
    settings_to_try = [int(value) for value in args.down_after.split(",")]

    setup_django()
    from django.conf import settings

    from tests.support.sentinel import FAILOVER_TIMEOUT_MS, valkey_server

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-sentinel-") as scratch:
        for down_after in settings_to_try:
            results[down_after] = [
                one_failover(
                    Path(scratch) / f"{down_after}-{n}", down_after, args.interval / 1000, settings
                )
                for n in range(args.rounds)
            ]

    version = os.popen(f"{valkey_server()} --version").read().split()[2]
    print(
        f"valkey {version.removeprefix('v=')}: primary, replica and 3 sentinels on loopback, "
        f"quorum 2, failover-timeout {FAILOVER_TIMEOUT_MS} ms; the primary SIGKILLed, "
        f"{PAGE} with a stored session every {args.interval} ms; "
        f"{args.rounds} failovers per setting\n"
    )
    header = (
        f"{'down-after ms':>13}{'promoted s':>12}{'503 window s':>14}{'503s':>6}{'others':>8}"
        f"{'503 p50 ms':>12}{'normal p50 ms':>15}{'ratio':>7}{'session kept':>14}"
    )
    print(header)
    healthy = True
    for down_after, rounds in results.items():
        failed = [ms for result in rounds for ms in result["failed"]]
        normal = [ms for result in rounds for ms in result["normal"]]
        others = sum(len(result["others"]) for result in rounds)
        kept = all(result["kept"] for result in rounds)
        healthy = healthy and kept and not others
        failed_p50, normal_p50 = statistics.median(failed), statistics.median(normal)
        print(
            f"{down_after:>13}"
            f"{statistics.median(r['promoted'] for r in rounds):>12.2f}"
            f"{statistics.median(r['window'] for r in rounds):>14.2f}"
            f"{len(failed) / len(rounds):>6.0f}{others:>8}"
            f"{failed_p50:>12.2f}{normal_p50:>15.2f}{failed_p50 / normal_p50:>7.1f}"
            f"{'yes' if kept else 'NO':>14}"
        )
    windows = ", ".join(
        f"{down_after} ms: " + " / ".join(f"{r['window']:.2f}" for r in rounds) + " s"
        for down_after, rounds in results.items()
    )
    print(f"\nmedians of {args.rounds}; each window: {windows}")
    if not healthy:
        sys.exit(1)


if __name__ == "__main__":
    main()
