"""Health checks of PostgreSQL and Redis for monitors and load balancers: a dict for Python
callers and JSON views at /api/health, /api/health/database and /api/health/redis."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _measure(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure of the probe is the answer, not an error of ours
        message = " ".join(str(exc).split()) or exc.__class__.__name__
        return {"healthy": False, "error": message, "timestamp": _timestamp()}
    latency = round((time.perf_counter() - started) * 1000)
    return {"healthy": True, "latency": latency, "timestamp": _timestamp()}


def check_database_health(alias: str = "default") -> dict:
    """`{"healthy", "latency" (ms), "timestamp"}`, or `healthy: False` with an `error`."""

    def probe():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _measure(probe)


def check_redis_health(alias: str = "default") -> dict:
    """Like check_database_health, for the Redis server behind the cache `alias`."""
    return _measure(lambda: get_redis_connection(alias).ping())


def _respond(result: dict) -> JsonResponse:
    return JsonResponse(result, status=200 if result["healthy"] else 503)


@never_cache
@require_GET
def database_health(request):
    return _respond(check_database_health())


@never_cache
@require_GET
def redis_health(request):
    return _respond(check_redis_health())


@never_cache
@require_GET
def health(request):
    database, redis = check_database_health(), check_redis_health()
    result = {
        "healthy": database["healthy"] and redis["healthy"],
        "latency": max(database.get("latency", 0), redis.get("latency", 0)),
        "timestamp": _timestamp(),
        "checks": {"database": database, "redis": redis},
    }
    if not result["healthy"]:
        failed = [name for name, check in result["checks"].items() if not check["healthy"]]
        result["error"] = "unhealthy: " + ", ".join(failed)
        del result["latency"]
    return _respond(result)
