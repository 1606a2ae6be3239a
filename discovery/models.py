"""Document-type discovery from legacy imports: the registry of types seen, where each was seen,
Romanian templates made from them, recurring patterns, and template usage. Database names follow
docs/schema.md ("discovery app"); the last three models are read-only views over them."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from core.models import (
    ARRAY_NOT_NULL,
    JSON_NOT_NULL,
    STATISTIC_NOT_NULL,
    UUIDPrimaryKey,
    created_at_field,
    enum_check,
    never_null,
    timestamp_field,
)
from discovery import schemas
from legalplatform.json_schema import SchemaJSONField

# A count that starts with the sighting that created the row.
FIRST = "Omitted: 1, the sighting that made the row, as upstream."


def unit_interval_check(field: str, table: str) -> models.CheckConstraint:
    """A score between 0 and 1 (or unknown)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True})
        | models.Q(**{f"{field}__gte": 0, f"{field}__lte": 1}),
        name=f"{table}_{field}_range",
    )


def running_total(field_class: type[models.Field], comment: str) -> models.Field:
    """A count or sum kept by the database (an upsert or a trigger), from 0; never edited."""
    return field_class(default=0, db_default=0, editable=False, db_comment=comment)


def score_field(**kwargs):
    return models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True, **kwargs)


class MappingStatus(models.TextChoices):
    PENDING = "pending"
    AUTO_MAPPED = "auto_mapped"
    MANUAL_MAPPED = "manual_mapped"
    TEMPLATE_CREATED = "template_created"
    QUEUE_REVIEW = "queue_review"


class Language(models.TextChoices):
    ROMANIAN = "ro"
    ENGLISH = "en"
    MIXED = "mixed"


