"""AI skills, their versions and the log of every execution. Database names and comments follow
docs/schema.md ("skills app"); the statistics columns on `skills` are kept by database triggers."""

from django.conf import settings
from django.db import models
from django.utils import formats, timezone

from core.models import (
    JSON_NOT_NULL,
    STATISTIC_NOT_NULL,
    TIME_NOT_NULL,
    UUIDPrimaryKey,
    created_at_field,
    never_null,
    timestamp_field,
)
from legalplatform.json_schema import SchemaJSONField
from skills import schemas

# A sum or an average skips a NULL without a word; an execution that saved nothing saved 0.
SUMMED_NOT_NULL = "Omitted: 0, as upstream."


def statistic(field_class, comment: str, **options):
    """A statistics column of `skills`: starts at 0, never in forms, written by the triggers."""
    return field_class(default=0, db_default=0, editable=False, db_comment=comment, **options)


def upstream_statistic(field_class, column: str, comment: str, **options):
    """One of the statistics upstream's schema had, nullable there and never NULL here."""
    return statistic(
        field_class, never_null("skills", column, STATISTIC_NOT_NULL, comment), **options
    )


class Skill(UUIDPrimaryKey):
    STATISTICS_FIELDS = frozenset(
        {
            "usage_count",
            "success_count",
            "tokens_saved_success_sum",
            "token_savings_avg",
            "effectiveness_score",
        }
    )

    skill_id = models.CharField(
        max_length=255, unique=True, db_comment="Stable identifier, e.g. legal-contract-analysis-v1"
    )
    display_name = models.CharField(max_length=255, db_comment="Human-readable skill name")
    description = models.TextField(null=True, blank=True)
    version = models.CharField(
        max_length=50, db_comment="Semantic version of the current definition"
    )
    type = models.CharField(
        max_length=100, db_comment="document_analysis, legal_research, template_generation, …"
    )
    category = models.CharField(max_length=100, db_comment="legal, administrative, automation, …")
    # Statistics, written only by the triggers on skill_usage_logs (migration 0002): three running
    # totals (usage_count, success_count, tokens_saved_success_sum) and the score and average
    # derived from them in the same UPDATE, so each log costs the same whatever the history.
    effectiveness_score = upstream_statistic(
        models.DecimalField,
        "effectiveness_score",
        "Success rate in percent (0-100), kept by trigger from skill_usage_logs",
        max_digits=5,
        decimal_places=2,
    )
    token_savings_avg = upstream_statistic(
        models.IntegerField,
        "token_savings_avg",
        "Average tokens_saved over successful executions (rounded), kept by trigger",
    )
    usage_count = upstream_statistic(
        models.IntegerField, "usage_count", "Number of executions logged, kept by trigger"
    )
    success_count = statistic(
        models.IntegerField, "Running total: executions with success = true, kept by trigger"
    )
    tokens_saved_success_sum = statistic(
        models.BigIntegerField,
        "Running total: sum of tokens_saved over successful executions, kept by trigger",
    )
    is_active = models.BooleanField(
        default=True,
        db_default=True,
        db_comment=never_null(
            "skills", "is_active", "a skill is active or not. Omitted: true, as upstream."
        ),
    )
    created_at = created_at_field(db_comment=never_null("skills", "created_at", TIME_NOT_NULL))
    updated_at = timestamp_field(
        editable=False,
        db_comment=never_null(
            "skills", "updated_at", TIME_NOT_NULL, "Kept by trigger update_skills_updated_at"
        ),
    )
    created_by = models.UUIDField(null=True, blank=True, db_comment="Id of the user who created it")
    metadata = SchemaJSONField(
        schema=schemas.SKILL_METADATA,
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("skills", "metadata", JSON_NOT_NULL),
    )

    class Meta:
        db_table = "skills"
        db_table_comment = (
            "Claude Skills: metadata, configuration and effectiveness metrics. usage_count, "
            "token_savings_avg and effectiveness_score are computed from skill_usage_logs, "
            "incrementally through the running totals success_count and tokens_saved_success_sum."
        )
        ordering = ["skill_id"]
        indexes = [
            models.Index(fields=["category"], name="idx_skills_category"),
            models.Index(fields=["type"], name="idx_skills_type"),
            models.Index(fields=["-effectiveness_score"], name="idx_skills_effectiveness"),
            models.Index(fields=["is_active"], name="idx_skills_active"),
            models.Index(fields=["-created_at"], name="idx_skills_created_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effectiveness_score__gte=0, effectiveness_score__lte=100),
                name="skills_effectiveness_score_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    success_count__gte=0, success_count__lte=models.F("usage_count")
                ),
                name="skills_success_count_range",
            ),
        ]

    def __str__(self):
        return self.skill_id

    def save(self, **kwargs):
        """Saving a loaded skill never writes its statistics back: the copy in memory may be
        older than what the triggers have counted since it was read."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.STATISTICS_FIELDS
            ]
        super().save(**kwargs)


class SkillVersion(UUIDPrimaryKey):
    skill = models.ForeignKey(
        Skill, on_delete=models.CASCADE, related_name="versions", db_column="skill_id"
    )
    version = models.CharField(max_length=50, db_comment="Semantic version number")
    content = models.TextField(db_comment="The skill definition")
    changelog = models.TextField(null=True, blank=True)
    is_current = models.BooleanField(
        default=False,
        db_default=False,
        db_comment=never_null(
            "skill_versions",
            "is_current",
            "a version is current or not. Omitted: false, as upstream.",
            "At most one current version per skill",
        ),
    )
    deployed_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field(
        db_comment=never_null("skill_versions", "created_at", TIME_NOT_NULL)
    )
    created_by = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "skill_versions"
        db_table_comment = "Version history of skills, for rollback and comparison."
        ordering = ["skill", "-created_at"]
        indexes = [
            models.Index(fields=["is_current"], name="idx_skill_versions_current"),
            models.Index(fields=["-created_at"], name="idx_skill_versions_created_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["skill", "version"], name="skill_versions_skill_version_key"
            ),
            models.UniqueConstraint(
                fields=["skill"],
                condition=models.Q(is_current=True),
                name="skill_versions_one_current_per_skill",
            ),
        ]

    def __str__(self):
        return f"{self.skill.skill_id} {self.version}"


class SkillUsageLog(UUIDPrimaryKey):
    # No index of its own (migration 0012): idx_usage_logs_skill_time and
    # idx_usage_logs_skill_user_time lead with skill_id.
    skill = models.ForeignKey(
        Skill,
        on_delete=models.CASCADE,
        related_name="usage_logs",
        db_column="skill_id",
        db_index=False,
    )
    # A real foreign key since migrations 0004/0005 (added NOT VALID, then validated); the
    # index on it is idx_usage_logs_user_time below (leading column), hence db_index=False.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="user_id",
        db_index=False,
        related_name="skill_usage_logs",
    )
    workspace_id = models.UUIDField(null=True, blank=True)
    execution_time_ms = models.IntegerField(db_comment="Duration in milliseconds")
    tokens_used = models.IntegerField(db_comment="Total tokens consumed")
    tokens_saved = models.IntegerField(
        default=0,
        db_default=0,
        db_comment=never_null(
            "skill_usage_logs",
            "tokens_saved",
            f"summed into the statistics and the daily rollup. {SUMMED_NOT_NULL}",
            "Estimated saving against a plain prompt",
        ),
    )
    cost_usd = models.DecimalField(
        max_digits=10,
        decimal_places=6,
        default=0,
        db_default=0,
        db_comment=never_null(
            "skill_usage_logs",
            "cost_usd",
            f"summed into the daily rollup. {SUMMED_NOT_NULL}",
            "Execution cost in USD",
        ),
    )
    success = models.BooleanField(
        default=True,
        db_default=True,
        db_comment=never_null(
            "skill_usage_logs",
            "success",
            "an execution succeeded or failed, and the statistics count it as one or the other "
            "(upstream's counted a NULL as a failure). Omitted: true, as upstream.",
        ),
    )
    error_message = models.TextField(null=True, blank=True)
    input_data = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("skill_usage_logs", "input_data", JSON_NOT_NULL, "Sanitized input"),
    )
    output_data = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("skill_usage_logs", "output_data", JSON_NOT_NULL),
    )
    metadata = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("skill_usage_logs", "metadata", JSON_NOT_NULL, "Context"),
    )
    executed_at = timestamp_field(
        db_comment=never_null("skill_usage_logs", "executed_at", TIME_NOT_NULL)
    )

    class Meta:
        db_table = "skill_usage_logs"
        db_table_comment = "One row per skill execution: analytics and cost tracking."
        ordering = ["-executed_at"]
        indexes = [
            # No single-column indexes on user_id and workspace_id (dropped by 0012): the
            # composite ones below lead with them.
            models.Index(fields=["-executed_at"], name="idx_usage_logs_executed_at"),
            models.Index(fields=["success"], name="idx_usage_logs_success"),
            models.Index(fields=["-cost_usd"], name="idx_usage_logs_cost"),
            models.Index(
                fields=["skill", "user_id", "-executed_at"], name="idx_usage_logs_skill_user_time"
            ),
            models.Index(
                fields=["workspace_id", "-executed_at"], name="idx_usage_logs_workspace_time"
            ),
            # A skill's logs over a period, newest first: stats selectors and the admin list
            # filtered by skill (migration 0003, built concurrently, like the next one).
            models.Index(fields=["skill", "-executed_at"], name="idx_usage_logs_skill_time"),
            # A user's latest executions: the admin usage-log search by user (also 0003).
            models.Index(fields=["user_id", "-executed_at"], name="idx_usage_logs_user_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(execution_time_ms__gte=0),
                name="skill_usage_logs_execution_time_nonnegative",
            ),
            models.CheckConstraint(
                condition=models.Q(tokens_used__gte=0),
                name="skill_usage_logs_tokens_used_nonnegative",
            ),
        ]

    def __str__(self):
        executed_at = formats.localize(timezone.localtime(self.executed_at))
        return f"{self.skill.skill_id} at {executed_at}"


class SkillUsageDaily(models.Model):
    """One skill's executions on one calendar day: the daily rollup of skill_usage_logs that the
    usage analytics read instead of the logs. Kept exact by statement-level triggers on the logs
    (migration 0006); never written by the application. No CHECK constraints: a rollup gone
    stale must not make writes to the logs fail (services.refresh_skill_usage_daily repairs it)."""

    # The calendar of `day`: the firm's, settings.TIME_ZONE (skills.checks warns if they differ).
    # Written into the SQL function skill_usage_day() of migration 0006.
    TIME_ZONE = "Europe/Bucharest"

    skill = models.ForeignKey(
        Skill,
        on_delete=models.CASCADE,
        related_name="daily_usage",
        db_column="skill_id",
        db_index=False,  # the unique (skill_id, day) serves lookups by skill
    )
    day = models.DateField(
        editable=False,
        db_comment="Calendar day of executed_at in Europe/Bucharest: skill_usage_day(executed_at)",
    )
    executions = models.BigIntegerField(editable=False, db_comment="Number of logs (always > 0)")
    successes = models.BigIntegerField(editable=False, db_comment="Logs with success = true")
    tokens_used = models.BigIntegerField(editable=False, db_comment="Sum of tokens_used")
    tokens_saved = models.BigIntegerField(editable=False, db_comment="Sum of tokens_saved")
    cost_usd = models.DecimalField(
        max_digits=18, decimal_places=6, editable=False, db_comment="Sum of cost_usd"
    )
    execution_time_ms = models.BigIntegerField(
        editable=False, db_comment="Sum of execution_time_ms (divide by executions for the mean)"
    )
    # With it a day's row holds every figure the statistics derive from (migration 0015): a
    # pruned month's baseline is read from its days' rows, never from its logs.
    tokens_saved_success = models.BigIntegerField(
        default=0,
        db_default=0,
        editable=False,
        db_comment="Sum of tokens_saved over the successful logs",
    )

    class Meta:
        db_table = "skill_usage_daily"
        db_table_comment = (
            "Daily rollup of skill_usage_logs per skill and calendar day (Europe/Bucharest), kept "
            "by statement-level triggers on the logs; read by the admin's usage analytics."
        )
        verbose_name = "daily skill usage"
        verbose_name_plural = "daily skill usage"
        ordering = ["-day", "skill"]
        indexes = [models.Index(fields=["day"], name="idx_usage_daily_day")]
        constraints = [
            # ON CONFLICT target of the triggers, and the index of one skill's days.
            models.UniqueConstraint(
                fields=["skill", "day"], name="skill_usage_daily_skill_day_key"
            ),
        ]

    def __str__(self):
        return f"{self.skill_id} on {self.day:%Y-%m-%d}"


class SkillStatistics(models.Model):
    """A skill's exact statistics: the view skill_statistics (migration 0010), the columns of
    `skills` (the folded base) plus the skill's pending skill_usage_deltas. What every reader of
    statistics reads: `skill.statistics.usage_count`, or `select_related("statistics")`."""

    skill = models.OneToOneField(
        Skill,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="id",
        related_name="statistics",
    )
    usage_count = models.BigIntegerField()
    success_count = models.BigIntegerField()
    tokens_saved_success_sum = models.BigIntegerField()
    token_savings_avg = models.IntegerField()
    effectiveness_score = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        managed = False
        db_table = "skill_statistics"
        verbose_name_plural = "skill statistics"

    def __str__(self):
        return f"statistics of {self.skill_id}"


class UsageFigures(models.Model):
    """The figures of a set of logs of one skill on one day, as skill_usage_figures() sums them
    (the exact daily rollup's, the pruned baseline's, a verified month's)."""

    executions = models.BigIntegerField()
    successes = models.BigIntegerField()
    tokens_used = models.BigIntegerField()
    tokens_saved = models.BigIntegerField()
    tokens_saved_success = models.BigIntegerField(
        db_comment="Sum of tokens_saved over the successful logs"
    )
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6)
    execution_time_ms = models.BigIntegerField()

    class Meta:
        abstract = True


