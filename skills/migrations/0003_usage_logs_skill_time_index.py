"""Indexes of skill_usage_logs by skill and by user, newest first, built without blocking writes:
CREATE INDEX CONCURRENTLY, which cannot run in a transaction, hence a non-atomic migration holding
nothing else.

The indexes serve queries the platform runs all the time: one skill's logs over a period,
newest first (`skills.selectors.skill_usage_stats`, the admin usage-log list filtered by skill),
and one user's latest executions (the admin usage-log search by user). Without them PostgreSQL
walks the executed_at index from the newest log and filters, which reads most of the table when
the skill's or user's logs are old.
A concurrent build scans the table twice and may take minutes on millions of logs, so the
connection's statement_timeout is lifted around it and restored after. If the build fails
(or is interrupted), PostgreSQL leaves an INVALID index behind: drop it
(e.g. `DROP INDEX CONCURRENTLY idx_usage_logs_skill_time;`) and run the migration again.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# Session-level on purpose: with atomic = False there is no transaction for SET LOCAL.
LIFT_STATEMENT_TIMEOUT = "SET statement_timeout = 0;"
RESTORE_STATEMENT_TIMEOUT = "RESET statement_timeout;"  # back to the connection's own setting


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("skills", "0002_statistics_triggers"),
    ]

    operations = [
        migrations.RunSQL(LIFT_STATEMENT_TIMEOUT, RESTORE_STATEMENT_TIMEOUT),
        AddIndexConcurrently(
            model_name="skillusagelog",
            index=models.Index(fields=["skill", "-executed_at"], name="idx_usage_logs_skill_time"),
        ),
        AddIndexConcurrently(
            model_name="skillusagelog",
            index=models.Index(fields=["user_id", "-executed_at"], name="idx_usage_logs_user_time"),
        ),
        migrations.RunSQL(RESTORE_STATEMENT_TIMEOUT, LIFT_STATEMENT_TIMEOUT),
    ]
