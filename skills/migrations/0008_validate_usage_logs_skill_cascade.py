"""Validates the cascading key skill_usage_logs.skill_id → skills added NOT VALID by 0007: a scan
of the logs that lets reads and writes go on (SHARE UPDATE EXCLUSIVE), so it may take minutes on
millions of logs without holding anyone up. Reversing adds it back NOT VALID, the state after
0007."""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions, validate_foreign_key


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0007_cascading_deletes_in_the_database"),
    ]

    operations = [
        migrations.RunSQL(
            validate_foreign_key("skill_usage_logs", "skill_id"),
            set_foreign_key_actions(
                "skill_usage_logs", "skill_id", "skills (id)", on_delete="CASCADE", valid=False
            ),
        ),
    ]
