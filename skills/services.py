"""Write paths of the skills app: logging executions one by one or in batches through COPY,
folding the pending usage deltas into the statistics, publishing and rolling back a skill's
versions, and recounting statistics after a bulk load. Every write to the logs appends its
figures to skill_usage_deltas by trigger (migration 0010); `fold_skill_usage` moves them into
the statistics of `skills` and the daily rollup."""

from __future__ import annotations

import datetime
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone

from legalplatform.db.transactions import atomic_without_statement_timeout
from skills.models import (
    Skill,
    SkillUsageDaily,
    SkillUsageLog,
    SkillUsagePrune,
    SkillUsageVerifiedMonth,
    SkillVersion,
)

# Semantic Versioning 2.0.0 (semver.org): MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER = re.compile(
    rf"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)


def semver_precedence(version: str) -> tuple:
    """A sort key ordering versions by semver precedence (build metadata ignored); ValueError if
    `version` is not a semantic version."""
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0)")
    major, minor, patch, prerelease = match.groups()
    # A release ranks above its pre-releases; numeric identifiers rank below alphanumeric ones.
    prerelease_key = (
        (
            0,
            *(
                (0, int(part), "") if part.isdigit() else (1, 0, part)
                for part in prerelease.split(".")
            ),
        )
        if prerelease
        else (1,)
    )
    return int(major), int(minor), int(patch), prerelease_key


# --- Usage logs ---------------------------------------------------------------------------------


def record_usage(skill: Skill, **fields: Any) -> SkillUsageLog:
    """Log one execution of `skill`; the trigger appends it to the pending usage deltas, which
    the statistics as read (skill_statistics) include at once."""
    return SkillUsageLog.objects.create(skill=skill, **fields)


# Every column COPY writes, in order; the id comes from the column's default, gen_random_uuid().
_COPY_FIELDS = [field for field in SkillUsageLog._meta.concrete_fields if not field.primary_key]
# Each accepted key of a row (field name or attname, e.g. `skill` or `skill_id`) → its position.
_POSITION = {
    key: position
    for position, field in enumerate(_COPY_FIELDS)
    for key in {field.name, field.attname}
}
# Keys that may hold a model instance (skill=…, user=…), which stands for its primary key.
_RELATION_KEYS = frozenset(field.name for field in _COPY_FIELDS if field.is_relation)
# Binary COPY wants exact Python types: ids given as text become UUIDs, floats become Decimals.
_CONVERT = {
    position: field.to_python
    for position, field in enumerate(_COPY_FIELDS)
    if field.get_internal_type() in ("UUIDField", "ForeignKey", "DecimalField")
}
_REQUIRED = object()  # marks a value a row must give (no default, not nullable)


