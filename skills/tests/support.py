"""The assertion that matters most in the skills tests: every skill's stored statistics equal an
aggregate over its logs; and the logs of a month."""

import datetime

from skills.selectors import check_statistics, month_start, statistics_of
from skills.tests.builders import usage


def assert_statistics_exact() -> None:
    checks = check_statistics()
    assert checks, "no skills to check"
    stale = [check for check in checks if not check.matches]
    assert not stale, stale


def stored(skill) -> tuple:
    """`skill`'s statistics as read (base + pending deltas)."""
    statistics = statistics_of(skill)
    return statistics.usage_count, statistics.token_savings_avg, statistics.effectiveness_score


def logs_of(skill, month: datetime.date, count: int, **fields) -> list[dict]:
    """`count` logs of `skill` in `month` (a first day), an hour apart from 07:00 on the 1st."""
    start = month_start(month)
    return [
        usage(skill, executed_at=start + datetime.timedelta(hours=7 + n), tokens_saved=n, **fields)
        for n in range(count)
    ]
