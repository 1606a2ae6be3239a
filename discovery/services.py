"""Write paths of document-type discovery: recording each type seen in an import, scoring which
types deserve a template first, and mapping types to skills and templates (the demo dataset is
seeding's: ops.seeding.discovery).

Reads (fuzzy lookup, reports) live in `discovery.selectors`; `find_similar_types` is re-exported
here because discovery's callers use it together with `record_discovery`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from discovery.models import (
    DocumentTypeRegistry,
    Language,
    MappingStatus,
    RomanianTemplate,
)
from discovery.normalization import clean_spelling, normalize_type_name
from discovery.selectors import find_similar_types
from legalplatform.db.transactions import atomic_without_statement_timeout
from skills.models import Skill

__all__ = [
    "find_similar_types",
    "map_type",
    "queue_for_review",
    "recompute_priorities",
    "record_discovery",
]

# --- record_discovery ---------------------------------------------------------------------------

SAMPLE_DOCUMENTS_KEPT = 5

# One statement, safe under concurrency without a retry loop:
# 1. new_spelling records this spelling of the type. It runs first, so when another transaction
#    is recording the same new spelling, its conflict check waits for that one to commit and then
#    finds the spelling known: unique_variations counts each spelling exactly once.
# 2. registry inserts the type, or (ON CONFLICT, on the row locked and re-read at its latest
#    version) adds this sighting to its running totals. The composite foreign key from the
#    spellings to the registry is checked at the end of the statement, when the row exists.
# 3. instance records which document was detected as this type, when a document is given.
RECORD_DISCOVERY_SQL = f"""
WITH new_spelling AS (
    INSERT INTO document_type_variations (discovered_type_normalized, primary_language, variation)
    VALUES (%(normalized)s, %(language)s, %(spelling)s)
        ON CONFLICT (discovered_type_normalized, primary_language, variation) DO NOTHING
    RETURNING 1
),
registry AS (
    INSERT INTO document_type_registry AS r (
        discovered_type_original, discovered_type_normalized, primary_language, document_category,
        avg_document_length, document_length_sum, document_length_count, sample_document_ids)
    VALUES (
        %(spelling)s, %(normalized)s, %(language)s, %(category)s::varchar,
        %(length)s::integer,
        coalesce(%(length)s::bigint, 0),
        CASE WHEN %(length)s::integer IS NULL THEN 0 ELSE 1 END,
        CASE WHEN %(document_id)s::uuid IS NULL THEN '{{}}'::uuid[]
             ELSE ARRAY[%(document_id)s::uuid] END)
    ON CONFLICT (discovered_type_normalized, primary_language) DO UPDATE SET
        total_occurrences = r.total_occurrences + 1,
        unique_variations = r.unique_variations + (SELECT count(*) FROM new_spelling),
        last_seen_date = greatest(r.last_seen_date, EXCLUDED.last_seen_date),
        document_category = coalesce(r.document_category, EXCLUDED.document_category),
        -- running average: exact sum and count, the average rounded from them
        document_length_sum = r.document_length_sum + EXCLUDED.document_length_sum,
        document_length_count = r.document_length_count + EXCLUDED.document_length_count,
        avg_document_length = CASE
            WHEN EXCLUDED.document_length_count = 0 THEN r.avg_document_length
            ELSE round((r.document_length_sum + EXCLUDED.document_length_sum)::numeric
                       / (r.document_length_count + EXCLUDED.document_length_count))
        END,
        -- the first {SAMPLE_DOCUMENTS_KEPT} distinct documents seen stay the samples
        sample_document_ids = CASE
            WHEN cardinality(r.sample_document_ids) >= {SAMPLE_DOCUMENTS_KEPT}
              OR r.sample_document_ids @> EXCLUDED.sample_document_ids
            THEN r.sample_document_ids
            ELSE r.sample_document_ids || EXCLUDED.sample_document_ids
        END
    RETURNING r.*
),
instance AS (
    INSERT INTO document_type_instances (document_id, registry_id, confidence_score)
    SELECT %(document_id)s::uuid, registry.id, %(confidence)s::numeric
      FROM registry
     WHERE %(document_id)s::uuid IS NOT NULL
)
SELECT * FROM registry
"""


def record_discovery(
    original_name: str,
    *,
    language: str,
    category: str | None = None,
    document_id: uuid.UUID | str | None = None,
    length: int | None = None,
    confidence: float | Decimal | None = None,
) -> DocumentTypeRegistry:
    """Record one sighting of a document type in an import; return its registry row as it is now.

    The type is keyed by its normalized name and `language`. A new type is added with this
    spelling as its original name; a known one gets one more occurrence, a later
    `last_seen_date`, this spelling if it is new (`unique_variations`), the document among its
    (up to 5) samples, the `length` in its average, and `category` if it had none. With a
    `document_id`, the document is also recorded as an instance of the type, with `confidence`.
    One statement: concurrent calls for the same type lose nothing.
    """
    if language not in Language.values:
        raise ValidationError(
            f"unknown language {language!r}; expected one of {', '.join(Language.values)}"
        )
    if document_id is None and confidence is not None:
        raise ValidationError("a confidence is recorded with a document; give its document_id")
    params = {
        "spelling": clean_spelling(original_name),
        "normalized": normalize_type_name(original_name, language),
        "language": language,
        "category": _optional_text(category, "category", max_length=100),
        "document_id": _optional_uuid(document_id),
        "length": _optional_count(length, "length"),
        "confidence": _optional_score(confidence, "confidence"),
    }
    return next(iter(DocumentTypeRegistry.objects.raw(RECORD_DISCOVERY_SQL, params)))


def _optional_text(value: str | None, name: str, *, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(f"{name} has at most {max_length} characters; got {len(value)}")
    return value


def _optional_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(f"document_id must be a UUID; got {value!r}") from None


def _optional_count(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number ≥ 0; got {value!r}")
    return value


def _optional_score(value: float | Decimal | str | None, name: str) -> Decimal | None:
    """A score between 0 and 1 with two decimals (numeric(3,2)), or None."""
    if value is None:
        return None
    try:
        score = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(f"{name} must be a number between 0 and 1; got {value!r}") from None
    if not Decimal(0) <= score <= Decimal(1):
        raise ValidationError(f"{name} must be between 0 and 1; got {value}")
    return score


# --- recompute_priorities -----------------------------------------------------------------------

# priority_score = 0.5 × frequency + 0.3 × business value + 0.2 × complexity, each 0-1.
# Frequency weighs most: a template pays back per document generated from it. Business value
# (what the firm earns or risks on such documents) comes next, then complexity (the drafting time
# a template saves grows with it). A score nobody has set yet counts as neutral (0.5), so that an
# unscored type is neither buried nor favoured.
PRIORITY_WEIGHTS = {
    "frequency": Decimal("0.5"),
    "business_value": Decimal("0.3"),
    "complexity": Decimal("0.2"),
}
UNSCORED = Decimal("0.5")

RECOMPUTE_PRIORITIES_SQL = """
UPDATE document_type_registry AS r
   SET frequency_score = s.frequency_score,
       priority_score = s.priority_score
  FROM (SELECT id,
               round(frequency, 2) AS frequency_score,
               round(%(frequency_weight)s::numeric * frequency
                     + %(business_value_weight)s::numeric
                       * coalesce(business_value_score, %(unscored)s::numeric)
                     + %(complexity_weight)s::numeric
                       * coalesce(complexity_score, %(unscored)s::numeric), 2) AS priority_score
          FROM (SELECT id, business_value_score, complexity_score,
                       -- occurrences relative to the most frequent type: 1 for that one
                       coalesce(greatest(total_occurrences, 0)::numeric
                                / nullif(max(total_occurrences) OVER (), 0), 0) AS frequency
                  FROM document_type_registry) AS f) AS s
 WHERE r.id = s.id
   AND (r.frequency_score, r.priority_score)
       IS DISTINCT FROM (s.frequency_score, s.priority_score)
