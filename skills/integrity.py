"""The integrity rules of the skills app (core.integrity): the statistics of `skills` and the
daily rollup, as read (base + pending deltas), equal what the usage logs and the baseline of
pruned months give, and the references to users without a foreign key point at users.

The usage logs' closed months are a ledger (UsageMonths): validate verifies a closed month once,
records it (skill_usage_verified_months, migration 0017) and reads it again only when its
partition changed, so that its cost on the logs follows what changed."""

import time

from django.db import transaction

from core.integrity import (
    PASS,
    RE_VERIFIED,
    READ,
    RECORDED,
    SKIP,
    CheckResult,
    Database,
    DateOrder,
    PartResult,
    RecordedPart,
    Reference,
    RuleSet,
    declare,
    failed,
    for_long_scans,
    ledger,
    register,
    stored_statistics_match,
)
from skills import selectors, services

declare(
    references=[
        Reference("skills", "created_by", "users"),
        Reference("skill_versions", "created_by", "users"),
    ],
    date_orders=[DateOrder("skill_versions", "deployed_at", "deprecated_at")],
)

LOGS = "skill_usage_logs"
RECORDS = "skill_usage_verified_months"
# The recorded keys of one referencing column, as a relation named as the logs (see RecordedPart).
RECORDED_KEYS = (
    '(SELECT k.key AS "{column}" FROM skill_usage_verified_keys AS k '
    'WHERE k.month_id = ANY (%s) AND k."column" = %s) AS "skill_usage_logs"'
)


class UsageMonths:
    """The closed months of skill_usage_logs (core.integrity.Ledger): a partition whose month
    is over is verified (its row rules, figures per skill and day, referenced keys) and recorded
    with its identity and modification counters; while those are unchanged, validate adds the
    record instead of reading the month (skill_usage_recorded_months() says which)."""

    table = LOGS

    def verify(self, database: Database, rules: RuleSet, *, full: bool) -> list[PartResult]:
        """Each closed month to verify in a transaction of its own: the rules, then the record
        (skills.services.record_verified_month), after the counters were read for all."""
        if not database.schema.has(RECORDS):
            return []
        using = database.alias
        # The counters first: whatever is written after this shows in them later.
        states = selectors.usage_partition_states(using=using)
        trusted = {
            m.partition_oid for m in selectors.recorded_usage_months(rules.fingerprint, using=using)
        }
        keep, results = [], []
        for state in states:
            keep.append(state.partition_oid)
            if not state.closed or state.modifications is None:
                continue  # open, or not counted here (then every month is read in the snapshot)
            if state.partition_oid in trusted and not full:
                continue
            started = time.monotonic()
            with transaction.atomic(using=using), database.cursor() as cursor:
                for_long_scans(cursor)
                if not rules.hold(*state.condition()):
                    keep.pop()  # a rule fails: the month is read, and reported, in the snapshot
                    continue
                month = services.record_verified_month(
                    state,
                    rules=rules.fingerprint,
                    key_columns=rules.key_columns,
                    started=started,
                    using=using,
                )
            results.append(_part(month, RE_VERIFIED))
        services.forget_verified_months(keep=keep, using=using)
        return results

    def recorded(self, database: Database, rules: RuleSet) -> RecordedPart:
        if not database.schema.has(RECORDS):
            return RecordedPart(LOGS, [], 0, "true", [], RECORDED_KEYS)
        months = selectors.recorded_usage_months(rules.fingerprint, using=database.alias)
        ids = [m.pk for m in months]
        scan, params = selectors.unrecorded_condition(ids, using=database.alias)
        return RecordedPart(LOGS, ids, sum(m.logs for m in months), scan, params, RECORDED_KEYS)

    def closed_parts(self, database: Database) -> list[PartResult]:
        if not database.schema.has(RECORDS):
            return []
        part = database.recorded.get(LOGS)
        ids = set(part.ids if part else [])
        months = {
            m.partition: m for m in selectors.recorded_usage_months_by_id(ids, using=database.alias)
        }
        results = []
        for state in selectors.usage_partition_states(using=database.alias):
            if not state.closed:
                continue
            month = months.get(state.partition)
            if month is None:
                results.append(PartResult(LOGS, state.partition, READ))
            else:
                results.append(_part(month, RECORDED))
        return results


def _part(month, status: str) -> PartResult:
    return PartResult(
        LOGS,
        month.partition,
        status,
        month.logs,
        month.verified_at.isoformat(),
        round(month.seconds, 3),
    )


ledger(UsageMonths())


def _recorded_ids(database: Database) -> list[int]:
    part = database.recorded.get(LOGS)
    return part.ids if part else []


@register("statistics")
def skill_statistics(database: Database) -> list[CheckResult]:
    """skills' statistics as read (base + pending deltas) against the logs plus the pruned
    baseline (the recorded months from their record), by the SQL functions the fold itself
    uses. A difference found with records is looked for again over every log: a record may lag
    behind a write by the seconds the statistics system takes to count it."""

    def check(recorded: list[int]) -> list[CheckResult]:
        return stored_statistics_match(
            database,
            table="skills",
            stored="skill_statistics",
            logs=LOGS,
            totals=selectors.log_totals(recorded),
            expected=selectors.STATISTICS_FROM_LOGS,
        )

    recorded = _recorded_ids(database)
    results = check(recorded)
    if recorded and any(r.status not in (PASS, SKIP) for r in results):
        results = check([])
    return results


@register("statistics")
def daily_usage(database: Database) -> list[CheckResult]:
    """The daily rollup the admin's analytics read equals a daily aggregate of the logs (plus
    the pruned baseline; the recorded months from their record, looked for again over every
    log if they differ)."""
    table = "skill_usage_daily"
    if not database.schema.has(table) or not database.schema.has(LOGS):
        return [CheckResult("statistics", SKIP, table, "rollup or log table missing")]
    recorded = _recorded_ids(database)
    mismatches = selectors.daily_usage_mismatches(recorded=recorded, using=database.alias)
    if mismatches and recorded:
        mismatches = selectors.daily_usage_mismatches(using=database.alias)
    if not mismatches:
        return [CheckResult("statistics", PASS, table, f"daily figures match {LOGS}")]
    rule = f"{table} = daily aggregate of {LOGS}"
    ids = [f"{skill_id}/{day}" for skill_id, day, *_ in mismatches]
    return [failed("statistics", table, rule, len(mismatches), ids, "skill-days")]
