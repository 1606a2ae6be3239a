"""Comments on the columns upstream's schema left nullable and this one keeps NOT NULL (all of
them have a default, so upstream's INSERTs that omit them work as they did): what each holds, why
it is never NULL, what an omitted value gets and the constraint that refuses an explicit NULL
(PostgreSQL 18 names it `{table}_{column}_not_null`); and updated_at of templates, which now
moves with their statistics (0008). COMMENT ON COLUMN only (AlterColumnComment): Django's
AlterField would also issue a no-op ALTER COLUMN … TYPE, which PostgreSQL refuses for the columns
the views read."""

import django.contrib.postgres.fields
import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

from legalplatform.db.operations import AlterColumnComment


class Migration(migrations.Migration):
    dependencies = [
        ("discovery", "0009_upstream_views"),
    ]

    operations = [
        AlterColumnComment(
            model_name="documentpattern",
            name="document_sources",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.UUIDField(),
                blank=True,
                db_comment="Never NULL (constraint document_patterns_document_sources_not_null; nullable upstream): a list whose empty value is '{}', so that @>, && and unnest need no NULL case. Omitted: '{}' (upstream: NULL).",
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        AlterColumnComment(
            model_name="documentpattern",
            name="occurrence_count",
            field=models.IntegerField(
                db_comment="Never NULL (constraint document_patterns_occurrence_count_not_null; nullable upstream): a count of sightings. Omitted: 1, the sighting that made the row, as upstream.",
                db_default=1,
                default=1,
            ),
        ),
        AlterColumnComment(
            model_name="documentpattern",
            name="used_in_templates",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.UUIDField(),
                blank=True,
                db_comment="Never NULL (constraint document_patterns_used_in_templates_not_null; nullable upstream): a list whose empty value is '{}', so that @>, && and unnest need no NULL case. Omitted: '{}' (upstream: NULL).",
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="common_clauses",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint document_type_registry_common_clauses_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="mapping_status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("auto_mapped", "Auto Mapped"),
                    ("manual_mapped", "Manual Mapped"),
                    ("template_created", "Template Created"),
                    ("queue_review", "Queue Review"),
                ],
                db_comment="Never NULL (constraint document_type_registry_mapping_status_not_null; nullable upstream): a type stands at one of the five statuses (a CHECK). Omitted: pending, as upstream.",
                db_default="pending",
                default="pending",
                max_length=50,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="sample_document_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.UUIDField(),
                blank=True,
                db_comment="3-5 example documents. Never NULL (constraint document_type_registry_sample_document_ids_not_null; nullable upstream): a list whose empty value is '{}', so that @>, && and unnest need no NULL case. Omitted: '{}' (upstream: NULL).",
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="total_occurrences",
            field=models.IntegerField(
                db_comment="Never NULL (constraint document_type_registry_total_occurrences_not_null; nullable upstream): record_discovery adds to it. Omitted: 1, the sighting that made the row, as upstream.",
                db_default=1,
                default=1,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="typical_structure",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint document_type_registry_typical_structure_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="documenttyperegistry",
            name="unique_variations",
            field=models.IntegerField(
                db_comment="Never NULL (constraint document_type_registry_unique_variations_not_null; nullable upstream): counted from document_type_variations. Omitted: 1, the sighting that made the row, as upstream.",
                db_default=1,
                default=1,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="civil_code_references",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(),
                blank=True,
                db_comment="Never NULL (constraint romanian_templates_civil_code_references_not_null; nullable upstream): a list whose empty value is '{}', so that @>, && and unnest need no NULL case. Omitted: '{}' (upstream: NULL).",
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="created_from_pattern",
            field=models.BooleanField(
                db_comment="Never NULL (constraint romanian_templates_created_from_pattern_not_null; nullable upstream): a template was made from discovered patterns or by hand. Omitted: true, as upstream.",
                db_default=True,
                default=True,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="effectiveness_score",
            field=models.DecimalField(
                db_comment="Average satisfaction / 5 × 100 (0 without ratings), kept by trigger. Never NULL (constraint romanian_templates_effectiveness_score_not_null; nullable upstream): computed by the statistics triggers. Omitted: 0, as upstream.",
                db_default=0,
                decimal_places=2,
                default=0,
                max_digits=5,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="is_active",
            field=models.BooleanField(
                db_comment="Never NULL (constraint romanian_templates_is_active_not_null; nullable upstream): a template is offered or not. Omitted: true, as upstream.",
                db_default=True,
                default=True,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="jurisdiction",
            field=models.CharField(
                db_comment="ISO country code. Never NULL (constraint romanian_templates_jurisdiction_not_null; nullable upstream): a template is written for one legal system. Omitted: RO, as upstream.",
                db_default="RO",
                default="RO",
                max_length=50,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="source_document_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.UUIDField(),
                blank=True,
                db_comment="Never NULL (constraint romanian_templates_source_document_ids_not_null; nullable upstream): a list whose empty value is '{}', so that @>, && and unnest need no NULL case. Omitted: '{}' (upstream: NULL).",
                db_default=[],
                default=list,
                size=None,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="standard_clauses",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint romanian_templates_standard_clauses_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="updated_at",
            field=models.DateTimeField(
                db_comment="Last change, its usage statistics included (as upstream), kept by trigger update_templates_updated_at",
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="usage_count",
            field=models.IntegerField(
                db_comment="Number of usage logs, kept by trigger. Never NULL (constraint romanian_templates_usage_count_not_null; nullable upstream): computed by the statistics triggers. Omitted: 0, as upstream.",
                db_default=0,
                default=0,
            ),
        ),
        AlterColumnComment(
            model_name="romaniantemplate",
            name="variable_mappings",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint romanian_templates_variable_mappings_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
        AlterColumnComment(
            model_name="templateusagelog",
            name="manual_edits_count",
            field=models.IntegerField(
                db_comment="Never NULL (constraint template_usage_logs_manual_edits_count_not_null; nullable upstream): a count of edits after generation, none until one is made. Omitted: 0, as upstream.",
                db_default=0,
                default=0,
            ),
        ),
        AlterColumnComment(
            model_name="templateusagelog",
            name="metadata",
            field=models.JSONField(
                blank=True,
                db_comment="Never NULL (constraint template_usage_logs_metadata_not_null; nullable upstream): free-form JSON whose empty value is {}. Omitted: {}, as upstream.",
                db_default={},
                default=dict,
            ),
        ),
    ]