class DocumentTypeRegistry(UUIDPrimaryKey):
    discovered_type_original = models.CharField(
        max_length=500, db_comment='As found, e.g. "Contract de Vânzare-Cumpărare"'
    )
    discovered_type_normalized = models.CharField(
        max_length=255, db_comment="Lower case, diacritics folded, e.g. contract_vanzare_cumparare"
    )
    discovered_type_english = models.CharField(max_length=500, null=True, blank=True)
    primary_language = models.CharField(max_length=10, choices=Language)
    document_category = models.CharField(
        max_length=100, null=True, blank=True, db_comment="contract, notice, filing, correspondence"
    )
    mapped_skill_id = models.CharField(
        max_length=100, null=True, blank=True, db_comment="A skills.skill_id"
    )
    mapped_template_id = models.UUIDField(null=True, blank=True)
    mapping_confidence = score_field()
    mapping_status = models.CharField(
        max_length=50,
        choices=MappingStatus,
        default=MappingStatus.PENDING,
        db_default=MappingStatus.PENDING,
        db_comment=never_null(
            "document_type_registry",
            "mapping_status",
            "a type stands at one of the five statuses (a CHECK). Omitted: pending, as upstream.",
        ),
    )
    first_seen_date = timestamp_field()
    last_seen_date = timestamp_field()
    total_occurrences = models.IntegerField(
        default=1,
        db_default=1,
        db_comment=never_null(
            "document_type_registry", "total_occurrences", f"record_discovery adds to it. {FIRST}"
        ),
    )
    unique_variations = models.IntegerField(
        default=1,
        db_default=1,
        db_comment=never_null(
            "document_type_registry",
            "unique_variations",
            f"counted from document_type_variations. {FIRST}",
        ),
    )
    avg_document_length = models.IntegerField(
        null=True, blank=True, db_comment="document_length_sum / document_length_count, rounded"
    )
    document_length_sum = running_total(
        models.BigIntegerField,
        "Sum of the lengths reported to record_discovery (running average numerator)",
    )
    document_length_count = running_total(
        models.IntegerField,
        "How many sightings reported a length (running average denominator)",
    )
    frequency_score = score_field()
    complexity_score = score_field()
    business_value_score = score_field()
    priority_score = score_field()
    sample_document_ids = ArrayField(
        models.UUIDField(),
        default=list,
        db_default=[],
        blank=True,
        db_comment=never_null(
            "document_type_registry",
            "sample_document_ids",
            ARRAY_NOT_NULL,
            "3-5 example documents",
        ),
    )
    common_clauses = SchemaJSONField(
        schema=schemas.COMMON_CLAUSES,
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("document_type_registry", "common_clauses", JSON_NOT_NULL),
    )
    typical_structure = SchemaJSONField(
        schema=schemas.TYPICAL_STRUCTURE,
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("document_type_registry", "typical_structure", JSON_NOT_NULL),
    )
    created_at = created_at_field()
    updated_at = timestamp_field(
        editable=False, db_comment="Kept by trigger update_registry_updated_at"
    )
    reviewed_by = models.CharField(max_length=255, null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "document_type_registry"
        db_table_comment = (
            "Document types discovered in imported documents, with mapping and priority."
        )
        verbose_name = "document type"
        ordering = ["-priority_score", "-total_occurrences"]
        indexes = [
            models.Index(fields=["discovered_type_normalized"], name="idx_registry_normalized"),
            models.Index(fields=["mapping_status"], name="idx_registry_status"),
            models.Index(fields=["-priority_score"], name="idx_registry_priority"),
            models.Index(fields=["-total_occurrences"], name="idx_registry_occurrences"),
            models.Index(fields=["primary_language"], name="idx_registry_language"),
            models.Index(fields=["document_category"], name="idx_registry_category"),
            models.Index(fields=["-first_seen_date"], name="idx_registry_first_seen"),
            models.Index(fields=["-last_seen_date"], name="idx_registry_last_seen"),
            models.Index(
                fields=["mapping_status", "-priority_score"], name="idx_registry_status_priority"
            ),
            # Fuzzy matching of new spellings (find_similar_types): trigram similarity (%).
            GinIndex(
                fields=["discovered_type_original"],
                opclasses=["gin_trgm_ops"],
                name="idx_registry_original_trgm",
            ),
            GinIndex(
                fields=["discovered_type_normalized"],
                opclasses=["gin_trgm_ops"],
                name="idx_registry_normalized_trgm",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["discovered_type_normalized", "primary_language"],
                name="document_type_registry_normalized_language_key",
            ),
            enum_check("mapping_status", MappingStatus, "document_type_registry"),
            enum_check("primary_language", Language, "document_type_registry"),
            *(
                unit_interval_check(field, "document_type_registry")
                for field in (
                    "mapping_confidence",
                    "frequency_score",
                    "complexity_score",
                    "business_value_score",
                    "priority_score",
                )
            ),
        ]

    def __str__(self):
        return self.discovered_type_original


class DocumentTypeVariation(UUIDPrimaryKey):
    """One spelling under which a discovered type was found: `unique_variations` counts them.

    Keyed by the registry's natural key, (normalized type, language), with a composite foreign
    key (added by migration, cascading) so that record_discovery can record the spelling before
    the registry row exists, in the same statement.
    """

    discovered_type_normalized = models.CharField(max_length=255)
    primary_language = models.CharField(max_length=10, choices=Language)
    variation = models.CharField(
        max_length=500, db_comment="The name as found, spacing collapsed; case and accents kept"
    )
    first_seen_date = timestamp_field()

    class Meta:
        db_table = "document_type_variations"
        db_table_comment = (
            "Distinct spellings of each discovered type; document_type_registry.unique_variations "
            "counts them."
        )
        ordering = ["first_seen_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["discovered_type_normalized", "primary_language", "variation"],
                name="document_type_variations_key",
            ),
        ]

    def __str__(self):
        return self.variation


