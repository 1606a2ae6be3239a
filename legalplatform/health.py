"""Health checks for monitors and load balancers: a dict for Python callers and JSON views.

- `/api/health/live`: 200 while the process serves requests; touches no dependency.
- `/api/health`, `/api/health/database`, `/api/health/redis`: readiness, 200 or 503.

Each probe runs on a thread of its own and is given HEALTH_TIMEOUT (1.5 s): a server that accepts
connections and never answers makes the answer 503 in time, not a hung probe. The answers keep
the seed's shape `{"healthy", "latency", "timestamp"}`; staff and callers from
HEALTH_DETAIL_NETWORKS also get the error text and the details behind it. Plain-HTTP probes are
exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT)."""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_redis import get_redis_connection

from legalplatform.db import replicas
from legalplatform.db.base import DatabaseUnreachable, outage_log
from legalplatform.redis import describe

# What an anonymous caller sees of an answer.
PUBLIC_FIELDS = ("healthy", "latency", "timestamp")
# Probes of a dependency that hangs finish on their own (socket time-outs); this many at once.
MAX_PROBE_THREADS = 8

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _probe_threads() -> ThreadPoolExecutor:
    """Made on first use, in the process that uses it (after gunicorn's fork)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(MAX_PROBE_THREADS, thread_name_prefix="health-probe")
        return _executor


def _run_probes(probes: dict, timeout: float | None) -> dict[str, dict]:
    """Run the probes (each returning a dict of details, or None) at the same time, each on a
    thread, and wait for them at most `timeout` seconds (HEALTH_TIMEOUT): one answer each."""
    timeout = settings.HEALTH_TIMEOUT if timeout is None else timeout
    started = time.perf_counter()

    def timed(probe):
        details = probe()
        return details, time.perf_counter()

    futures = {name: _probe_threads().submit(timed, probe) for name, probe in probes.items()}
    answers = {}
    for name, future in futures.items():
        remaining = max(0.0, started + timeout - time.perf_counter())
        try:
            details, finished = future.result(timeout=remaining)
        except FutureTimeout:
            answer = {"healthy": False, "error": f"no answer within {timeout:g} s"}
            finished = time.perf_counter()
        except Exception as exc:  # any failure of the probe is the answer, not an error of ours
            answer = {"healthy": False, "error": describe(exc)}
            finished = time.perf_counter()
        else:
            answer = {"healthy": True, **({"details": details} if details else {})}
        answers[name] = {
            "healthy": answer.pop("healthy"),
            "latency": round((finished - started) * 1000),
            "timestamp": _timestamp(),
            **answer,
        }
    return answers


def _database_probe(alias: str):
    def probe():
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend_pid,) = cursor.fetchone()
        except DatabaseUnreachable as exc:
            outage_log.failure(exc)  # once a minute, like the pages' 503s
            raise
        finally:
            connection.close()  # back to the pool: this thread serves no request
        return {"process": os.getpid(), "backend_pid": backend_pid}

    return probe


def _redis_probe(alias: str):
    def probe():
        get_redis_connection(alias).ping()

    return probe


def check_database_health(alias: str = "default", *, timeout: float | None = None) -> dict:
    """`{"healthy", "latency" (ms), "timestamp"}`, with an `error` when unhealthy, and when
    healthy the answering process and its server process in `details`."""
    return _run_probes({"database": _database_probe(alias)}, timeout)["database"]


def check_redis_health(alias: str = "default", *, timeout: float | None = None) -> dict:
    """Like check_database_health, for the Redis server behind the cache `alias`."""
    return _run_probes({"redis": _redis_probe(alias)}, timeout)["redis"]


def _replica_probe(alias: str):
    def probe():
        state = replicas.replica_state(alias, fresh=True)
        if not state.reachable:
            raise DatabaseUnreachable(state.error)
        return state.describe()

    return probe


def combined_health(timeout: float | None = None) -> dict:
    """Both checks, run at the same time: healthy when both are. Each read replica is checked
    too (role, lag, whether it is used) in `replicas`; one that is down or behind is skipped by
    the router, the primary serves, and the answer stays healthy."""
    aliases = replicas.replica_aliases()
    probes = {"database": _database_probe("default"), "redis": _redis_probe("default")}
    answers = _run_probes(probes | {alias: _replica_probe(alias) for alias in aliases}, timeout)
    checks = {name: answers[name] for name in probes}
    result = {
        "healthy": all(check["healthy"] for check in checks.values()),
        "latency": max(check["latency"] for check in checks.values()),
        "timestamp": _timestamp(),
        "checks": checks,
    }
    if aliases:
        result["replicas"] = {alias: answers[alias] for alias in aliases}
    if not result["healthy"]:
        failed = [name for name, check in checks.items() if not check["healthy"]]
        result["error"] = "unhealthy: " + ", ".join(failed)
    return result


# --- Views ----------------------------------------------------------------------------------


def _may_see_details(request) -> bool:
    """Staff, or a caller from HEALTH_DETAIL_NETWORKS (by the address that connected: behind a
    proxy on the same host that is the proxy's, so list only the monitors' networks)."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        address = None
    if address is not None and any(address in net for net in settings.HEALTH_DETAIL_NETWORKS):
        return True
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False  # a probe: no session to read, nothing to ask Redis or PostgreSQL
    try:
        return bool(request.user.is_staff)
    except Exception:  # sessions or users unavailable: the caller is not known to be staff
        return False


def _respond(request, result: dict) -> JsonResponse:
    body = result if _may_see_details(request) else {k: result[k] for k in PUBLIC_FIELDS}
    response = JsonResponse(body, status=200 if result["healthy"] else 503)
    # An unhealthy answer is the probe's finding, not an error of this request: not logged by
    # django.request for every probe (outages are logged where they are seen, once a minute).
    response._has_been_logged = True
    return response


@never_cache
@require_safe
def live(request):
    """The process is up and serving; nothing else is asked."""
    return JsonResponse({"healthy": True, "latency": 0, "timestamp": _timestamp()})


@never_cache
@require_safe
def database_health(request):
    return _respond(request, check_database_health())


@never_cache
@require_safe
def redis_health(request):
    return _respond(request, check_redis_health())


@never_cache
@require_safe
def health(request):
    return _respond(request, combined_health())
