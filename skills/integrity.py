"""The integrity rules of the skills app (core.integrity): the statistics of `skills` and the
daily rollup, as read (base + pending deltas), equal what the usage logs and the baseline of
pruned months give, and the references to users without a foreign key
point at users."""

from core.integrity import (
    PASS,
    SKIP,
    CheckResult,
    Database,
    DateOrder,
    Reference,
    declare,
    failed,
    register,
    stored_statistics_match,
)
from skills.selectors import LOG_TOTALS, STATISTICS_FROM_LOGS, daily_usage_mismatches

declare(
    references=[
        Reference("skills", "created_by", "users"),
        Reference("skill_versions", "created_by", "users"),
    ],
    date_orders=[DateOrder("skill_versions", "deployed_at", "deprecated_at")],
)


@register("statistics")
def skill_statistics(database: Database) -> list[CheckResult]:
    """skills' statistics as read (base + pending deltas) against the live logs plus the pruned
    baseline, by the SQL functions the fold itself uses."""
    return stored_statistics_match(
        database,
        table="skills",
        stored="skill_statistics",
        logs="skill_usage_logs",
        totals=LOG_TOTALS,
        expected=STATISTICS_FROM_LOGS,
    )


@register("statistics")
def daily_usage(database: Database) -> list[CheckResult]:
    """The daily rollup the admin's analytics read equals a daily aggregate of the logs (plus
    the pruned baseline)."""
    table = "skill_usage_daily"
    if not database.schema.has(table) or not database.schema.has("skill_usage_logs"):
        return [CheckResult("statistics", SKIP, table, "rollup or log table missing")]
    mismatches = daily_usage_mismatches(using=database.alias)
    if not mismatches:
        return [CheckResult("statistics", PASS, table, "daily figures match skill_usage_logs")]
    rule = f"{table} = daily aggregate of skill_usage_logs"
    ids = [f"{skill_id}/{day}" for skill_id, day, *_ in mismatches]
    return [failed("statistics", table, rule, len(mismatches), ids, "skill-days")]