"""


def recompute_priorities() -> int:
    """Score every type at once (one UPDATE): `frequency_score` = occurrences / occurrences of
    the most frequent type, `priority_score` = the weighted blend of PRIORITY_WEIGHTS. Rows whose
    scores do not change are not written. Returns the number of rows changed."""
    # Operator-scale work over the whole registry: not bound by the per-statement timeout.
    with atomic_without_statement_timeout() as cursor:
        cursor.execute(
            RECOMPUTE_PRIORITIES_SQL,
            {f"{name}_weight": weight for name, weight in PRIORITY_WEIGHTS.items()}
            | {"unscored": UNSCORED},
        )
        return cursor.rowcount


# --- mapping ------------------------------------------------------------------------------------

AUTO_MAPPER = "auto-mapper"  # reviewed_by of mappings made by the system


def map_type(
    registry: DocumentTypeRegistry,
    *,
    skill_id: str | None = None,
    template: RomanianTemplate | None = None,
    confidence: float | Decimal,
    manual: bool,
    reviewer: str | None = None,
) -> DocumentTypeRegistry:
    """Map a type to a skill (`skills.skill_id`) and/or a template, replacing any earlier mapping.

    The status becomes `template_created` with a template, else `manual_mapped` or `auto_mapped`.
    The mapping is stamped with its reviewer (required for a manual mapping; `auto-mapper` for an
    automatic one) and the time. A template not yet tied to a type is tied to this one.
    """
    if skill_id is None and template is None:
        raise ValidationError("map a type to a skill_id, a template or both")
    if skill_id is not None and not Skill.objects.filter(skill_id=skill_id).exists():
        raise ValidationError(f"no skill with skill_id {skill_id!r}")
    if template is not None and template.pk is None:
        raise ValidationError("the template must be saved before a type is mapped to it")
    reviewer = _optional_text(reviewer, "reviewer", max_length=255)
    if manual and reviewer is None:
        raise ValidationError("a manual mapping needs the reviewer who made it")
    if template is not None:
        status = MappingStatus.TEMPLATE_CREATED
    else:
        status = MappingStatus.MANUAL_MAPPED if manual else MappingStatus.AUTO_MAPPED
    changes = {
        "mapped_skill_id": skill_id,
        "mapped_template_id": template.pk if template is not None else None,
        "mapping_confidence": _optional_score(confidence, "confidence"),
        "mapping_status": status,
        "reviewed_by": reviewer or AUTO_MAPPER,
        "reviewed_at": timezone.now(),
    }
    with transaction.atomic():
        if not DocumentTypeRegistry.objects.filter(pk=registry.pk).update(**changes):
            raise ValidationError(f"document type {registry.pk} does not exist (any more)")
        if template is not None and template.document_type_id is None:
            RomanianTemplate.objects.filter(pk=template.pk, document_type=None).update(
                document_type=registry.pk
            )
            template.document_type_id = registry.pk
    registry.refresh_from_db()
    return registry


QUEUEABLE_STATUSES = (MappingStatus.PENDING, MappingStatus.AUTO_MAPPED)


def queue_for_review(types: QuerySet[DocumentTypeRegistry]) -> int:
    """Put types before a human reviewer: those `pending` or only `auto_mapped` become
    `queue_review`; a human decision (manual mapping, template) is left as it is. Returns how
    many were queued."""
    return types.filter(mapping_status__in=QUEUEABLE_STATUSES).update(
        mapping_status=MappingStatus.QUEUE_REVIEW
    )
