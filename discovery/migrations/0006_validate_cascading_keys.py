"""Validates the cascading keys added NOT VALID by 0005: scans that let reads and writes go on
(SHARE UPDATE EXCLUSIVE), so they may take minutes on millions of rows without holding anyone up.
Reversing adds them back NOT VALID, the state after 0005."""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions, validate_foreign_key

KEYS = [
    ("document_type_instances", "registry_id", "document_type_registry (id)"),
    ("template_usage_logs", "template_id", "romanian_templates (id)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0005_cascading_deletes_in_the_database"),
    ]

    operations = [
        migrations.RunSQL(
            validate_foreign_key(table, column),
            set_foreign_key_actions(table, column, target, on_delete="CASCADE", valid=False),
        )
        for table, column, target in KEYS
    ]