class DocumentTypeInstance(UUIDPrimaryKey):
    document_id = models.UUIDField(
        db_comment="A documents.id (not enforced: imports may precede it)"
    )
    registry = models.ForeignKey(
        DocumentTypeRegistry, on_delete=models.CASCADE, related_name="instances"
    )
    confidence_score = score_field()
    detected_at = timestamp_field()

    class Meta:
        db_table = "document_type_instances"
        db_table_comment = "Which document was detected as which discovered type."
        ordering = ["-detected_at"]
        indexes = [
            models.Index(fields=["document_id"], name="idx_instances_document"),
            models.Index(fields=["-detected_at"], name="idx_instances_detected_at"),
        ]
        constraints = [unit_interval_check("confidence_score", "document_type_instances")]


class LegalCategory(models.TextChoices):
    NOTICE = "notice"
    CONTRACT = "contract"
    COURT_FILING = "court_filing"
    CORRESPONDENCE = "correspondence"


class RomanianTemplate(UUIDPrimaryKey):
    template_name_ro = models.CharField(max_length=255)
    template_name_en = models.CharField(max_length=255)
    template_slug = models.SlugField(max_length=255, unique=True)
    legal_category = models.CharField(max_length=100, choices=LegalCategory, null=True, blank=True)
    document_type = models.ForeignKey(
        DocumentTypeRegistry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="templates",
    )
    civil_code_references = ArrayField(
        models.TextField(),
        default=list,
        db_default=[],
        blank=True,
        db_comment=never_null("romanian_templates", "civil_code_references", ARRAY_NOT_NULL),
    )
    jurisdiction = models.CharField(
        max_length=50,
        default="RO",
        db_default="RO",
        db_comment=never_null(
            "romanian_templates",
            "jurisdiction",
            "a template is written for one legal system. Omitted: RO, as upstream.",
            "ISO country code",
        ),
    )
    template_structure = SchemaJSONField(schema=schemas.TEMPLATE_STRUCTURE)
    standard_clauses = SchemaJSONField(
        schema=schemas.STANDARD_CLAUSES,
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("romanian_templates", "standard_clauses", JSON_NOT_NULL),
    )
    variable_mappings = SchemaJSONField(
        schema=schemas.VARIABLE_MAPPINGS,
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("romanian_templates", "variable_mappings", JSON_NOT_NULL),
    )
    created_from_pattern = models.BooleanField(
        default=True,
        db_default=True,
        db_comment=never_null(
            "romanian_templates",
            "created_from_pattern",
            "a template was made from discovered patterns or by hand. Omitted: true, as upstream.",
        ),
    )
    source_document_ids = ArrayField(
        models.UUIDField(),
        default=list,
        db_default=[],
        blank=True,
        db_comment=never_null("romanian_templates", "source_document_ids", ARRAY_NOT_NULL),
    )
    usage_count = models.IntegerField(
        default=0,
        db_default=0,
        db_comment=never_null(
            "romanian_templates",
            "usage_count",
            STATISTIC_NOT_NULL,
            "Number of usage logs, kept by trigger",
        ),
    )
    effectiveness_score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        db_default=0,
        db_comment=never_null(
            "romanian_templates",
            "effectiveness_score",
            STATISTIC_NOT_NULL,
            "Average satisfaction / 5 × 100 (0 without ratings), kept by trigger",
        ),
    )
    rated_count = running_total(
        models.IntegerField,
        "Usage logs with a satisfaction score, kept by trigger",
    )
    satisfaction_sum = running_total(
        models.BigIntegerField,
        "Sum of the satisfaction scores of the usage logs, kept by trigger",
    )
    version = models.CharField(max_length=50, default="1.0.0", db_default="1.0.0")
    is_active = models.BooleanField(
        default=True,
        db_default=True,
        db_comment=never_null(
            "romanian_templates",
            "is_active",
            "a template is offered or not. Omitted: true, as upstream.",
        ),
    )
    created_at = created_at_field()
    updated_at = timestamp_field(
        editable=False,
        db_comment=(
            "Last change, its usage statistics included (as upstream), kept by trigger "
            "update_templates_updated_at"
        ),
    )
    created_by = models.CharField(max_length=255, null=True, blank=True)
    last_modified_by = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        db_table = "romanian_templates"
        db_table_comment = "Romanian legal document templates, built from discovered patterns."
        ordering = ["template_slug"]
        indexes = [
            models.Index(fields=["legal_category"], name="idx_templates_category"),
            models.Index(fields=["is_active"], name="idx_templates_active"),
            models.Index(fields=["-effectiveness_score"], name="idx_templates_effectiveness"),
            models.Index(fields=["-usage_count"], name="idx_templates_usage"),
            models.Index(
                fields=["is_active", "legal_category"], name="idx_templates_active_category"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effectiveness_score__gte=0, effectiveness_score__lte=100),
                name="romanian_templates_effectiveness_score_range",
            ),
            enum_check("legal_category", LegalCategory, "romanian_templates"),
        ]

    def __str__(self):
        return self.template_name_ro


