"""System checks (`manage.py check`): the daily usage rollup counts days in the project's time
zone, or the analytics' days would not be the days the admin shows times in; and (with
--database, as migrate runs them) next month's usage logs have a partition to go to."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError


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


@checks.register(checks.Tags.database)
def check_next_month_partition(app_configs=None, databases=None, **kwargs):
    """skills.W002 when no partition of skill_usage_logs takes next month's logs (they would
    all land in the default partition, which no prune can drop by month)."""
    from django.utils import timezone

    from skills.selectors import add_months, months_without_partition, usage_partitions

    warnings = []
    for alias in databases or ():
        try:
            if not usage_partitions(using=alias):
                continue  # not partitioned yet (before skills 0014)
            today = timezone.localdate()
            next_month = add_months(today, 1)
            if months_without_partition([next_month], using=alias):
                warnings.append(
                    checks.Warning(
                        f"{alias}: skill_usage_logs has no partition for "
                        f"{next_month:%Y-%m}; its logs would go to the default partition.",
                        hint="Run `manage.py usage_partitions` (scheduled daily in deploy/).",
                        id="skills.W002",
                    )
                )
        except DatabaseError:
            continue  # an unreachable server is reported by the checks that need it
    return warnings
