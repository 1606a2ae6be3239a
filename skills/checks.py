"""System check (`manage.py check`): the daily usage rollup counts days in the project's time
zone, or the analytics' days would not be the days the admin shows times in."""

from django.conf import settings
from django.core import checks


@checks.register()
def check_rollup_time_zone(app_configs=None, **kwargs):
    from skills.models import SkillUsageDaily

    if settings.TIME_ZONE == SkillUsageDaily.TIME_ZONE:
        return []
    return [
        checks.Warning(
            f"TIME_ZONE is {settings.TIME_ZONE!r} but skill_usage_daily counts days in "
            f"{SkillUsageDaily.TIME_ZONE!r}: the usage analytics' days are not the admin's days.",
            hint="Change skill_usage_day() and SkillUsageDaily.TIME_ZONE in a new migration that "
            "also rebuilds the rollup (refresh_skill_usage_daily()).",
            id="skills.W001",
        )
    ]
