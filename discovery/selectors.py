"""Read queries of document-type discovery: fuzzy lookup of known types, the three reports (and
the weekly series and mapping funnel the admin's discovery page draws from them), and what the
admin shows next to a type or a template."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from discovery.models import (
    DocumentDiscoveryMetrics,
    DocumentPattern,
    DocumentTypeRegistry,
    DocumentTypeVariation,
    Language,
    RomanianTemplate,
    TemplateCreationCandidate,
    TemplateEffectivenessReport,
    TemplateUsageLog,
)
from discovery.normalization import clean_spelling, normalize_type_name

DEFAULT_MIN_SIMILARITY = 0.3  # pg_trgm's own default threshold
MAX_SIMILAR_TYPES = 1000


def similar_types(name: str, *, language: str | None = None) -> QuerySet[DocumentTypeRegistry]:
    """Known types whose name resembles `name` (a new or misspelled variation), best first.

    Trigram similarity (pg_trgm) of the spelling against the types' original names, and of its
    normalized form against their normalized names, so that case, diacritics and stop words do
    not count against a match. Both comparisons use the `%` operator (above the session's
    `pg_trgm.similarity_threshold`), served by the GIN trigram indexes. Each row carries
    `.similarity` (0-1, the better of the two).
    """
    if language is not None and language not in Language.values:
        raise ValidationError(f"unknown language {language!r}")
    spelling = clean_spelling(name)
    normalized = normalize_type_name(name, language or "mixed")
    types = DocumentTypeRegistry.objects.annotate(
        similarity=Greatest(
            TrigramSimilarity("discovered_type_original", spelling),
            TrigramSimilarity("discovered_type_normalized", normalized),
        )
    ).filter(
        Q(discovered_type_original__trigram_similar=spelling)
        | Q(discovered_type_normalized__trigram_similar=normalized)
    )
    if language is not None:
        types = types.filter(primary_language=language)
    return types.order_by("-similarity", "-total_occurrences")


def find_similar_types(
    name: str,
    limit: int = 10,
    *,
    language: str | None = None,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[DocumentTypeRegistry]:
    """The `limit` known types most similar to `name` with a similarity of at least
    `min_similarity` (see similar_types), optionally only those of `language`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SIMILAR_TYPES:
        raise ValidationError(f"limit must be between 1 and {MAX_SIMILAR_TYPES}; got {limit!r}")
    if not 0 < min_similarity <= 1:
        raise ValidationError(f"min_similarity must be in (0, 1]; got {min_similarity!r}")
    types = similar_types(name, language=language)[:limit]
    with transaction.atomic(), connection.cursor() as cursor:
        # For this transaction only (pooled connections are shared): the threshold of `%`, and
        # the trigram indexes. The planner costs `%` like a plain comparison, so once it expects a
        # few thousand matches it scans the table instead, computing the similarity of every
        # name: ten times slower at 100,000 types (bench/discovery.py).
        cursor.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true), "
            "set_config('enable_seqscan', 'off', true)",
            [str(min_similarity)],
        )
        return list(types)


def spellings_of(registry: DocumentTypeRegistry) -> QuerySet[DocumentTypeVariation]:
    """The distinct spellings under which the type was found, first seen first."""
    return DocumentTypeVariation.objects.filter(
        discovered_type_normalized=registry.discovered_type_normalized,
        primary_language=registry.primary_language,
    )


def patterns_of_template(template: RomanianTemplate) -> QuerySet[DocumentPattern]:
    """The recurring clauses, phrases and structures a template was built from."""
    return DocumentPattern.objects.filter(used_in_templates__contains=[template.pk])


def recent_usage_of_template(template: RomanianTemplate) -> QuerySet[TemplateUsageLog]:
    """The template's usage logs, most recent first (slice what you show)."""
    return TemplateUsageLog.objects.filter(template=template).order_by("-used_at")


def discovery_metrics() -> QuerySet[DocumentDiscoveryMetrics]:
    """View document_discovery_weekly: one row per week (firm time) of first sightings, latest
    first."""
    return DocumentDiscoveryMetrics.objects.all()


def template_effectiveness_report() -> QuerySet[TemplateEffectivenessReport]:
    """View template_effectiveness_overview: active templates, most effective first."""
    return TemplateEffectivenessReport.objects.all()


def template_creation_candidates() -> QuerySet[TemplateCreationCandidate]:
    """View template_creation_shortlist: the 50 unmapped frequent types to template next,
    scored types first."""
    return TemplateCreationCandidate.objects.all()


def new_types_per_week(
    weeks: int, *, today: datetime.date | None = None
) -> list[DocumentDiscoveryMetrics]:
    """The rows of document_discovery_weekly for the `weeks` weeks that end with the current
    one (Monday to Sunday, firm time), oldest first; a week without new types is a row of
    zeros (not saved)."""
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=today.weekday(), weeks=weeks - 1)
    found = {row.week_start: row for row in discovery_metrics().filter(week_start__gte=first)}
    counts = {name: 0 for name in ("new_types", "total_occurrences", *MappingFunnel.STATUSES)}
    return [
        found.get(week) or DocumentDiscoveryMetrics(week_start=week, **counts)
        for week in (first + datetime.timedelta(weeks=n) for n in range(weeks))
    ]


@dataclass(frozen=True)
class MappingFunnel:
    """How many discovered types stand at each mapping status, and the funnel they make:
    discovered, mapped (to a skill or a template, or a template made), template created."""

    STATUSES = ("pending", "queue_review", "auto_mapped", "manual_mapped", "template_created")

    pending: int
    queue_review: int
    auto_mapped: int
    manual_mapped: int
    template_created: int

    @property
    def discovered(self) -> int:
        return sum(getattr(self, status) for status in self.STATUSES)

    @property
    def mapped(self) -> int:
        return self.auto_mapped + self.manual_mapped + self.template_created

    @property
    def stages(self) -> list[tuple[str, int]]:
        return [
            ("Discovered", self.discovered),
            ("Mapped", self.mapped),
            ("Template created", self.template_created),
        ]


def mapping_funnel() -> MappingFunnel:
    """The mapping funnel over every discovered type, summed from document_discovery_weekly."""
    totals = discovery_metrics().aggregate(
        **{f"n_{status}": Coalesce(Sum(status), 0) for status in MappingFunnel.STATUSES}
    )
    return MappingFunnel(**{name.removeprefix("n_"): value for name, value in totals.items()})
