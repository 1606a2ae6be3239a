"""The foreign key skill_usage_logs.user_id → users(id) ON DELETE SET NULL, step 1 of 2: added
NOT VALID, so that the large table is never locked for long.

`ADD CONSTRAINT … NOT VALID` checks new and updated rows from now on but skips the existing
ones, so it holds its lock (SHARE ROW EXCLUSIVE on both tables, which blocks writes) only for a
catalog change. lock_timeout makes it give up after a few seconds instead of queueing every
writer behind a long transaction that holds a conflicting lock; run it again later in that case.
Migration 0005 validates the existing rows without blocking writes.

Django's state becomes the ForeignKey of the model (`user`, column user_id), while the database
gets exactly the SQL below: SeparateDatabaseAndState.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ADD_FOREIGN_KEY_NOT_VALID = """
-- Give up rather than block writers for long while waiting for the lock.
SET LOCAL lock_timeout = '5s';

ALTER TABLE skill_usage_logs
    ADD CONSTRAINT skill_usage_logs_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
    NOT VALID;
"""
DROP_FOREIGN_KEY = """
SET LOCAL lock_timeout = '5s';
ALTER TABLE skill_usage_logs DROP CONSTRAINT IF EXISTS skill_usage_logs_user_id_fkey;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0003_usage_logs_skill_time_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(ADD_FOREIGN_KEY_NOT_VALID, DROP_FOREIGN_KEY),
            ],
            state_operations=[
                # Same column (user_id, uuid, nullable), now the foreign key `user`.
                migrations.RemoveField(model_name="skillusagelog", name="user_id"),
                migrations.AddField(
                    model_name="skillusagelog",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="user_id",
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="skill_usage_logs",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
