"""The template statistics trigger moves the template's updated_at, as upstream's did: its UPDATE
of romanian_templates fired update_templates_updated_at, which 0003 limited to top-level
statements (`WHEN (pg_trigger_depth() = 0)`) so that a use of a template would not count as an
edit. Upstream's clients read updated_at as "last changed, uses included"; the trigger now fires
at every depth again: each statement on template_usage_logs moves updated_at of the templates
whose statistics it changes (one PL/pgSQL call per template and statement). Reversing restores
0003's trigger.
"""

from django.db import migrations

TRIGGER_AT_EVERY_DEPTH = """
DROP TRIGGER update_templates_updated_at ON romanian_templates;

-- romanian_templates.updated_at: the time of the last change, its statistics included (the
-- triggers on template_usage_logs update them at depth 1). update_updated_at_column() is shared.
CREATE TRIGGER update_templates_updated_at
    BEFORE UPDATE ON romanian_templates
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();
"""
TRIGGER_AT_TOP_LEVEL_ONLY = """
DROP TRIGGER update_templates_updated_at ON romanian_templates;

CREATE TRIGGER update_templates_updated_at
    BEFORE UPDATE ON romanian_templates
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0)
    EXECUTE FUNCTION update_updated_at_column();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0007_references_to_deleted_skills_and_templates"),
    ]

    operations = [
        migrations.RunSQL(TRIGGER_AT_EVERY_DEPTH, TRIGGER_AT_TOP_LEVEL_ONLY),
    ]
