"""Deleting a discovered type or a template with SQL deletes what belongs to it, as upstream's
schema said: document_type_instances → document_type_registry and template_usage_logs →
romanian_templates are ON DELETE CASCADE in the database (docs/schema.md, "Foreign-key actions").
They were Django's keys, with no action in the database, so `DELETE FROM romanian_templates
WHERE …` from psql or another service failed. The ORM's deletion is unchanged, and so are the
keys upstream gave no action (templates and patterns → registry: a type they use cannot be
deleted, in either schema).

Both tables grow with every import and every use, so the keys are added NOT VALID here (new rows
checked at once, no scan under a lock that blocks writes) and validated by 0006. The statistics
triggers of 0003 find a cascaded log's template already gone and have nothing to update.

Reversing gives back Django's keys (NO ACTION), validated.
"""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions

CASCADES = [
    # (table, column, references)
    ("document_type_instances", "registry_id", "document_type_registry (id)"),
    ("template_usage_logs", "template_id", "romanian_templates (id)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0004_reporting_views"),
    ]

    operations = [
        migrations.RunSQL(
            set_foreign_key_actions(table, column, target, on_delete="CASCADE", valid=False),
            set_foreign_key_actions(table, column, target),
        )
        for table, column, target in CASCADES
    ]
