"""Health endpoints and functions: healthy with real servers, 503 with the reason otherwise."""

import re

import pytest
from django.test import override_settings

from legalplatform.health import check_database_health, check_redis_health

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def closed_redis_caches(settings):
    return {
        alias: {**config, "LOCATION": "redis://127.0.0.1:1/0"}
        for alias, config in settings.CACHES.items()
    }


@pytest.mark.django_db
def test_database_health_function_reports_latency_in_whole_ms():
    result = check_database_health()
    assert result["healthy"] is True
    assert isinstance(result["latency"], int) and result["latency"] >= 0
    assert TIMESTAMP.match(result["timestamp"])


def test_redis_health_function_reports_latency():
    result = check_redis_health()
    assert result == {
        "healthy": True,
        "latency": result["latency"],
        "timestamp": result["timestamp"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/health", "/api/health/database", "/api/health/redis"])
def test_endpoints_answer_200_when_healthy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True and isinstance(body["latency"], int)
    assert TIMESTAMP.match(body["timestamp"])
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_redis_on_a_closed_port_is_unhealthy_with_503(client, settings):
    with override_settings(CACHES=closed_redis_caches(settings)):
        redis = client.get("/api/health/redis")
        combined = client.get("/api/health")
        database = client.get("/api/health/database")
    assert redis.status_code == 503
    assert redis.json()["healthy"] is False and "refused" in redis.json()["error"].lower()
    assert combined.status_code == 503 and combined.json()["error"] == "unhealthy: redis"
    assert database.status_code == 200


def test_unreachable_database_is_unhealthy_with_503(manage):
    script = (
        "from django.test import Client; r = Client().get('/api/health/database'); "
        "print(r.status_code, r.json()['healthy'], r.json()['error'])"
    )
    result = manage(
        "shell", "-c", script, env={"DATABASE_URL": "postgresql://app:s3cret@127.0.0.1:1/legal"}
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .startswith("503 False cannot connect to PostgreSQL at 127.0.0.1:1/legal")
    )
    assert "s3cret" not in result.stdout


def test_health_endpoint_rejects_post(client):
    assert client.post("/api/health/redis").status_code == 405
