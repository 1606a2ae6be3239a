"""Read queries of the skills app: a skill's usage over a period, the usage analytics of the
admin (per day and per skill, from the daily rollup), and the statistics an aggregate over the
logs gives, against which the trigger-kept columns and the rollup can be checked."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import Avg, Count, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from skills.models import (
    Skill,
    SkillStatistics,
    SkillUsageDaily,
    SkillUsageDailyExact,
    SkillUsageLog,
    SkillUsageVerifiedMonth,
)


def success_rate(successes: int, executions: int) -> Decimal:
    """Percent with two decimals, rounded half up like PostgreSQL's round(); 0 without
    executions (skills.effectiveness_score computes it the same way)."""
    if not executions:
        return Decimal("0.00")
    rate = Decimal(100 * successes) / Decimal(executions)
    return rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Outcomes:
    """Failures and success rate of anything with `executions` and `successes`."""

    executions: int
    successes: int

    @property
    def failures(self) -> int:
        return self.executions - self.successes

    @property
    def success_rate(self) -> Decimal:
        return success_rate(self.successes, self.executions)


@dataclass(frozen=True)
class UsageStats(_Outcomes):
    """A skill's executions over a period; rates and averages as the skill's own columns
    compute them (success_rate ~ effectiveness_score, token_savings_avg)."""

    executions: int
    successes: int
    tokens_used: int
    tokens_saved: int
    token_savings_avg: int  # average tokens_saved over successful executions, rounded
    cost_usd: Decimal
    avg_execution_time_ms: int


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


def checked_figures(recorded: Iterable[int] = ()) -> str:
    """SQL of what the statistics and the rollup must equal per (skill, day): the pruned
    baseline, the figures of the `recorded` verified months (ids of SkillUsageVerifiedMonth)
    and those of every other log (skill_usage_checked_figures(), migration 0017). With none,
    skill_usage_live_figures(), the same before 0017 too."""
    ids = ",".join(str(int(pk)) for pk in recorded)
    if not ids:
        return "skill_usage_live_figures()"
    return f"skill_usage_checked_figures('{{{ids}}}'::bigint[])"


def log_totals(recorded: Iterable[int] = ()) -> str:
    """SQL of each skill's executions, the successful ones and their tokens_saved (`parent`,
    `logs`, `successes`, `saved`), from checked_figures(recorded): the totals the base and the
    pending deltas must add up to."""
    return f"""
        SELECT skill_id AS parent, sum(executions)::bigint AS logs,
               sum(successes)::bigint AS successes, sum(tokens_saved_success)::bigint AS saved
        FROM {checked_figures(recorded)} GROUP BY skill_id
    """


# Each statistics column of skills from those totals (`a`), the derived two by the SQL functions
# the fold, the view skill_statistics and refresh_skill_statistics() use (migration 0002): one
# definition of each figure.
STATISTICS_FROM_LOGS = {
    "usage_count": "coalesce(a.logs, 0)",
    "success_count": "coalesce(a.successes, 0)",
    "tokens_saved_success_sum": "coalesce(a.saved, 0)",
    "token_savings_avg": "skill_token_savings_avg(coalesce(a.saved, 0), coalesce(a.successes, 0))",
    "effectiveness_score": (
        "skill_effectiveness_score(coalesce(a.successes, 0), coalesce(a.logs, 0))"
    ),
}
_COMPARED = ("usage_count", "token_savings_avg", "effectiveness_score")


def check_statistics(*, using: str = "default") -> list[StatisticsCheck]:
    """Every skill's statistics as read (skill_statistics: base + pending deltas) next to what
    its logs and the pruned baseline give, read in one statement (one snapshot), by skill_id."""
    stored = ", ".join(f"s.{column}" for column in _COMPARED)
    from_logs = ", ".join(STATISTICS_FROM_LOGS[column] for column in _COMPARED)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT s.skill_id, {stored}, {from_logs} "
            f"FROM skill_statistics AS s LEFT JOIN ({log_totals()}) AS a ON a.parent = s.id "
            "ORDER BY s.skill_id"
        )
        return [
            StatisticsCheck(skill_id, tuple(figures[:3]), tuple(figures[3:]))
            for skill_id, *figures in cursor.fetchall()
        ]


def skills_with_stale_statistics(*, using: str = "default") -> list[StatisticsCheck]:
    """The skills whose stored statistics differ from their logs: none, unless logs were
    written with the triggers disabled (then see services.refresh_skill_statistics)."""
    return [check for check in check_statistics(using=using) if not check.matches]


# --- Usage analytics ----------------------------------------------------------------------------

TOP_SKILLS = 10  # how many skills each "top skills" list shows
# The fields of UsageFigures, in order: what the rollup sums per skill and day.
FIGURES = (
    "executions",
    "successes",
    "tokens_used",
    "tokens_saved",
    "cost_usd",
    "execution_time_ms",
)


@dataclass(frozen=True)
class UsageFigures(_Outcomes):
    """What a set of executions adds up to; the rates and means derive from the sums."""

    executions: int = 0
    successes: int = 0
    tokens_used: int = 0
    tokens_saved: int = 0
    cost_usd: Decimal = Decimal("0")
    execution_time_ms: int = 0  # total; see avg_execution_time_ms

    def __add__(self, other: UsageFigures) -> UsageFigures:
        return UsageFigures(*(getattr(self, f) + getattr(other, f) for f in FIGURES))

    @property
    def avg_execution_time_ms(self) -> int:
        """Mean execution time in whole milliseconds, rounded half up; 0 without executions."""
        if not self.executions:
            return 0
        mean = Decimal(self.execution_time_ms) / Decimal(self.executions)
        return int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class DayUsage:
    day: datetime.date
    figures: UsageFigures


@dataclass(frozen=True)
class SkillUsage:
    skill: Skill
    figures: UsageFigures


@dataclass(frozen=True)
class UsageAnalytics:
    """Usage from `first_day` to `last_day` (calendar days of SkillUsageDaily.TIME_ZONE, both
    included): per day for `skill` (every skill when None), and per skill for every skill."""

    first_day: datetime.date
    last_day: datetime.date
    skill: Skill | None
    days: list[DayUsage]  # every day of the period, oldest first; zeros where nothing ran
    skills: list[SkillUsage] = field(default_factory=list)  # every skill that ran, most used first

    @cached_property
    def totals(self) -> UsageFigures:
        return sum((d.figures for d in self.days), UsageFigures())

    def top_skills(self, figure: str, limit: int = TOP_SKILLS) -> list[SkillUsage]:
        """The `limit` skills with the highest `figure` (a UsageFigures field), ties by skill_id;
        skills where it is 0 are left out."""
        ranked = sorted(
            (s for s in self.skills if getattr(s.figures, figure) > 0),
            key=lambda s: (-getattr(s.figures, figure), s.skill.skill_id),
        )
        return ranked[:limit]


# The same figures from either source, as aggregates named n_<figure> (an alias must not shadow
# the column it sums).
_FROM_ROLLUP = {f"n_{name}": Sum(name) for name in FIGURES}
_FROM_LOGS = {
    "n_executions": Count("pk"),
    "n_successes": Count("pk", filter=Q(success=True)),
    **{f"n_{name}": Sum(name) for name in FIGURES[2:]},
}


def usage_analytics(
    days: int,
    *,
    skill: Skill | None = None,
    today: datetime.date | None = None,
    from_logs: bool = False,
) -> UsageAnalytics:
    """Usage over the `days` calendar days that end with `today` (default: today in the rollup's
    time zone), read from the daily rollup in two aggregates over a few rows per skill and day.

    `from_logs=True` computes the same figures straight from skill_usage_logs, with Django's own
    day arithmetic instead of the rollup's SQL function: the baseline of bench/admin.py, and the
    independent check of the rollup in the tests.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1; got {days}")
    zone = ZoneInfo(SkillUsageDaily.TIME_ZONE)
    last_day = today or timezone.localdate(timezone=zone)
    first_day = last_day - datetime.timedelta(days=days - 1)
    rows, figures = (_log_rows if from_logs else _rollup_rows)(first_day, last_day, zone)

    per_day = rows.filter(skill=skill) if skill is not None else rows
    by_day = {
        row["day"]: _figures(row) for row in per_day.values("day").annotate(**figures).order_by()
    }
    by_skill = {
        row["skill"]: _figures(row) for row in rows.values("skill").annotate(**figures).order_by()
    }
    skills = Skill.objects.in_bulk(list(by_skill))
    return UsageAnalytics(
        first_day=first_day,
        last_day=last_day,
        skill=skill,
        days=[
            DayUsage(day, by_day.get(day, UsageFigures()))
            for day in (first_day + datetime.timedelta(days=n) for n in range(days))
        ],
        skills=sorted(
            (SkillUsage(skills[pk], figures) for pk, figures in by_skill.items()),
            key=lambda s: (-s.figures.executions, s.skill.skill_id),
        ),
    )