def record_usages(rows: Iterable[Mapping[str, Any]], *, using: str = "default") -> int:
    """Log a batch of executions with one COPY and return how many.

    Each row maps SkillUsageLog fields to values of the field's type (`skill` or `skill_id`,
    `user` or `user_id`, `execution_time_ms`, `tokens_used`, `cost_usd` as Decimal, …); a
    missing field takes the model's default (`executed_at`: the time of the call). The statistics
    trigger runs once for the whole batch, and the batch is all or nothing: a bad row (unknown
    field, missing required value, failed constraint) adds none of the rows. `rows` may be a
    generator, read once while the COPY streams; it must not query the database meanwhile
    (the connection is busy with the COPY).
    """
    connection = connections[using]
    defaults = [
        field.to_python(field.get_default())
        if field.has_default()
        else (None if field.null else _REQUIRED)
        for field in _COPY_FIELDS
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _COPY_FIELDS)
    count = 0
    with (
        transaction.atomic(using=using),
        connection.cursor() as cursor,
        connection.wrap_database_errors,  # IntegrityError & co., as for any ORM query
    ):
        with cursor.copy(
            f"COPY {SkillUsageLog._meta.db_table} ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([field.db_type(connection).split("(")[0] for field in _COPY_FIELDS])
            for count, row in enumerate(rows, start=1):  # noqa: B007 (count is the result)
                copy.write_row(_copy_values(row, defaults, count))
    return count


def _copy_values(row: Mapping[str, Any], defaults: list, number: int) -> list:
    values = defaults.copy()
    for key, value in row.items():
        position = _POSITION.get(key)
        if position is None:
            raise ValidationError(f"usage row {number}: SkillUsageLog has no field {key!r}")
        if value is not None:
            if key in _RELATION_KEYS:
                value = value.pk
            elif position in _CONVERT:
                try:
                    value = _CONVERT[position](value)
                except ValidationError as exc:
                    raise ValidationError(f"usage row {number}: {key}: {exc.messages[0]}") from None
        values[position] = value
    if _REQUIRED in values:
        missing = _COPY_FIELDS[values.index(_REQUIRED)].name
        raise ValidationError(f"usage row {number}: {missing} is required")
    return values


# A reader that finds this many deltas pending folds them first (if no fold is running), so that
# the views that add the pending deltas to the base stay a few milliseconds whatever the backlog.
FOLD_ON_READ = 20_000


def fold_skill_usage(*, wait: bool = True, using: str = "default") -> int | None:
    """Fold the pending usage deltas into the statistics of `skills` and into skill_usage_daily,
    in one transaction; returns how many deltas were folded. Safe alongside writers and other
    folds (an advisory lock takes them one at a time); with `wait=False`, returns None at once
    when another fold is running."""
    # No time limit: a backlog of hours folds in seconds.
    with atomic_without_statement_timeout(using) as cursor:
        cursor.execute("SELECT fold_skill_usage(%s)", [wait])
        return cursor.fetchone()[0]


def fold_skill_usage_backlog(*, using: str = "default") -> int | None:
    """For readers: fold when FOLD_ON_READ deltas or more are pending and no fold is running;
    returns what was folded (None when nothing was)."""
    from skills.selectors import pending_usage_deltas

    if pending_usage_deltas(limit=FOLD_ON_READ, using=using) < FOLD_ON_READ:
        return None
    return fold_skill_usage(wait=False, using=using)


def refresh_skill_statistics(skills: Iterable[Skill] | None = None, *, using: str = "default"):
    """Recount the statistics of `skills` (all when None) from their logs and the pruned
    baseline; returns how many skills were updated. Only needed after writes that bypassed the
    triggers, e.g. a load with `session_replication_role = replica`; writes to the logs wait
    meanwhile."""
    ids = None if skills is None else [skill.pk for skill in skills]
    # No time limit: operator work over the whole history.
    with atomic_without_statement_timeout(using) as cursor:
        cursor.execute("SELECT refresh_skill_statistics(%s::uuid[])", [ids])
        return cursor.fetchone()[0]


def refresh_skill_usage_daily(*, using: str = "default") -> int:
    """Rebuild the daily rollup (skill_usage_daily) from every log and the pruned baseline and
    return its number of rows.
    Only needed after writes that bypassed the triggers; writes to the logs wait meanwhile."""
    # No time limit: operator work over the whole history.
    with atomic_without_statement_timeout(using) as cursor:
        cursor.execute("SELECT refresh_skill_usage_daily()")
        return cursor.fetchone()[0]


# --- Partitions of the usage logs (migration 0014) ---------------------------------------------

PARTITIONS_AHEAD = 3  # months ahead `manage.py usage_partitions` keeps created


def create_usage_partitions(
    ahead: int = PARTITIONS_AHEAD, *, today: datetime.date | None = None, using: str = "default"
) -> list[str]:
    """Create the monthly partitions of skill_usage_logs missing for this month and the `ahead`
    months after it (calendar months of the rollup's time zone); returns the names created.
    Each is one catalog change (create_skill_usage_partition() in SQL), seconds at most."""
    from skills.selectors import add_months, months_without_partition

    if ahead < 0:
        raise ValueError(f"--ahead must be 0 or more; got {ahead}")
    today = today or timezone.localdate(timezone=ZoneInfo(SkillUsageDaily.TIME_ZONE))
    months = [add_months(today, n) for n in range(ahead + 1)]
    created = []
    with connections[using].cursor() as cursor:
        for month in months_without_partition(months, using=using):
            cursor.execute("SELECT create_skill_usage_partition(%s)", [month])
            created.append(cursor.fetchone()[0])
    return created


# --- Retention: pruning whole months (migrations 0014-0016) -------------------------------------

PRUNED_BACKUPS = "pruned-usage-logs"  # the directory under BACKUP_DIR of the pruned months


@dataclass(frozen=True)
class PruneResult:
    before: datetime.date
    partitions: list[dict]  # name, from, to, rows of each partition dropped
    rows: int
    backup: Path | None
    seconds: float  # the prune's transaction (lock, baseline, detach, commit), backup apart
    record: SkillUsagePrune | None
    # Seconds of each step: lock, baseline, detach, commit, then drop (the files, after commit).
    steps: dict = field(default_factory=dict)


def partitions_before(before: datetime.date, *, using: str = "default"):
    """The partitions whose every log is dated before the first day of `before`'s month."""
    from skills.selectors import month_start, usage_partitions

    cut = month_start(before)
    return [
        p
        for p in usage_partitions(using=using)
        if not p.is_default and p.upper is not None and p.upper <= cut
    ]


def prune_usage_logs(
    before: datetime.date,
    *,
    by: str,
    backup: bool = True,
    today: datetime.date | None = None,
    using: str = "default",
) -> PruneResult:
    """Drop the partitions of skill_usage_logs whose months all lie before `before`'s month,
    whole (DETACH, then DROP after the commit: no row is deleted, no trigger runs), recording their
    figures in skill_usage_baseline from the daily rollup (a few rows per skill and day,
    whatever the number of logs) and writing a backup of their rows unless `backup` is False.
    Refuses to cut into the current month. The run is recorded in SkillUsagePrune."""

    zone = ZoneInfo(SkillUsageDaily.TIME_ZONE)
    today = today or timezone.localdate(timezone=zone)
    before = before.replace(day=1)
    if before > today.replace(day=1):
        raise ValueError(
            f"refusing to prune into the current month: --before {before:%Y-%m} is after "
            f"{today:%Y-%m}; logs of {today:%Y-%m} and later are kept"
        )
    partitions = partitions_before(before, using=using)
    if not partitions:
        return PruneResult(before, [], 0, None, 0.0, None)
    connection = connections[using]
    directory = None
    backed_up = {}
    if backup:
        directory = (
            Path(settings.BACKUP_DIR)
            / PRUNED_BACKUPS
            / (
                f"{connection.settings_dict['NAME']}-before-{before:%Y-%m}-"
                f"{timezone.now():%Y%m%d-%H%M%S}"
            )
        )
        directory.mkdir(parents=True, mode=0o700)
        for partition in partitions:
            backed_up[partition.name] = _copy_out(connection, partition.name, directory)

    started = time.monotonic()
    steps = dict.fromkeys(("lock", "baseline", "detach", "commit", "drop"), 0.0)

    last = started

    def step(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        steps[name] += now - last
        last = now

    dropped = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no key check left pending on them
        # Writers of these months wait (or, if they ran, are done); strays of these months in
        # the default partition stay put meanwhile.
        names = ", ".join(connection.ops.quote_name(p.name) for p in partitions)
        cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        cursor.execute("LOCK TABLE skill_usage_logs_default IN SHARE MODE")
        step("lock")
        for partition in partitions:
            lower = None if partition.lower is None else partition.lower.astimezone(zone).date()
            upper = partition.upper.astimezone(zone).date()
            cursor.execute(RECORD_BASELINE_SQL, {"lower": lower, "upper": upper})
            rows = int(cursor.fetchone()[0])
            step("baseline")
            if partition.name in backed_up and backed_up[partition.name] != rows:
                raise ValueError(
                    f"{partition.name}: {backed_up[partition.name]:,} logs backed up but "
                    f"{rows:,} counted now (logs were written into a pruned month meanwhile); "
                    "nothing was pruned: run it again"
                )
            quoted = connection.ops.quote_name(partition.name)
            cursor.execute(f"ALTER TABLE skill_usage_logs DETACH PARTITION {quoted}")
            step("detach")
            dropped.append(
                {
                    "name": partition.name,
                    "from": None if lower is None else lower.isoformat(),
                    "to": upper.isoformat(),
                    "rows": rows,
                }
            )
        record = SkillUsagePrune.objects.using(using).create(
            pruned_by=by,
            before=before,
            partitions=dropped,
            rows=sum(p["rows"] for p in dropped),
            backup=str(directory or ""),
        )
    step("commit")
    seconds = time.monotonic() - started
    # The months are out of skill_usage_logs and their figures in the baseline: committed. Their
    # files go now, in transactions of their own (removing gigabytes takes a second or more,
    # holding only the detached table, which nothing reads); a run cut off here leaves them for
    # the next prune to drop (drop_pruned_leftovers).
    drop_pruned_leftovers(using=using)
    step("drop")
    return PruneResult(before, dropped, record.rows, directory, seconds, record, steps)


def drop_pruned_leftovers(*, using: str = "default") -> list[str]:
    """Drop the tables of pruned months still on disk (detached by a prune whose DROP did not
    run): the names the prunes recorded that exist and are no partition. Returns them."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT c.relname
            FROM skill_usage_prunes AS r
            CROSS JOIN LATERAL jsonb_array_elements(r.partitions) AS p (partition)
            JOIN pg_class AS c ON c.oid = to_regclass(p.partition ->> 'name')
            WHERE NOT c.relispartition
            """
        )
        names = [name for (name,) in cursor.fetchall()]
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}")
    return names


# The figures of the logs of days [lower, upper) (lower NULL: every day before upper) that are
# in the partition being dropped: the exact rollup of those days, minus what the baseline holds
# already, minus the strays of those days in the default partition (which stay). Added to the
# baseline; returns the number of logs.
RECORD_BASELINE_SQL = """
WITH pruned AS (
    SELECT skill_id, day, sum(executions) AS executions, sum(successes) AS successes,
           sum(tokens_used) AS tokens_used, sum(tokens_saved) AS tokens_saved,
           sum(tokens_saved_success) AS tokens_saved_success, sum(cost_usd) AS cost_usd,
           sum(execution_time_ms) AS execution_time_ms
    FROM (
        SELECT skill_id, day, executions, successes, tokens_used, tokens_saved,
               tokens_saved_success, cost_usd, execution_time_ms
        FROM skill_usage_daily_exact
        WHERE day < %(upper)s AND (%(lower)s::date IS NULL OR day >= %(lower)s::date)
        UNION ALL
        SELECT skill_id, day, -executions, -successes, -tokens_used, -tokens_saved,
               -tokens_saved_success, -cost_usd, -execution_time_ms
        FROM skill_usage_baseline
        WHERE day < %(upper)s AND (%(lower)s::date IS NULL OR day >= %(lower)s::date)
        UNION ALL
        SELECT skill_id, skill_usage_day(executed_at), -count(*),
               -count(*) FILTER (WHERE success), -sum(tokens_used), -sum(tokens_saved),
               -coalesce(sum(tokens_saved) FILTER (WHERE success), 0), -sum(cost_usd),
               -sum(execution_time_ms)
        FROM skill_usage_logs_default
        WHERE skill_usage_day(executed_at) < %(upper)s
          AND (%(lower)s::date IS NULL OR skill_usage_day(executed_at) >= %(lower)s::date)
        GROUP BY 1, 2
    ) AS figures
    GROUP BY skill_id, day
    HAVING sum(executions) <> 0
),
recorded AS (
    INSERT INTO skill_usage_baseline AS b
        (skill_id, day, executions, successes, tokens_used, tokens_saved, tokens_saved_success,
         cost_usd, execution_time_ms)
    SELECT * FROM pruned
    ON CONFLICT (skill_id, day) DO UPDATE
    SET executions = b.executions + excluded.executions,
        successes = b.successes + excluded.successes,
        tokens_used = b.tokens_used + excluded.tokens_used,
        tokens_saved = b.tokens_saved + excluded.tokens_saved,
        tokens_saved_success = b.tokens_saved_success + excluded.tokens_saved_success,
        cost_usd = b.cost_usd + excluded.cost_usd,
        execution_time_ms = b.execution_time_ms + excluded.execution_time_ms
)
SELECT coalesce(sum(executions), 0) FROM pruned
"""


def _copy_out(connection, table: str, directory: Path) -> int:
    """Write every row of `table` to `directory`/<table>.copy (COPY binary, owner-only) and
    return how many. Restore: COPY skill_usage_logs FROM '<file>' (FORMAT binary), then
    subtract the month from skill_usage_baseline (or its statistics count twice)."""
    path = directory / f"{table}.copy"
    quoted = connection.ops.quote_name(table)
    count = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, connection.cursor() as cursor:
        with cursor.copy(f"COPY {quoted} TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                out.write(block)
        cursor.execute(f"SELECT count(*) FROM {quoted}")
        count = cursor.fetchone()[0]
    return count


# --- Versions -----------------------------------------------------------------------------------


# --- Verified months: validate's record of closed months (migration 0017) ----------------------

# The advisory lock under which a month's record is rewritten (two validates at once).
VERIFY_LOCK = 734_024


def record_verified_month(
    state, *, rules: str, key_columns: Iterable[str], started: float, using: str = "default"
) -> SkillUsageVerifiedMonth:
    """Record the closed month of `state` (a selectors.PartitionState read before this was
    called, so that a write after it shows in the counters the record keeps): its figures per
    skill and day (skill_usage_figures()) and the distinct values of its `key_columns`, read
    now, replacing its previous record. `rules` is the fingerprint of the row rules its logs
    were found to hold; `started` (time.monotonic()) when its verification began."""
    where, params = state.condition()
    columns = [connections[using].ops.quote_name(column) for column in key_columns]
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERIFY_LOCK])
        SkillUsageVerifiedMonth.objects.using(using).filter(partition=state.partition).delete()
        month = SkillUsageVerifiedMonth.objects.using(using).create(
            partition=state.partition,
            partition_oid=state.partition_oid,
            relfilenode=state.relfilenode,
            lower=state.lower,
            upper=state.upper,
            modifications=state.modifications,
            stats_reset=state.stats_reset,
            stats_restarted=state.stats_restarted,
            logs=0,
            rules=rules,
            seconds=0,
        )
        cursor.execute(
            """
            INSERT INTO skill_usage_verified_figures
                (month_id, skill_id, day, executions, successes, tokens_used, tokens_saved,
                 tokens_saved_success, cost_usd, execution_time_ms)
            SELECT %s, f.* FROM skill_usage_figures(%s, %s) AS f
            """,
            [month.pk, state.lower, state.upper],
        )
        if columns:
            # The distinct values of every referencing column in one scan (a grouping set each).
            named = " ".join(f"WHEN GROUPING({quoted}) = 0 THEN %s" for quoted in columns)
            cursor.execute(
                f"""
                INSERT INTO skill_usage_verified_keys (month_id, "column", key)
                SELECT %s, CASE {named} END, coalesce({", ".join(columns)})
                FROM skill_usage_logs
                WHERE {where}
                GROUP BY GROUPING SETS ({", ".join(f"({quoted})" for quoted in columns)})
                HAVING coalesce({", ".join(columns)}) IS NOT NULL
                """,
                [month.pk, *key_columns, *params],
            )
        cursor.execute(
            "SELECT coalesce(sum(executions), 0)::bigint FROM skill_usage_verified_figures "
            "WHERE month_id = %s",
            [month.pk],
        )
        month.logs = cursor.fetchone()[0]
        month.seconds = time.monotonic() - started
        month.save(update_fields=["logs", "seconds"])
    return month


