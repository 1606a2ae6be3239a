"""Comments on the columns upstream's schema left nullable and this one keeps NOT NULL (all of
them have a default, so upstream's INSERTs that omit them work as they did): what each holds, why
it is never NULL, what an omitted value gets and the constraint that refuses an explicit NULL
(PostgreSQL 18 names it `{table}_{column}_not_null`). COMMENT ON COLUMN only (AlterColumnComment):
Django's AlterField would also issue a no-op ALTER COLUMN … TYPE under an ACCESS EXCLUSIVE lock."""

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

from legalplatform.db.operations import AlterColumnComment


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0008_validate_usage_logs_skill_cascade"),
    ]

    operations = [
        AlterColumnComment(
            model_name="skill",
            name="created_at",
            field=models.DateTimeField(
                db_comment="Never NULL (constraint skills_created_at_not_null; nullable upstream): every row has the time it was written. Omitted: statement_timestamp(), the time of the statement (upstream: CURRENT_TIMESTAMP, of the transaction; the same in autocommit).",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="effectiveness_score",
            field=models.DecimalField(
                db_comment="Success rate in percent (0-100), kept by trigger from skill_usage_logs. Never NULL (constraint skills_effectiveness_score_not_null; nullable upstream): computed by the statistics triggers. Omitted: 0, as upstream.",
                db_default=0,
                decimal_places=2,
                default=0,
                editable=False,
                max_digits=5,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="is_active",
            field=models.BooleanField(
                db_comment="Never NULL (constraint skills_is_active_not_null; nullable upstream): a skill is active or not. Omitted: true, as upstream.",
                db_default=True,
                default=True,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="metadata",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint skills_metadata_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="token_savings_avg",
            field=models.IntegerField(
                db_comment="Average tokens_saved over successful executions (rounded), kept by trigger. Never NULL (constraint skills_token_savings_avg_not_null; nullable upstream): computed by the statistics triggers. Omitted: 0, as upstream.",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="updated_at",
            field=models.DateTimeField(
                db_comment="Kept by trigger update_skills_updated_at. Never NULL (constraint skills_updated_at_not_null; nullable upstream): every row has the time it was written. Omitted: statement_timestamp(), the time of the statement (upstream: CURRENT_TIMESTAMP, of the transaction; the same in autocommit).",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="skill",
            name="usage_count",
            field=models.IntegerField(
                db_comment="Number of executions logged, kept by trigger. Never NULL (constraint skills_usage_count_not_null; nullable upstream): computed by the statistics triggers. Omitted: 0, as upstream.",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="cost_usd",
            field=models.DecimalField(
                db_comment="Execution cost in USD. Never NULL (constraint skill_usage_logs_cost_usd_not_null; nullable upstream): summed into the daily rollup. Omitted: 0, as upstream.",
                db_default=0,
                decimal_places=6,
                default=0,
                max_digits=10,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="executed_at",
            field=models.DateTimeField(
                db_comment="Never NULL (constraint skill_usage_logs_executed_at_not_null; nullable upstream): every row has the time it was written. Omitted: statement_timestamp(), the time of the statement (upstream: CURRENT_TIMESTAMP, of the transaction; the same in autocommit).",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="input_data",
            field=models.JSONField(
                blank=True,
                db_comment="Sanitized input. Never NULL (constraint skill_usage_logs_input_data_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="metadata",
            field=models.JSONField(
                blank=True,
                db_comment="Context. Never NULL (constraint skill_usage_logs_metadata_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="output_data",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint skill_usage_logs_output_data_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="success",
            field=models.BooleanField(
                db_comment="Never NULL (constraint skill_usage_logs_success_not_null; nullable upstream): an execution succeeded or failed, and the statistics count it as one or the other (upstream's counted a NULL as a failure). Omitted: true, as upstream.",
                db_default=True,
                default=True,
            ),
        ),
        AlterColumnComment(
            model_name="skillusagelog",
            name="tokens_saved",
            field=models.IntegerField(
                db_comment="Estimated saving against a plain prompt. Never NULL (constraint skill_usage_logs_tokens_saved_not_null; nullable upstream): summed into the statistics and the daily rollup. Omitted: 0, as upstream.",
                db_default=0,
                default=0,
            ),
        ),
        AlterColumnComment(
            model_name="skillversion",
            name="created_at",
            field=models.DateTimeField(
                db_comment="Never NULL (constraint skill_versions_created_at_not_null; nullable upstream): every row has the time it was written. Omitted: statement_timestamp(), the time of the statement (upstream: CURRENT_TIMESTAMP, of the transaction; the same in autocommit).",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="skillversion",
            name="is_current",
            field=models.BooleanField(
                db_comment="At most one current version per skill. Never NULL (constraint skill_versions_is_current_not_null; nullable upstream): a version is current or not. Omitted: false, as upstream.",
                db_default=False,
                default=False,
            ),
        ),
    ]
