"""A renamed skill keeps the registry types mapped to it. document_type_registry.mapped_skill_id
names a skill by its skills.skill_id, with no foreign key (upstream's schema gave it none), so
`UPDATE skills SET skill_id = …`, through the admin or with SQL, left the mapping pointing at a
skill_id that no longer exists, which validate reports (references). This row trigger follows
the rename in the same statement, as ON UPDATE CASCADE would for a key; with 0007's delete
trigger, no change to skills leaves a mapping pointing nowhere. A deliberate difference from
upstream, which kept the old skill_id.

The trigger fires only when skill_id itself changes (its column list and WHEN), so the updates
of a skill's statistics cost nothing more. Reversing drops it; mappings followed meanwhile stay
as they are.
"""

from django.db import migrations

CREATE_TRIGGER = """
-- Registry types mapped to a skill follow the skill's new skill_id.
CREATE FUNCTION follow_renamed_skill()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE document_type_registry
       SET mapped_skill_id = NEW.skill_id
     WHERE mapped_skill_id = OLD.skill_id;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION follow_renamed_skill() IS
    'AFTER UPDATE OF skill_id row trigger on skills: document_type_registry.mapped_skill_id of '
    'the old skill_id becomes the new one.';

CREATE TRIGGER follow_renamed_skill
    AFTER UPDATE OF skill_id ON skills
    FOR EACH ROW
    WHEN (OLD.skill_id IS DISTINCT FROM NEW.skill_id)
    EXECUTE FUNCTION follow_renamed_skill();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS follow_renamed_skill ON skills;
DROP FUNCTION IF EXISTS follow_renamed_skill();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0001_initial"),
        ("discovery", "0010_upstream_nullable_columns_explained"),
    ]

    operations = [
        migrations.RunSQL(CREATE_TRIGGER, DROP_TRIGGER),
    ]
