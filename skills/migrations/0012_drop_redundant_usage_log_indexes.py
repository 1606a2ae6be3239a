"""Drops the three single-column indexes of skill_usage_logs that composite indexes with the same
leading column already serve: skill_id (idx_usage_logs_skill_time, idx_usage_logs_skill_user_
time), user_id (idx_usage_logs_user_time) and workspace_id (idx_usage_logs_workspace_time). Any
lookup, join or cascade on the column alone uses the composite index's leading column as well;
every log written maintains three index entries fewer (bench/usage_ingest.py: bytes per row and
inserts per second, docs/performance.md).

DROP INDEX CONCURRENTLY (no lock that blocks reads or writes), outside a transaction, hence a
non-atomic migration; IF EXISTS, so a run interrupted between two drops can be run again.
Reversing builds them again, concurrently (minutes on millions of logs; the statement timeout is
lifted meanwhile). The skill_id index was Django's own for the foreign key: the model now says
db_index=False, and SeparateDatabaseAndState keeps Django's state in step.
"""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models

# Session-level on purpose: with atomic = False there is no transaction for SET LOCAL.
LIFT_STATEMENT_TIMEOUT = "SET statement_timeout = 0;"
RESTORE_STATEMENT_TIMEOUT = "RESET statement_timeout;"
SKILL_INDEX = "skill_usage_logs_skill_id_439896fb"  # Django's name for the key's index (0001)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("skills", "0011_usage_baseline_cascade"),
    ]

    operations = [
        migrations.RunSQL(LIFT_STATEMENT_TIMEOUT, RESTORE_STATEMENT_TIMEOUT),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {SKILL_INDEX};",
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SKILL_INDEX} "
                    "ON skill_usage_logs (skill_id);",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="skillusagelog",
                    name="skill",
                    field=models.ForeignKey(
                        db_column="skill_id",
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="usage_logs",
                        to="skills.skill",
                    ),
                ),
            ],
        ),
        RemoveIndexConcurrently(model_name="skillusagelog", name="idx_usage_logs_user"),
        RemoveIndexConcurrently(model_name="skillusagelog", name="idx_usage_logs_workspace"),
        migrations.RunSQL(RESTORE_STATEMENT_TIMEOUT, LIFT_STATEMENT_TIMEOUT),
    ]
