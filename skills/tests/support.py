"""Helpers shared by the skills tests: making skills and logs, and the one assertion that
matters most, that every skill's stored statistics equal an aggregate over its logs."""

import itertools

from skills.models import Skill, SkillUsageLog
from skills.selectors import check_statistics

_numbers = itertools.count(1)


def make_skill(**fields) -> Skill:
    number = next(_numbers)
    values = {
        "skill_id": f"test-skill-{number}",
        "display_name": f"Test skill {number}",
        "version": "1.0.0",
        "type": "document_analysis",
        "category": "legal",
        **fields,
    }
    return Skill.objects.create(**values)


def usage(skill, *, success=True, tokens_saved=0, **fields) -> dict:
    """The fields of one usage log of `skill` (for record_usage(s), bulk_create, …)."""
    return {
        "skill": skill,
        "execution_time_ms": 120,
        "tokens_used": 1000,
        "success": success,
        "tokens_saved": tokens_saved,
        **fields,
    }


def log(skill, **kwargs) -> SkillUsageLog:
    return SkillUsageLog(**usage(skill, **kwargs))


def assert_statistics_exact() -> None:
    checks = check_statistics()
    assert checks, "no skills to check"
    stale = [check for check in checks if not check.matches]
    assert not stale, stale


def stored(skill) -> tuple:
    skill.refresh_from_db()
    return skill.usage_count, skill.token_savings_avg, skill.effectiveness_score