def _rollup_rows(first_day, last_day, zone) -> tuple[QuerySet, dict]:
    return SkillUsageDailyExact.objects.filter(day__range=(first_day, last_day)), _FROM_ROLLUP


def _log_rows(first_day, last_day, zone) -> tuple[QuerySet, dict]:
    def midnight(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)

    logs = SkillUsageLog.objects.filter(
        executed_at__gte=midnight(first_day),
        executed_at__lt=midnight(last_day + datetime.timedelta(days=1)),
    ).annotate(day=TruncDate("executed_at", tzinfo=zone))
    return logs, _FROM_LOGS


def _figures(row: dict) -> UsageFigures:
    # sum(bigint) is numeric in PostgreSQL: counts and token sums arrive as Decimal from the rollup.
    values = {name: row[f"n_{name}"] for name in FIGURES}
    return UsageFigures(
        **{name: int(value) for name, value in values.items() if name != "cost_usd"},
        cost_usd=values["cost_usd"],
    )


def daily_usage_mismatches(*, recorded: Iterable[int] = (), using: str = "default") -> list[tuple]:
    """The (skill id, day, rollup figures, figures from the logs) where the daily rollup as read
    (skill_usage_daily_exact: base + pending deltas) differs from a daily aggregate of the logs
    plus the pruned baseline (the `recorded` verified months from their record: see
    checked_figures), in one statement (one snapshot): none unless logs were written with the
    triggers disabled (then see services.refresh_skill_usage_daily)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"""
            WITH from_logs AS (
                SELECT * FROM {checked_figures(recorded)} WHERE executions <> 0
            )
            SELECT skill_id, day,
                   (d.executions, d.successes, d.tokens_used, d.tokens_saved, d.cost_usd,
                    d.execution_time_ms)::text,
                   (l.executions, l.successes, l.tokens_used, l.tokens_saved, l.cost_usd,
                    l.execution_time_ms)::text
            FROM skill_usage_daily_exact AS d
            FULL JOIN from_logs AS l USING (skill_id, day)
            WHERE (d.executions, d.successes, d.tokens_used, d.tokens_saved, d.cost_usd,
                   d.execution_time_ms)
                  IS DISTINCT FROM
                  (l.executions, l.successes, l.tokens_used, l.tokens_saved, l.cost_usd,
                   l.execution_time_ms)
            ORDER BY skill_id, day
            """
        )
        return cursor.fetchall()


def statistics_of(skill: Skill, *, using: str = "default") -> SkillStatistics:
    """`skill`'s exact statistics (base + pending deltas), read now."""
    return SkillStatistics.objects.using(using).get(pk=skill.pk)


