"""Four writer processes on one skill at the same time: the statistics and the daily rollup stay
exact, and nothing deadlocks."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from skills.models import SkillStatistics, SkillUsageLog
from skills.selectors import daily_usage_mismatches
from skills.tests.builders import make_skill
from skills.tests.support import assert_statistics_exact
from skills.tests.usage_writer import BARRIER

WRITERS = 4


def waiting_at_barrier() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND NOT granted",
            [BARRIER],
        )
        return cursor.fetchone()[0]


@pytest.mark.slow
@pytest.mark.session  # its barrier is a session advisory lock
@pytest.mark.django_db(transaction=True)
def test_four_concurrent_writer_processes_keep_statistics_exact(manage):
    skill, other = make_skill(), make_skill()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [BARRIER])
    code = "from skills.tests.usage_writer import main; main({}, '{}', '{}')"
    with ThreadPoolExecutor(WRITERS) as pool:
        try:
            runs = [
                pool.submit(manage, "shell", "-c", code.format(n, skill.pk, other.pk))
                for n in range(WRITERS)
            ]
            deadline = time.monotonic() + 120
            while waiting_at_barrier() < WRITERS and time.monotonic() < deadline:
                time.sleep(0.1)
            assert waiting_at_barrier() == WRITERS, "the writers did not reach the barrier"
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BARRIER])
        results = [run.result(timeout=300) for run in runs]
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "done" in result.stdout
    assert_statistics_exact()
    assert daily_usage_mismatches() == []
    totals = sum(
        SkillStatistics.objects.filter(pk__in=[skill.pk, other.pk]).values_list(
            "usage_count", flat=True
        )
    )
    assert totals == SkillUsageLog.objects.count() > WRITERS * 60