class PatternType(models.TextChoices):
    CLAUSE = "clause"
    PHRASE = "phrase"
    STRUCTURE = "structure"
    HEADER = "header"


class DocumentPattern(UUIDPrimaryKey):
    pattern_type = models.CharField(max_length=100, choices=PatternType)
    pattern_text_ro = models.TextField()
    pattern_text_en = models.TextField(null=True, blank=True)
    document_type = models.ForeignKey(
        DocumentTypeRegistry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patterns",
    )
    occurrence_count = models.IntegerField(
        default=1,
        db_default=1,
        db_comment=never_null(
            "document_patterns", "occurrence_count", f"a count of sightings. {FIRST}"
        ),
    )
    document_sources = ArrayField(
        models.UUIDField(),
        default=list,
        db_default=[],
        blank=True,
        db_comment=never_null("document_patterns", "document_sources", ARRAY_NOT_NULL),
    )
    category = models.CharField(max_length=100, null=True, blank=True)
    confidence_score = score_field()
    used_in_templates = ArrayField(
        models.UUIDField(),
        default=list,
        db_default=[],
        blank=True,
        db_comment=never_null("document_patterns", "used_in_templates", ARRAY_NOT_NULL),
    )
    first_seen_at = timestamp_field()
    last_seen_at = timestamp_field()

    class Meta:
        db_table = "document_patterns"
        db_table_comment = "Recurring clauses, phrases, structures and headers found in documents."
        ordering = ["-occurrence_count"]
        indexes = [
            models.Index(fields=["pattern_type"], name="idx_patterns_type"),
            models.Index(fields=["-occurrence_count"], name="idx_patterns_occurrences"),
            models.Index(fields=["category"], name="idx_patterns_category"),
        ]
        constraints = [
            enum_check("pattern_type", PatternType, "document_patterns"),
            unit_interval_check("confidence_score", "document_patterns"),
        ]


class TemplateUsageLog(UUIDPrimaryKey):
    template = models.ForeignKey(
        RomanianTemplate, on_delete=models.CASCADE, related_name="usage_logs"
    )
    user_id = models.UUIDField(null=True, blank=True)
    generation_time_ms = models.IntegerField(null=True, blank=True)
    variables_filled = models.IntegerField(null=True, blank=True)
    manual_edits_count = models.IntegerField(
        default=0,
        db_default=0,
        db_comment=never_null(
            "template_usage_logs",
            "manual_edits_count",
            "a count of edits after generation, none until one is made. Omitted: 0, as upstream.",
        ),
    )
    user_satisfaction_score = models.IntegerField(null=True, blank=True, db_comment="1-5")
    time_saved_minutes = models.IntegerField(null=True, blank=True)
    use_case = models.TextField(null=True, blank=True)
    metadata = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        db_comment=never_null("template_usage_logs", "metadata", JSON_NOT_NULL),
    )
    used_at = timestamp_field()

    class Meta:
        db_table = "template_usage_logs"
        db_table_comment = "One row per document generated from a template."
        ordering = ["-used_at"]
        indexes = [
            models.Index(fields=["user_id"], name="idx_template_usage_user"),
            models.Index(fields=["-used_at"], name="idx_template_usage_used_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(generation_time_ms__isnull=True)
                | models.Q(generation_time_ms__gte=0),
                name="template_usage_logs_generation_time_nonnegative",
            ),
            models.CheckConstraint(
                condition=models.Q(user_satisfaction_score__isnull=True)
                | models.Q(user_satisfaction_score__gte=1, user_satisfaction_score__lte=5),
                name="template_usage_logs_satisfaction_range",
            ),
        ]


