"""Helpers of the Redis tests: a Valkey of a test's own (to stop mid-test), cache settings that
point every alias at it, and users that sign in to the admin."""

from __future__ import annotations

import contextlib

import pytest
from django.conf import settings

from cases.models import User
from legalplatform import embedded

PASSWORD = "correct horse battery staple"

# Pool settings for legalplatform.redis.cache_options in tests: small, and quick to give up.
POOL_OPTIONS = {
    "max_connections": 5,
    "connect_timeout_ms": 1000,
    "socket_timeout_ms": 1000,
    "retries": 1,
    "retry_backoff_ms": 10,
}


@contextlib.contextmanager
def own_valkey(data_dir):
    """An embedded Valkey in `data_dir` for this test alone: yields its URL, stops it after."""
    url = embedded.ensure_valkey(data_dir)
    try:
        yield url
    finally:
        embedded.stop_valkey(data_dir)


def caches_at(url: str) -> dict:
    """CACHES with every alias on the Redis at `url`."""
    return {alias: {**config, "LOCATION": url} for alias, config in settings.CACHES.items()}


def make_user(email: str = "ana@example.ro", **fields) -> User:
    """An active user who may sign in to the admin."""
    fields = {"status": User.Status.ACTIVE, "is_staff": True, "is_superuser": True, **fields}
    return User.objects.create_user(email, PASSWORD, **fields)


def admin_login(client, user: User) -> None:
    """Sign in through the admin's login form, as a person would."""
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/", response


@pytest.fixture
def fast_password_hashing(settings):
    """Sign-ins in milliseconds instead of a second each (PBKDF2 at production strength)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