def pending_usage_deltas(*, limit: int | None = None, using: str = "default") -> int:
    """How many deltas wait to be folded (counting at most `limit`, to stay cheap)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT FROM skill_usage_deltas LIMIT %s) AS pending", [limit]
        )
        return cursor.fetchone()[0]


# --- Partitions of the usage logs ---------------------------------------------------------------


@dataclass(frozen=True)
class UsagePartition:
    """A partition of skill_usage_logs: its bounds (None: unbounded, i.e. MINVALUE or the
    default partition's), its rows as the planner estimates them and its size on disk."""

    name: str
    lower: datetime.datetime | None
    upper: datetime.datetime | None
    is_default: bool
    estimated_rows: int
    bytes: int

    def covers(self, moment: datetime.datetime) -> bool:
        if self.is_default:
            return False
        return (self.lower is None or self.lower <= moment) and moment < self.upper


PARTITIONS_SQL = r"""
    SELECT c.relname,
           substring(b.bound FROM 'FROM \(''([^'']*)''\)')::timestamptz,
           substring(b.bound FROM 'TO \(''([^'']*)''\)')::timestamptz,
           b.bound = 'DEFAULT',
           greatest(c.reltuples, 0)::bigint,
           pg_total_relation_size(c.oid)
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS b
    WHERE i.inhparent = to_regclass('skill_usage_logs')
    ORDER BY 4, 2 NULLS FIRST
"""


def usage_partitions(*, using: str = "default") -> list[UsagePartition]:
    """The partitions of skill_usage_logs, oldest first, the default partition last; none when
    the table is not partitioned (before migration skills.0014)."""
    with connections[using].cursor() as cursor:
        cursor.execute(PARTITIONS_SQL)
        return [UsagePartition(*row) for row in cursor.fetchall()]


def month_start(day: datetime.date) -> datetime.datetime:
    """The first moment of `day`'s calendar month in the rollup's time zone: a partition bound."""
    return datetime.datetime(day.year, day.month, 1, tzinfo=ZoneInfo(SkillUsageDaily.TIME_ZONE))


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month `months` after `day`'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_without_partition(
    months: list[datetime.date], *, using: str = "default"
) -> list[datetime.date]:
    """Those of `months` (first days) whose logs no monthly partition would take (they would
    fall into the default partition)."""
    partitions = usage_partitions(using=using)
    return [m for m in months if not any(p.covers(month_start(m)) for p in partitions)]


