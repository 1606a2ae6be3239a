"""Builders for the skills tests: skills with valid defaults (each call a new row) and the fields
of their usage logs."""

import itertools

from skills.models import Skill, SkillUsageLog

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
