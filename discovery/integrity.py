"""The integrity rules of the discovery app (core.integrity): template statistics equal what the
usage logs give, by the trigger's own template_effectiveness_score(); the references imports
may hold before their documents exist (no foreign key: docs/schema.md) point at rows; first seen
comes before last seen."""

from core.integrity import (
    CheckResult,
    Database,
    DateOrder,
    Reference,
    declare,
    register,
    stored_statistics_match,
)

declare(
    references=[
        Reference("document_type_instances", "document_id", "documents"),
        Reference("document_type_registry", "sample_document_ids", "documents", array=True),
        Reference("document_type_registry", "mapped_skill_id", "skills", "skill_id"),
        Reference("document_type_registry", "mapped_template_id", "romanian_templates"),
        Reference("romanian_templates", "source_document_ids", "documents", array=True),
        Reference("document_patterns", "document_sources", "documents", array=True),
        Reference("document_patterns", "used_in_templates", "romanian_templates", array=True),
        Reference("template_usage_logs", "user_id", "users"),
    ],
    date_orders=[
        DateOrder("document_type_registry", "first_seen_date", "last_seen_date"),
        DateOrder("document_patterns", "first_seen_at", "last_seen_at"),
    ],
)

# Per template: its logs, the rated ones and their satisfaction (the running totals' sources).
TEMPLATE_LOG_TOTALS = """
    SELECT template_id AS parent, count(*) AS logs, count(user_satisfaction_score) AS rated,
           coalesce(sum(user_satisfaction_score), 0) AS satisfaction
    FROM template_usage_logs GROUP BY template_id
"""
TEMPLATE_STATISTICS_FROM_LOGS = {
    "usage_count": "coalesce(a.logs, 0)",
    "rated_count": "coalesce(a.rated, 0)",
    "satisfaction_sum": "coalesce(a.satisfaction, 0)",
    "effectiveness_score": (
        "template_effectiveness_score(coalesce(a.satisfaction, 0), coalesce(a.rated, 0))"
    ),
}


@register("statistics")
def template_statistics(database: Database) -> list[CheckResult]:
    return stored_statistics_match(
        database,
        table="romanian_templates",
        logs="template_usage_logs",
        totals=TEMPLATE_LOG_TOTALS,
        expected=TEMPLATE_STATISTICS_FROM_LOGS,
    )
