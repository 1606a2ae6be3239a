"""Template statistics kept by the triggers on template_usage_logs equal what the logs say, after
every kind of write: single and batch inserts, updates (a changed rating, a log moved to another
template), deletes, TRUNCATE and cascades."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum

from discovery.models import RomanianTemplate, TemplateUsageLog
from discovery.tests.builders import make_template

pytestmark = pytest.mark.django_db


def expected_statistics(template: RomanianTemplate) -> dict:
    """The statistics recomputed from scratch from the template's logs."""
    logs = TemplateUsageLog.objects.filter(template=template).aggregate(
        uses=Count("id"),
        rated=Count("user_satisfaction_score"),
        total=Sum("user_satisfaction_score"),
    )
    rated, total = logs["rated"], logs["total"] or 0
    score = Decimal(total) / rated / 5 * 100 if rated else Decimal(0)
    return {
        "usage_count": logs["uses"],
        "rated_count": rated,
        "satisfaction_sum": total,
        "effectiveness_score": score.quantize(Decimal("0.01"), ROUND_HALF_UP),
    }


def assert_statistics_exact(*templates: RomanianTemplate) -> None:
    for template in templates:
        template.refresh_from_db()
        actual = {name: getattr(template, name) for name in expected_statistics(template)}
        assert actual == expected_statistics(template), template.template_slug


def log(template, satisfaction=None, **fields):
    return TemplateUsageLog(template=template, user_satisfaction_score=satisfaction, **fields)


def test_a_template_without_usage_scores_zero():
    template = make_template()
    assert (template.usage_count, template.effectiveness_score) == (0, 0)
    TemplateUsageLog.objects.create(template=template)  # used, not rated
    template.refresh_from_db()
    assert (template.usage_count, template.effectiveness_score) == (1, 0)


def test_single_inserts():
    template = make_template()
    for satisfaction in (5, 4, None, 4):
        log(template, satisfaction).save()
        assert_statistics_exact(template)
    template.refresh_from_db()
    assert template.usage_count == 4
    assert template.effectiveness_score == Decimal("86.67")  # 13 / 3 / 5 × 100


def test_batch_inserts_over_several_templates():
    first, second, idle = make_template(), make_template(), make_template()
    TemplateUsageLog.objects.bulk_create(
        [log(first, s) for s in (1, 2, 3, None, 5)] + [log(second, s) for s in (5, 5, None)]
    )
    assert_statistics_exact(first, second, idle)
    with connection.cursor() as cursor:  # a set-based INSERT … SELECT, as an import would do
        cursor.execute(
            "INSERT INTO template_usage_logs (template_id, user_satisfaction_score) "
            "SELECT %s, 1 + n %% 5 FROM generate_series(1, 1000) AS n",
            [second.pk],
        )
    assert_statistics_exact(first, second, idle)


def test_updates_of_ratings():
    template = make_template()
    TemplateUsageLog.objects.bulk_create([log(template, s) for s in (1, 2, 3, 4)])
    entry = TemplateUsageLog.objects.filter(user_satisfaction_score=1).get()
    entry.user_satisfaction_score = 5
    entry.save()
    assert_statistics_exact(template)
    TemplateUsageLog.objects.filter(user_satisfaction_score__lt=4).update(
        user_satisfaction_score=None
    )
    assert_statistics_exact(template)
    TemplateUsageLog.objects.update(user_satisfaction_score=3)
    assert_statistics_exact(template)
    TemplateUsageLog.objects.update(use_case="unrelated edit")  # nothing to add
    assert_statistics_exact(template)


def test_moving_logs_between_templates():
    first, second = make_template(), make_template()
    TemplateUsageLog.objects.bulk_create(
        [log(first, s) for s in (5, 5, 1)] + [log(second, s) for s in (2, None)]
    )
    entry = TemplateUsageLog.objects.get(template=first, user_satisfaction_score=1)
    entry.template = second
    entry.save()
    assert_statistics_exact(first, second)
    # one statement swapping every log of the two templates, in both directions at once
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE template_usage_logs SET template_id = CASE template_id "
            "WHEN %s THEN %s::uuid ELSE %s::uuid END",
            [first.pk, second.pk, first.pk],
        )
    assert_statistics_exact(first, second)
    TemplateUsageLog.objects.filter(template=first).update(
        template=second, user_satisfaction_score=4
    )
    assert_statistics_exact(first, second)


def test_deletes():
    first, second = make_template(), make_template()
    TemplateUsageLog.objects.bulk_create(
        [log(first, s) for s in (5, 4, 3, None)] + [log(second, s) for s in (1, 1)]
    )
    TemplateUsageLog.objects.filter(template=first, user_satisfaction_score=5).get().delete()
    assert_statistics_exact(first, second)
    TemplateUsageLog.objects.filter(user_satisfaction_score__lte=3).delete()
    assert_statistics_exact(first, second)
    TemplateUsageLog.objects.all().delete()
    assert_statistics_exact(first, second)
    first.refresh_from_db()
    assert (first.usage_count, first.effectiveness_score) == (0, 0)


@pytest.mark.django_db(
    transaction=True
)  # Django's deferred FK checks forbid TRUNCATE before commit
def test_truncate_resets_every_template():
    first, second = make_template(), make_template()
    TemplateUsageLog.objects.bulk_create([log(first, 5), log(second, 2)])
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE template_usage_logs")
    assert_statistics_exact(first, second)


def test_deleting_a_template_cascades_without_touching_the_others():
    first, second = make_template(), make_template()
    TemplateUsageLog.objects.bulk_create([log(first, 5), log(second, 2), log(second, 4)])
    first.delete()
    assert not TemplateUsageLog.objects.filter(template_id=first.pk).exists()
    assert_statistics_exact(second)


@pytest.mark.django_db(transaction=True)
def test_a_logged_use_moves_the_templates_updated_at_as_upstreams_trigger_did():
    """The statistics trigger's UPDATE of the template fires update_templates_updated_at, as
    upstream's did: updated_at is the time of the last change, uses included (autocommit, so each
    statement has its own time); an edit moves it too."""
    template = make_template()
    created = template.updated_at
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO template_usage_logs (template_id, user_satisfaction_score) VALUES (%s, 5)",
            [template.pk],
        )
    template.refresh_from_db()
    assert template.usage_count == 1
    used = template.updated_at
    assert used > created
    TemplateUsageLog.objects.filter(template=template).delete()
    template.refresh_from_db()
    assert template.usage_count == 0 and template.updated_at > used
    template.version = "1.1.0"
    template.save()
    template.refresh_from_db()
    assert template.updated_at > used
