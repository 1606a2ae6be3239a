"""A deleted skill or template leaves nothing pointing at it. Upstream's schema gave three of its
references no foreign key (docs/schema.md, "Foreign-key actions"): document_type_registry.
mapped_skill_id (a skills.skill_id), document_type_registry.mapped_template_id and
document_patterns.used_in_templates (template ids). A delete, through the ORM or with SQL, left
them pointing nowhere, and validate reports such rows (references); a cascaded delete of a skill
or template then failed validate. These statement triggers clear them in the same statement, as
ON DELETE SET NULL would for a key: the mapping becomes NULL (its mapping_status, a reviewer's
decision, is left as it was), the id leaves the array. A deliberate difference from upstream,
which kept the dangling ids.

Reversing drops the triggers; references cleared meanwhile stay cleared.
"""

from django.db import migrations

CREATE_TRIGGERS = """
-- Registry types mapped to a deleted skill are mapped to no skill.
CREATE FUNCTION clear_references_to_deleted_skills()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE document_type_registry AS r
       SET mapped_skill_id = NULL
      FROM deleted_skills AS s
     WHERE r.mapped_skill_id = s.skill_id;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION clear_references_to_deleted_skills() IS
    'AFTER DELETE statement trigger on skills: document_type_registry.mapped_skill_id of the '
    'deleted skills becomes NULL.';

CREATE TRIGGER clear_references_to_deleted_skills
    AFTER DELETE ON skills
    REFERENCING OLD TABLE AS deleted_skills
    FOR EACH STATEMENT
    EXECUTE FUNCTION clear_references_to_deleted_skills();

-- Registry types mapped to a deleted template are mapped to no template, and patterns no longer
-- list it among the templates they are used in (the others keep their order).
CREATE FUNCTION clear_references_to_deleted_templates()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    deleted uuid[] := ARRAY(SELECT id FROM deleted_templates);
BEGIN
    UPDATE document_type_registry
       SET mapped_template_id = NULL
     WHERE mapped_template_id = ANY (deleted);

    UPDATE document_patterns AS p
       SET used_in_templates = ARRAY(
               SELECT u.template_id
                 FROM unnest(p.used_in_templates) WITH ORDINALITY AS u (template_id, position)
                WHERE u.template_id <> ALL (deleted)
                ORDER BY u.position)
     WHERE p.used_in_templates && deleted;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION clear_references_to_deleted_templates() IS
    'AFTER DELETE statement trigger on romanian_templates: document_type_registry.'
    'mapped_template_id of the deleted templates becomes NULL and their ids leave '
    'document_patterns.used_in_templates.';

CREATE TRIGGER clear_references_to_deleted_templates
    AFTER DELETE ON romanian_templates
    REFERENCING OLD TABLE AS deleted_templates
    FOR EACH STATEMENT
    EXECUTE FUNCTION clear_references_to_deleted_templates();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS clear_references_to_deleted_templates ON romanian_templates;
DROP FUNCTION IF EXISTS clear_references_to_deleted_templates();
DROP TRIGGER IF EXISTS clear_references_to_deleted_skills ON skills;
DROP FUNCTION IF EXISTS clear_references_to_deleted_skills();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0001_initial"),
        ("discovery", "0006_validate_cascading_keys"),
    ]

    operations = [
        migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS),
    ]