class SkillUsageDailyExact(UsageFigures):
    """The exact daily rollup: the view skill_usage_daily_exact (migration 0010), the rows of
    skill_usage_daily (the folded base) plus the pending skill_usage_deltas, per skill and day.
    What the usage analytics read."""

    pk = models.CompositePrimaryKey("skill", "day")
    skill = models.ForeignKey(
        Skill, on_delete=models.DO_NOTHING, db_column="skill_id", related_name="+"
    )
    day = models.DateField()

    class Meta:
        managed = False
        db_table = "skill_usage_daily_exact"
        verbose_name = "daily skill usage (exact)"
        verbose_name_plural = "daily skill usage (exact)"

    def __str__(self):
        return f"{self.skill_id} on {self.day:%Y-%m-%d}"


class SkillUsageBaseline(UsageFigures):
    """The figures of pruned usage logs of one skill on one day, recorded by prune_usage_logs
    when it drops their month: all-time statistics and the daily rollup are this baseline plus
    the live logs (skill_usage_live_figures(), migration 0010), so pruning keeps history."""

    pk = models.CompositePrimaryKey("skill", "day")
    skill = models.ForeignKey(
        Skill,
        on_delete=models.CASCADE,  # in the database too (migration 0010), as the logs' key
        db_column="skill_id",
        db_index=False,  # the primary key (skill_id, day) serves lookups by skill
        related_name="+",
    )
    day = models.DateField(db_comment="Calendar day in Europe/Bucharest, as skill_usage_daily")

    class Meta:
        db_table = "skill_usage_baseline"
        db_table_comment = (
            "Figures of pruned usage logs per skill and day (recorded when their month was "
            "dropped): statistics and the daily rollup equal this plus the live skill_usage_logs."
        )
        verbose_name = "usage baseline of pruned months"
        verbose_name_plural = "usage baseline of pruned months"

    def __str__(self):
        return f"{self.skill_id} on {self.day:%Y-%m-%d} (pruned)"


