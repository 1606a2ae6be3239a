"""What `manage.py shell -c` runs through PgBouncer in the pooler tests: usage logs written as
application servers write them (each statement its own transaction, single logs and batches),
and the admin and health endpoints requested through Django's test client."""

from __future__ import annotations

import json

ROUNDS = 40


def write_usage(worker: int, skill_pk: str) -> None:
    from skills.models import Skill, SkillUsageLog
    from skills.services import record_usage, record_usages

    skill = Skill.objects.get(pk=skill_pk)
    fields = {"execution_time_ms": 120, "tokens_used": 1000, "metadata": {"worker": worker}}
    for n in range(ROUNDS):
        record_usage(skill=skill, success=n % 3 > 0, tokens_saved=n + worker, **fields)
        if n % 8 == 0:
            record_usages([{"skill": skill, "success": True, "tokens_saved": 5, **fields}] * 5)
    print("done", SkillUsageLog.objects.filter(metadata__worker=worker).count())


def request_pages() -> None:
    """Status codes of the health endpoints and admin pages, as JSON on stdout."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user = get_user_model().objects.filter(is_superuser=True).first()
    client = Client()
    client.force_login(user)
    pages = ["/api/health", "/api/health/database", reverse("admin:index")]
    pages += [reverse("admin:skills_skill_changelist"), reverse("admin:usage_analytics")]
    print(json.dumps({page: client.get(page).status_code for page in pages}))