def forget_verified_months(*, keep: Iterable[int] = (), using: str = "default") -> int:
    """Delete the records of months no longer partitions of skill_usage_logs (pruned, or
    detached) and of those whose rows broke a rule, i.e. every record whose partition is not
    among the oids `keep`; returns how many were deleted."""
    deleted, _ = (
        SkillUsageVerifiedMonth.objects.using(using).exclude(partition_oid__in=list(keep)).delete()
    )
    return deleted


def check_new_version(skill: Skill, version: str) -> None:
    """ValidationError unless `version` is a semantic version higher than every version of
    `skill` published so far (so version history only moves forward; rollback goes back)."""
    try:
        key = semver_precedence(version)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    published = list(skill.versions.values_list("version", flat=True))
    if version in published:
        raise ValidationError(f"{skill.skill_id} already has version {version}")
    newer = [v for v in published if SEMVER.match(v) and semver_precedence(v) >= key]
    if newer:
        highest = max(newer, key=semver_precedence)
        raise ValidationError(
            f"version {version} is not higher than {highest}, already published for "
            f"{skill.skill_id}; publish a higher version, or roll back to an earlier one"
        )


@transaction.atomic
def publish_version(
    skill: Skill, version: str, content: str, changelog: str | None = None, *, created_by=None
) -> SkillVersion:
    """Publish `version` of `skill`: it becomes the only current version and the skill's
    `version`; the version it replaces is marked deprecated."""
    _lock(skill)
    check_new_version(skill, version)
    now = timezone.now()
    _retire_current_version(skill, now)
    published = SkillVersion.objects.create(
        skill=skill,
        version=version,
        content=content,
        changelog=changelog,
        is_current=True,
        deployed_at=now,
        created_by=created_by,
    )
    _set_skill_version(skill, version)
    return published