class SkillUsagePrune(models.Model):
    """One run of `manage.py prune_usage_logs`: the months of usage logs it dropped (whole
    partitions), how many logs they held, who ran it and when, and where their backup is. Their
    figures stay in skill_usage_baseline: statistics keep the pruned history."""

    pruned_at = models.DateTimeField(default=timezone.now, db_comment="When the prune committed")
    pruned_by = models.CharField(
        max_length=150, db_comment="Who ran it: the operator's login (or --by)"
    )
    before = models.DateField(db_comment="The cut: every month before this one's was dropped")
    partitions = models.JSONField(
        default=list,
        db_default=[],
        db_comment="The partitions dropped, each with its bounds and logs",
    )
    rows = models.BigIntegerField(db_comment="Logs dropped, in all")
    backup = models.TextField(
        blank=True, default="", db_default="", db_comment="Directory of the backup ('' if none)"
    )

    class Meta:
        db_table = "skill_usage_prunes"
        db_table_comment = (
            "Each prune of skill_usage_logs: months dropped, rows, who, when, backup."
        )
        ordering = ["-pruned_at"]

    def __str__(self):
        return f"prune before {self.before:%Y-%m} at {self.pruned_at:%Y-%m-%d %H:%M}"


class SkillUsageVerifiedMonth(models.Model):
    """A closed month of usage logs (a partition of skill_usage_logs whose month is over) as
    `validate` last verified it: the partition's identity and modification counters then, its
    logs, and (SkillUsageVerifiedFigures, SkillUsageVerifiedKey) its figures per skill and day
    and the keys its logs reference. validate takes the month from here while the partition is
    unchanged (skill_usage_recorded_months(), migration 0017) and re-verifies it otherwise."""

    partition = models.CharField(max_length=63, unique=True, db_comment="The partition's name")
    partition_oid = models.BigIntegerField(db_comment="pg_class.oid of the partition")
    relfilenode = models.BigIntegerField(
        db_comment="pg_class.relfilenode then: TRUNCATE, VACUUM FULL and CLUSTER change it"
    )
    lower = models.DateTimeField(null=True, db_comment="Lower bound (NULL: MINVALUE)")
    upper = models.DateTimeField(db_comment="Upper bound, exclusive")
    modifications = models.BigIntegerField(
        db_comment="n_tup_ins + n_tup_upd + n_tup_del of the partition, read before its logs"
    )
    stats_reset = models.DateTimeField(
        null=True, db_comment="pg_stat_database.stats_reset then (pg_stat_reset and the like)"
    )
    stats_restarted = models.DateTimeField(
        null=True, db_comment="pg_stat_bgwriter.stats_reset then (statistics lost in a crash)"
    )
    logs = models.BigIntegerField(db_comment="Logs in the partition at verification")
    rules = models.CharField(
        max_length=64, db_comment="Fingerprint of the row rules every log of the month passed"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(db_comment="How long verifying the month took")

    class Meta:
        db_table = "skill_usage_verified_months"
        db_table_comment = (
            "Closed months of skill_usage_logs as validate last verified them, with the "
            "partition's identity and counters then: validate re-reads a month only when they "
            "changed."
        )
        ordering = ["lower"]

    def __str__(self):
        return f"{self.partition} verified at {self.verified_at:%Y-%m-%d %H:%M}"


class SkillUsageVerifiedFigures(UsageFigures):
    """The figures of one skill on one day in a verified month (skill_usage_figures() over the
    month's logs): what validate adds, for that month, instead of reading its logs."""

    pk = models.CompositePrimaryKey("month", "skill_id", "day")
    month = models.ForeignKey(
        SkillUsageVerifiedMonth, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    # No key to skills: a deleted skill's logs go with it, which re-verifies the month.
    skill_id = models.UUIDField()
    day = models.DateField(db_comment="Calendar day in Europe/Bucharest, as skill_usage_daily")

    class Meta:
        db_table = "skill_usage_verified_figures"
        db_table_comment = "Figures per skill and day of each month in skill_usage_verified_months."
        verbose_name_plural = "skill usage verified figures"

    def __str__(self):
        return f"{self.skill_id} on {self.day:%Y-%m-%d} (verified)"


class SkillUsageVerifiedKey(models.Model):
    """A value a verified month's logs hold in a column that references another table
    (skill_id, user_id): validate checks a recorded month's references on these few keys."""

    pk = models.CompositePrimaryKey("month", "column", "key")
    month = models.ForeignKey(
        SkillUsageVerifiedMonth, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    column = models.CharField(max_length=63, db_comment="A referencing column of the logs")
    key = models.UUIDField(db_comment="A value of that column in the month (NULLs left out)")

    class Meta:
        db_table = "skill_usage_verified_keys"
        db_table_comment = "Distinct referenced keys of each month in skill_usage_verified_months."

    def __str__(self):
        return f"{self.column} = {self.key}"
