"""Folding when a reader needs it (docs/skills.md, "Folding runs"): the admin's skill list and
usage analytics fold first when FOLD_ON_READ deltas or more are pending and no fold is running;
below that, or while another fold holds the lock, they do not wait and read base + pending
deltas, exact either way."""

import importlib

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from cases.models import User
from skills import services
from skills.models import Skill
from skills.selectors import pending_usage_deltas
from skills.tests.builders import make_skill, usage
from skills.tests.support import stored

pytestmark = pytest.mark.django_db
# The advisory lock folds take.
FOLD_LOCK = importlib.import_module("skills.migrations.0010_usage_deltas_folded_later").FOLD_LOCK
PAGES = [reverse("admin:skills_skill_changelist"), reverse("admin:usage_analytics")]


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("admin@example.com", None))
    return client


def log_executions(skill, count):
    for _ in range(count):  # one statement each: one delta each
        services.record_usages([usage(skill)])


@pytest.mark.parametrize("page", PAGES)
def test_a_page_folds_a_backlog_first_unless_a_fold_is_running(staff_client, monkeypatch, page):
    monkeypatch.setattr(services, "FOLD_ON_READ", 3)
    skill = make_skill()
    log_executions(skill, 2)
    assert staff_client.get(page).status_code == 200
    assert pending_usage_deltas() == 2  # below the backlog: read as base + deltas

    log_executions(skill, 1)
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k not in ("context", "cursor_factory")
    }
    with psycopg.connect(**params) as other_fold:
        other_fold.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        assert staff_client.get(page).status_code == 200  # no wait for the running fold
        assert pending_usage_deltas() == 3
    assert stored(skill)[0] == 3 and Skill.objects.get(pk=skill.pk).usage_count == 0

    assert staff_client.get(page).status_code == 200
    assert pending_usage_deltas() == 0
    assert Skill.objects.get(pk=skill.pk).usage_count == 3 == stored(skill)[0]
