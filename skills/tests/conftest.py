"""Fixtures the skills tests share."""

import pytest
from django.db import connection
from django.utils import timezone

from skills.selectors import add_months, usage_partitions


@pytest.fixture
def monthly_partitions(settings, tmp_path):
    """This month, the three before it and the two after it as partitions of their own (the
    test database's first partition, empty, holds every month up to two ahead: dropped for the
    test, rolled back after); BACKUP_DIR a temporary directory."""
    settings.BACKUP_DIR = tmp_path
    today = timezone.localdate()
    with connection.cursor() as cursor:
        first = usage_partitions()[0].name
        cursor.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {first}")
        cursor.execute(f"DROP TABLE {first}")
        for month in [add_months(today, n) for n in range(-3, 3)]:
            cursor.execute("SELECT create_skill_usage_partition(%s)", [month])
    return tmp_path
