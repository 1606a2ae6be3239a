"""The assertion that matters most in the skills tests: every skill's stored statistics equal an
aggregate over its logs."""

from skills.selectors import check_statistics, statistics_of


def assert_statistics_exact() -> None:
    checks = check_statistics()
    assert checks, "no skills to check"
    stale = [check for check in checks if not check.matches]
    assert not stale, stale


def stored(skill) -> tuple:
    """`skill`'s statistics as read (base + pending deltas)."""
    statistics = statistics_of(skill)
    return statistics.usage_count, statistics.token_savings_avg, statistics.effectiveness_score
