"""Schema for exact, O(1) statistics and fuzzy lookup: the spellings table behind
`unique_variations` (with its composite foreign key to the registry), running totals for the
average document length and the template effectiveness score, and GIN trigram indexes on the
registry's names for find_similar_types()."""

import uuid

import django.contrib.postgres.functions
import django.contrib.postgres.indexes
import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

ADD_VARIATIONS_FOREIGN_KEY = """
-- A spelling belongs to the registry row with the same natural key (normalized type, language).
-- Django cannot express a composite foreign key, hence SQL. Not deferrable, yet checked at the end
-- of each statement: record_discovery inserts the spelling before the registry row it needs, in
-- one statement. Renaming a type's key carries its spellings along; deleting the type drops them.
ALTER TABLE document_type_variations
    ADD CONSTRAINT document_type_variations_registry_fkey
    FOREIGN KEY (discovered_type_normalized, primary_language)
    REFERENCES document_type_registry (discovered_type_normalized, primary_language)
    ON UPDATE CASCADE
    ON DELETE CASCADE;
"""
DROP_VARIATIONS_FOREIGN_KEY = """
ALTER TABLE document_type_variations DROP CONSTRAINT document_type_variations_registry_fkey;
"""

BACKFILL_RUNNING_TOTALS = """
-- Rows that existed before these columns: each type's original name is its first spelling, and
-- the stored average length stands for every occurrence seen so far.
INSERT INTO document_type_variations (discovered_type_normalized, primary_language, variation,
                                      first_seen_date)
SELECT discovered_type_normalized, primary_language, discovered_type_original, first_seen_date
  FROM document_type_registry
    ON CONFLICT DO NOTHING;

UPDATE document_type_registry
   SET document_length_count = total_occurrences,
       document_length_sum = avg_document_length::bigint * total_occurrences
 WHERE avg_document_length IS NOT NULL
   AND total_occurrences > 0;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DocumentTypeVariation",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        db_default=django.contrib.postgres.functions.RandomUUID(),
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("discovered_type_normalized", models.CharField(max_length=255)),
                (
                    "primary_language",
                    models.CharField(
                        choices=[("ro", "Romanian"), ("en", "English"), ("mixed", "Mixed")],
                        max_length=10,
                    ),
                ),
                (
                    "variation",
                    models.CharField(
                        db_comment="The name as found, spacing collapsed; case and accents kept",
                        max_length=500,
                    ),
                ),
                (
                    "first_seen_date",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        default=django.utils.timezone.now,
                    ),
                ),
            ],
            options={
                "db_table": "document_type_variations",
                "db_table_comment": "Distinct spellings of each discovered type; document_type_registry.unique_variations counts them.",
                "ordering": ["first_seen_date"],
            },
        ),
        migrations.AddField(
            model_name="documenttyperegistry",
            name="document_length_count",
            field=models.IntegerField(
                db_comment="How many sightings reported a length (running average denominator)",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        migrations.AddField(
            model_name="documenttyperegistry",
            name="document_length_sum",
            field=models.BigIntegerField(
                db_comment="Sum of the lengths reported to record_discovery (running average numerator)",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        migrations.AddField(
            model_name="romaniantemplate",
            name="rated_count",
            field=models.IntegerField(
                db_comment="Usage logs with a satisfaction score, kept by trigger",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        migrations.AddField(
            model_name="romaniantemplate",
            name="satisfaction_sum",
            field=models.BigIntegerField(
                db_comment="Sum of the satisfaction scores of the usage logs, kept by trigger",
                db_default=0,
                default=0,
                editable=False,
            ),
        ),
        migrations.AlterField(
            model_name="documenttyperegistry",
            name="avg_document_length",
            field=models.IntegerField(
                blank=True,
                db_comment="document_length_sum / document_length_count, rounded",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="romaniantemplate",
            name="updated_at",
            field=models.DateTimeField(
                db_comment="Last edit, kept by trigger update_templates_updated_at; the usage statistics kept by triggers do not move it",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        migrations.AlterField(
            model_name="romaniantemplate",
            name="usage_count",
            field=models.IntegerField(
                db_comment="Number of usage logs, kept by trigger", db_default=0, default=0
            ),
        ),
        migrations.AddIndex(
            model_name="documenttyperegistry",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["discovered_type_original"],
                name="idx_registry_original_trgm",
                opclasses=["gin_trgm_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="documenttyperegistry",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["discovered_type_normalized"],
                name="idx_registry_normalized_trgm",
                opclasses=["gin_trgm_ops"],
            ),
        ),
        migrations.AddConstraint(
            model_name="documenttypevariation",
            constraint=models.UniqueConstraint(
                fields=("discovered_type_normalized", "primary_language", "variation"),
                name="document_type_variations_key",
            ),
        ),
        migrations.RunSQL(ADD_VARIATIONS_FOREIGN_KEY, DROP_VARIATIONS_FOREIGN_KEY),
        # Going back, the new columns and table are dropped: nothing to undo.
        migrations.RunSQL(BACKFILL_RUNNING_TOTALS, migrations.RunSQL.noop),
    ]
