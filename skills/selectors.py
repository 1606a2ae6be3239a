"""Read queries of the skills app: a skill's usage over a period, and the statistics an aggregate
over the logs gives, against which the trigger-kept columns on `skills` can be checked."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections
from django.db.models import Avg, Count, IntegerField, Q, Sum
from django.db.models.functions import Cast, Coalesce

from skills.models import Skill, SkillUsageLog


@dataclass(frozen=True)
class UsageStats:
    """A skill's executions over a period; rates and averages as the skill's own columns
    compute them (success_rate ~ effectiveness_score, token_savings_avg)."""

    executions: int
    successes: int
    tokens_used: int
    tokens_saved: int
    token_savings_avg: int  # average tokens_saved over successful executions, rounded
    cost_usd: Decimal
    avg_execution_time_ms: int

    @property
    def failures(self) -> int:
        return self.executions - self.successes

    @property
    def success_rate(self) -> Decimal:
        """Percent with two decimals, rounded half up like PostgreSQL's round()."""
        if not self.executions:
            return Decimal("0.00")
        rate = Decimal(100 * self.successes) / Decimal(self.executions)
        return rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def skill_usage_stats(
    skill: Skill,
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> UsageStats:
    """What `skill` did from `since` (inclusive) to `until` (exclusive); open ends when None.
    One aggregate over the index (skill_id, executed_at DESC)."""
    logs = SkillUsageLog.objects.filter(skill=skill)
    if since is not None:
        logs = logs.filter(executed_at__gte=since)
    if until is not None:
        logs = logs.filter(executed_at__lt=until)
    successful = Q(success=True)
    # Aliases must not shadow the columns they aggregate, hence the n_ prefix.
    totals = logs.aggregate(
        n_executions=Count("pk"),
        n_successes=Count("pk", filter=successful),
        n_tokens_used=Coalesce(Sum("tokens_used"), 0),
        n_tokens_saved=Coalesce(Sum("tokens_saved"), 0),
        # AVG(…)::integer in SQL: the same rounding as skills.token_savings_avg.
        n_token_savings_avg=Coalesce(
            Cast(Avg("tokens_saved", filter=successful), IntegerField()), 0
        ),
        n_cost_usd=Coalesce(Sum("cost_usd"), Decimal("0")),
        n_avg_execution_time_ms=Coalesce(Cast(Avg("execution_time_ms"), IntegerField()), 0),
    )
    return UsageStats(**{name.removeprefix("n_"): value for name, value in totals.items()})


@dataclass(frozen=True)
class StatisticsCheck:
    """A skill's statistics as stored (kept by trigger) and as an aggregate over its logs
    gives them, each as (usage_count, token_savings_avg, effectiveness_score)."""

    skill_id: str
    stored: tuple[int, int, Decimal]
    from_logs: tuple[int, int, Decimal]

    @property
    def matches(self) -> bool:
        return self.stored == self.from_logs


def check_statistics(*, using: str = "default") -> list[StatisticsCheck]:
    """Every skill's stored statistics next to an aggregate over all its logs, read in one
    statement (one snapshot), ordered by skill_id."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT s.skill_id,
                   s.usage_count, s.token_savings_avg, s.effectiveness_score,
                   count(l.id),
                   coalesce(avg(l.tokens_saved) FILTER (WHERE l.success)::integer, 0),
                   least(100, coalesce(round(
                       100.0 * count(l.id) FILTER (WHERE l.success) / nullif(count(l.id), 0), 2
                   ), 0))
            FROM skills AS s LEFT JOIN skill_usage_logs AS l ON l.skill_id = s.id
            GROUP BY s.id
            ORDER BY s.skill_id
            """
        )
        return [
            StatisticsCheck(skill_id, tuple(figures[:3]), tuple(figures[3:]))
            for skill_id, *figures in cursor.fetchall()
        ]


def skills_with_stale_statistics(*, using: str = "default") -> list[StatisticsCheck]:
    """The skills whose stored statistics differ from their logs: none, unless logs were
    written with the triggers disabled (then see services.refresh_skill_statistics)."""
    return [check for check in check_statistics(using=using) if not check.matches]
