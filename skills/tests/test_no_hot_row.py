"""No hot row (docs/skills.md, "No hot row"): a writer of a skill's usage log never waits for
another writer's commit on the same skill, nor does a fold, while the statistics stay exact.
Before skills 0010 each log's trigger updated its skill's row and its day's rollup row and held
both row locks until commit, so the second writer here waited for the first."""

import psycopg
import pytest
from django.db import connection

from skills.services import fold_skill_usage
from skills.tests.builders import make_skill
from skills.tests.support import assert_statistics_exact, stored

INSERT_LOG = (
    "INSERT INTO skill_usage_logs (skill_id, execution_time_ms, tokens_used, executed_at) "
    "VALUES (%s, 10, 100, now())"
)


@pytest.mark.django_db(transaction=True)  # the writers' own connections see the skill
def test_writers_and_a_fold_never_wait_for_an_open_writer_of_the_same_skill():
    skill = make_skill()
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in ("context", "cursor_factory")
    }
    with psycopg.connect(**params) as first, psycopg.connect(**params) as second:
        first.execute(INSERT_LOG, [skill.pk])  # its transaction stays open
        # Waiting for `first`'s commit would be an error here, not a hang (SET LOCAL: behind
        # PgBouncer the next transaction may run on another server connection).
        for statement in [INSERT_LOG] * 3 + ["SELECT fold_skill_usage()"]:
            second.execute("SET LOCAL lock_timeout = '500ms'")
            second.execute(statement, [skill.pk] if statement == INSERT_LOG else None)
            second.commit()
        assert stored(skill)[0] == 3  # the open writer's log is not counted yet
        first.commit()
    assert stored(skill)[0] == 4
    fold_skill_usage()
    assert stored(skill)[0] == 4
    assert_statistics_exact()