# --- Verified months of the usage logs (validate, migration 0017) -------------------------------


@dataclass(frozen=True)
class PartitionState:
    """A partition of skill_usage_logs as it is now (skill_usage_partition_states()): identity,
    bounds, month over or not, and its modification counters (None: not counted here)."""

    partition: str
    partition_oid: int
    relfilenode: int
    lower: datetime.datetime | None
    upper: datetime.datetime | None
    closed: bool
    modifications: int | None
    stats_reset: datetime.datetime | None
    stats_restarted: datetime.datetime | None

    def condition(self, table: str = "skill_usage_logs") -> tuple[str, list]:
        """SQL over `table` for this partition's rows, with its parameters."""
        return _span_condition(table, self.lower, self.upper)


def usage_partition_states(*, using: str = "default") -> list[PartitionState]:
    """Every partition of skill_usage_logs now, oldest first, the default partition last (the
    counters as they are now, not as this transaction first read them)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT * FROM skill_usage_partition_states() "
            "ORDER BY upper IS NULL AND lower IS NULL, lower NULLS FIRST"
        )
        return [PartitionState(*row) for row in cursor.fetchall()]


def recorded_usage_months(rules: str, *, using: str = "default") -> list[SkillUsageVerifiedMonth]:
    """The verified months whose record is still true (skill_usage_recorded_months()): month
    over, partition unchanged since, verified under the row rules of fingerprint `rules`."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
    return list(
        SkillUsageVerifiedMonth.objects.using(using).raw(
            "SELECT * FROM skill_usage_recorded_months(%s) ORDER BY lower NULLS FIRST", [rules]
        )
    )


def recorded_usage_months_by_id(
    ids: Iterable[int], *, using: str = "default"
) -> list[SkillUsageVerifiedMonth]:
    return list(SkillUsageVerifiedMonth.objects.using(using).filter(pk__in=list(ids)))


def unrecorded_condition(
    recorded: Iterable[int], table: str = "skill_usage_logs", *, using: str = "default"
) -> tuple[str, list]:
    """SQL over `table` for its rows outside the `recorded` verified months (the spans of
    skill_usage_unrecorded_spans(), as plain bounds on executed_at: the planner reads only
    their partitions), with its parameters."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT lower(s), upper(s) FROM skill_usage_unrecorded_spans(%s) AS s", [list(recorded)]
        )
        spans = [_span_condition(table, lower, upper) for lower, upper in cursor.fetchall()]
    if not spans:
        return "false", []
    return " OR ".join(f"({sql})" for sql, _ in spans), [p for _, params in spans for p in params]


def _span_condition(table: str, lower, upper) -> tuple[str, list]:
    bounds = [(f'"{table}"."executed_at" >= %s', lower), (f'"{table}"."executed_at" < %s', upper)]
    present = [(sql, value) for sql, value in bounds if value is not None]
    if not present:
        return "true", []
    return " AND ".join(sql for sql, _ in present), [value for _, value in present]
