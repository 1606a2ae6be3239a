"""documents.firm_id: the firm of the document's case, kept by the database, so that a firm's
semantic search (cases.selectors.similar_documents) filters the documents table alone. Checking
the firm through cases cost a lookup or an array search per HNSW index tuple, and reading a
small firm's documents went through all of the firm's cases (bench/search.py, docs/search.md).

The column is added nullable, filled from cases, then made NOT NULL. On a large table the fill
rewrites every document row and so inserts each again into the HNSW index: minutes per 100,000
documents."""

import django.db.models.deletion
from django.db import migrations, models

CREATE_TRIGGERS = """
-- A document's firm is its case's firm: set on every INSERT (rows from Django, COPY or SQL
-- alike) and whenever case_id or firm_id is written, so it can neither be chosen nor drift.
CREATE FUNCTION documents_firm_from_case()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    SELECT cases.firm_id INTO NEW.firm_id FROM cases WHERE cases.id = NEW.case_id;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION documents_firm_from_case() IS
    'BEFORE INSERT/UPDATE trigger function: sets documents.firm_id from the case.';

CREATE TRIGGER documents_firm_from_case
    BEFORE INSERT OR UPDATE OF case_id, firm_id ON documents
    FOR EACH ROW
    EXECUTE FUNCTION documents_firm_from_case();

-- A case moved to another firm takes its documents along.
CREATE FUNCTION cases_firm_to_documents()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE documents SET firm_id = NEW.firm_id WHERE documents.case_id = NEW.id;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION cases_firm_to_documents() IS
    'AFTER UPDATE trigger function: copies a case''s new firm_id to its documents.';

CREATE TRIGGER cases_firm_to_documents
    AFTER UPDATE OF firm_id ON cases
    FOR EACH ROW
    WHEN (OLD.firm_id IS DISTINCT FROM NEW.firm_id)
    EXECUTE FUNCTION cases_firm_to_documents();

-- The documents that exist already.
UPDATE documents
SET firm_id = cases.firm_id
FROM cases
WHERE cases.id = documents.case_id;
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS cases_firm_to_documents ON cases;
DROP FUNCTION IF EXISTS cases_firm_to_documents();
DROP TRIGGER IF EXISTS documents_firm_from_case ON documents;
DROP FUNCTION IF EXISTS documents_firm_from_case();
"""


def firm_field(*, null: bool) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        null=null,
        db_comment="The firm of the case (set by the database from cases.firm_id)",
        db_default=None,
        editable=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="documents",
        to="cases.firm",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_role_groups"),
    ]

    operations = [
        migrations.AddField(model_name="document", name="firm", field=firm_field(null=True)),
        migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS),
        migrations.AlterField(model_name="document", name="firm", field=firm_field(null=False)),
    ]
