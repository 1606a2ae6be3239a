"""Fixtures shared by the discovery tests: a staff client (rows come from builders.py)."""

import pytest


@pytest.fixture
def staff_client(client, django_user_model):
    """A test client logged in as a staff superuser (the admin requires staff)."""
    user = django_user_model.objects.create_superuser("admin@demo.lawfirm.ro", None)  # no hashing
    client.force_login(user)
    return client