@transaction.atomic
def rollback_version(skill: Skill, version: str) -> SkillVersion:
    """Make the already published `version` of `skill` current again (and the skill's
    `version`); the version it replaces is marked deprecated."""
    _lock(skill)
    try:
        target = skill.versions.get(version=version)
    except SkillVersion.DoesNotExist:
        raise ValidationError(
            f"{skill.skill_id} has no version {version} to roll back to"
        ) from None
    if target.is_current:
        return target
    now = timezone.now()
    _retire_current_version(skill, now)
    target.is_current, target.deployed_at, target.deprecated_at = True, now, None
    target.save(update_fields=["is_current", "deployed_at", "deprecated_at"])
    _set_skill_version(skill, version)
    return target


def _lock(skill: Skill) -> None:
    # Serializes version changes of one skill. NO KEY UPDATE leaves the foreign-key checks of
    # concurrent usage logs (KEY SHARE) unblocked.
    list(Skill.objects.select_for_update(no_key=True).filter(pk=skill.pk).values_list("pk"))


def _retire_current_version(skill: Skill, now) -> None:
    skill.versions.filter(is_current=True).update(is_current=False, deprecated_at=now)


def _set_skill_version(skill: Skill, version: str) -> None:
    # An UPDATE of this one column: the skill's statistics are the triggers' to write.
    Skill.objects.filter(pk=skill.pk).update(version=version)
    skill.version = version