# --- Read-only views of the admin (migrations 0004, 0009) -----------------------------------


def view_key(model: type[models.Model], column: str) -> models.OneToOneField:
    """The key column of a view that reports on one row of `model` per row."""
    return models.OneToOneField(
        model, primary_key=True, db_column=column, on_delete=models.DO_NOTHING, related_name="+"
    )


class DocumentDiscoveryMetrics(models.Model):
    """One row per week (Monday, firm time) in which new types were first seen."""

    week_start = models.DateField(primary_key=True)
    new_types = models.IntegerField()
    total_occurrences = models.BigIntegerField(db_comment="Of the types first seen that week")
    avg_mapping_confidence = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    pending = models.IntegerField()
    auto_mapped = models.IntegerField()
    manual_mapped = models.IntegerField()
    template_created = models.IntegerField()
    queue_review = models.IntegerField()

    class Meta:
        managed = False
        db_table = "document_discovery_weekly"
        ordering = ["-week_start"]
        verbose_name = "discovery metrics (week)"
        verbose_name_plural = "discovery metrics (weekly)"

    def __str__(self):
        return f"week of {self.week_start:%Y-%m-%d}"


class TemplateEffectivenessReport(models.Model):
    """One row per active template: its uses and what they saved."""

    template = view_key(RomanianTemplate, "template_id")
    template_slug = models.CharField(max_length=255)
    template_name_ro = models.CharField(max_length=255)
    template_name_en = models.CharField(max_length=255)
    legal_category = models.CharField(max_length=100, choices=LegalCategory, null=True)
    uses = models.IntegerField()
    rated_uses = models.IntegerField()
    avg_satisfaction = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    effectiveness_score = models.DecimalField(max_digits=5, decimal_places=2)
    avg_time_saved_minutes = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    total_time_saved_minutes = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "template_effectiveness_overview"
        ordering = ["-effectiveness_score", "-uses"]
        verbose_name = "template effectiveness"
        verbose_name_plural = "template effectiveness report"

    def __str__(self):
        return self.template_slug


class TemplateCreationCandidate(models.Model):
    """A frequent type still without a mapping: the top 50 by priority, then occurrences."""

    registry = view_key(DocumentTypeRegistry, "registry_id")
    discovered_type_original = models.CharField(max_length=500)
    discovered_type_normalized = models.CharField(max_length=255)
    discovered_type_english = models.CharField(max_length=500, null=True)
    primary_language = models.CharField(max_length=10, choices=Language)
    document_category = models.CharField(max_length=100, null=True)
    mapping_status = models.CharField(max_length=50, choices=MappingStatus)
    total_occurrences = models.IntegerField()
    unique_variations = models.IntegerField()
    priority_score = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    frequency_score = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    complexity_score = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    business_value_score = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    first_seen_date = models.DateTimeField()
    last_seen_date = models.DateTimeField()
    days_since_discovery = models.IntegerField()

    class Meta:
        managed = False
        db_table = "template_creation_shortlist"
        # The view's own order: NULL priorities last, as in its ORDER BY.
        ordering = [models.F("priority_score").desc(nulls_last=True), "-total_occurrences"]
        verbose_name = "template creation candidate"

    def __str__(self):
        return self.discovered_type_original
