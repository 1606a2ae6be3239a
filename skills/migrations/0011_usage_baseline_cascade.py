"""Deleting a skill with SQL deletes its baseline of pruned months too, as it deletes its logs
and its rollup (0007). A separate migration: Django creates the key of 0010 at that migration's
end. The table is new and empty, so the key is validated at once. Reversing gives back Django's
key (NO ACTION)."""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0010_usage_deltas_folded_later"),
    ]

    operations = [
        migrations.RunSQL(
            set_foreign_key_actions(
                "skill_usage_baseline", "skill_id", "skills (id)", on_delete="CASCADE"
            ),
            set_foreign_key_actions("skill_usage_baseline", "skill_id", "skills (id)"),
        ),
    ]
