"""The assertion that matters most in the skills tests: every skill's stored statistics equal an
aggregate over its logs."""

from skills.selectors import check_statistics


def assert_statistics_exact() -> None:
    checks = check_statistics()
    assert checks, "no skills to check"
    stale = [check for check in checks if not check.matches]
    assert not stale, stale


def stored(skill) -> tuple:
    skill.refresh_from_db()
    return skill.usage_count, skill.token_savings_avg, skill.effectiveness_score
