"""Deleting a skill with SQL deletes what belongs to it, as upstream's schema said: its versions and
its usage logs are ON DELETE CASCADE in the database (docs/schema.md, "Foreign-key actions"), and
so is its daily rollup, which upstream did not have. They were Django's keys, with no action in the
database, so `DELETE FROM skills WHERE …` from psql or another service failed. The ORM's
deletion (Django collecting and deleting the same rows) is unchanged.

skill_usage_logs is the large table: its key is added NOT VALID here (new rows checked at once,
no scan under a lock that blocks writes) and validated by 0008. The two small ones are validated
here. The triggers of 0002 and 0006 keep the statistics and the rollup exact through the
cascade: the logs' DELETE trigger finds its skill already gone and its rollup rows too.

Reversing gives back Django's keys (NO ACTION), validated.
"""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions

CASCADES = [
    # (table, NOT VALID?)
    ("skill_versions", False),
    ("skill_usage_logs", True),
    ("skill_usage_daily", False),
]


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0006_usage_daily_rollup"),
    ]

    operations = [
        migrations.RunSQL(
            set_foreign_key_actions(
                table, "skill_id", "skills (id)", on_delete="CASCADE", valid=not large
            ),
            set_foreign_key_actions(table, "skill_id", "skills (id)"),
        )
        for table, large in CASCADES
    ]
