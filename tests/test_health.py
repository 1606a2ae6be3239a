"""Health endpoints and functions: healthy with real servers, 503 with the reason otherwise."""

import ipaddress
import re

import pytest
from django.test import override_settings

from legalplatform.health import check_database_health, check_redis_health
from tests.redis_support import fast_password_hashing, make_user  # noqa: F401 - a fixture

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
    assert isinstance(result["latency"], int)


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
    """GET and HEAD only."""
    assert client.post("/api/health/redis").status_code == 405


@pytest.mark.django_db
def test_liveness_asks_no_dependency(client, settings):
    settings.CACHES = closed_redis_caches(settings)
    settings.HEALTH_DETAIL_NETWORKS = ()
    response = client.get("/api/health/live")
    assert response.status_code == 200 and response.json()["healthy"] is True
    assert set(response.json()) == {"healthy", "latency", "timestamp"}
    assert client.head("/api/health/live").status_code == 200


@pytest.mark.django_db
def test_callers_outside_the_detail_networks_get_no_error_text(client, settings):
    settings.HEALTH_DETAIL_NETWORKS = ()
    with override_settings(CACHES=closed_redis_caches(settings)):
        redis = client.get("/api/health/redis")
        combined = client.get("/api/health")
    assert redis.status_code == 503 and combined.status_code == 503
    for response in (redis, combined):
        assert set(response.json()) == {"healthy", "latency", "timestamp"}
        assert response.json()["healthy"] is False


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_password_hashing")
def test_a_detail_network_and_staff_get_the_details(client, settings):
    settings.HEALTH_DETAIL_NETWORKS = config_networks("10.0.0.0/8")
    remote = client.get("/api/health", REMOTE_ADDR="10.1.2.3").json()
    assert set(remote["checks"]) == {"database", "redis"}
    assert remote["checks"]["database"]["details"]["backend_pid"] > 0
    assert "checks" not in client.get("/api/health").json()  # 127.0.0.1 is not listed
    client.force_login(make_user(is_superuser=False))
    assert "checks" in client.get("/api/health").json()
    client.force_login(make_user("clerk@example.ro", is_staff=False, is_superuser=False))
    assert "checks" not in client.get("/api/health").json()


def config_networks(value):
    return (ipaddress.ip_network(value),)
