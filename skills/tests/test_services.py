"""Services and selectors of the skills app: batch logging through COPY and its failure paths,
publishing and rolling back versions, recounting statistics, a skill's stats over a period."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from cases.models import User
from skills.models import SkillUsageLog, SkillVersion
from skills.selectors import skill_usage_stats, skills_with_stale_statistics, statistics_of
from skills.services import (
    publish_version,
    record_usage,
    record_usages,
    refresh_skill_statistics,
    rollback_version,
    semver_precedence,
)
from skills.tests.builders import make_skill, usage
from skills.tests.support import assert_statistics_exact, stored

pytestmark = pytest.mark.django_db


def test_record_usages_takes_instances_ids_text_and_defaults():
    skill = make_skill()
    user = User.objects.create_user("writer@example.com", None)
    workspace = uuid.uuid4()
    count = record_usages(
        [
            usage(skill, user=user, cost_usd=Decimal("0.012345"), input_data={"q": "contract"}),
            {
                "skill_id": str(skill.pk),
                "user_id": str(user.pk),
                "workspace_id": str(workspace),
                "execution_time_ms": 5,
                "tokens_used": 10,
                "cost_usd": 0.25,
                "success": False,
                "error_message": "timeout",
            },
        ]
    )
    assert count == 2
    first, second = SkillUsageLog.objects.order_by("success").reverse()
    assert (first.user_id, first.cost_usd, first.input_data) == (
        user.pk,
        Decimal("0.012345"),
        {"q": "contract"},
    )
    assert (second.workspace_id, second.cost_usd, second.tokens_saved) == (
        workspace,
        Decimal("0.250000"),
        0,
    )
    assert second.metadata == {} and abs(second.executed_at - timezone.now()).total_seconds() < 60
    assert stored(skill) == (2, 0, Decimal("50.00"))


def without_execution_time(row):
    return {key: value for key, value in row.items() if key != "execution_time_ms"}


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda row: {**row, "colour": "red"}, "usage row 2: SkillUsageLog has no field 'colour'"),
        (without_execution_time, "usage row 2: execution_time_ms is required"),
        (lambda row: {**row, "workspace_id": "nope"}, "usage row 2: workspace_id: .* valid UUID"),
    ],
)
def test_record_usages_rejects_a_bad_row_and_adds_nothing(spoil, message):
    skill = make_skill()
    with pytest.raises(ValidationError, match=message):
        record_usages([usage(skill), spoil(usage(skill))])
    assert SkillUsageLog.objects.count() == 0
    assert stored(skill)[0] == 0


def test_record_usages_failing_a_constraint_adds_nothing():
    skill = make_skill()
    record_usages([usage(skill)])
    with pytest.raises(IntegrityError, match="execution_time_nonnegative"):
        record_usages([usage(skill), usage(skill, execution_time_ms=-1)])
    assert SkillUsageLog.objects.count() == 1
    assert stored(skill)[0] == 1


def test_record_usage_of_an_unknown_user_is_refused_by_the_foreign_key():
    skill = make_skill()
    with pytest.raises(IntegrityError, match="skill_usage_logs_user_id_fkey"):
        record_usage(**usage(skill, user_id=uuid.uuid4()))


def test_deleting_a_user_keeps_their_logs_without_the_user():
    skill = make_skill()
    user = User.objects.create_user("leaver@example.com", None)
    record_usage(**usage(skill, user=user))
    user.delete()
    assert SkillUsageLog.objects.get().user_id is None
    assert_statistics_exact()


def test_an_empty_batch_records_nothing():
    assert record_usages([]) == 0


def test_refresh_repairs_logs_written_with_triggers_disabled():
    skill = make_skill()
    record_usages(usage(skill, tokens_saved=4) for _ in range(3))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    record_usages(usage(skill, success=False) for _ in range(3))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    [stale] = skills_with_stale_statistics()
    assert stale.stored == (3, 4, Decimal("100.00"))
    assert stale.from_logs == (6, 4, Decimal("50.00"))
    assert refresh_skill_statistics([skill]) == 1
    assert skills_with_stale_statistics() == []
    assert refresh_skill_statistics() == 1


def test_semver_precedence_follows_the_specification():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "10.0.0",
    ]
    assert sorted(reversed(ordered), key=semver_precedence) == ordered
    assert semver_precedence("1.0.0+build.5") == semver_precedence("1.0.0")
    for bad in ("1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", ""):
        with pytest.raises(ValueError, match="not a semantic version"):
            semver_precedence(bad)


def test_publish_makes_the_only_current_version_and_the_skill_version():
    skill = make_skill(version="0.9.0")
    first = publish_version(skill, "1.0.0", "definition v1", "first release")
    second = publish_version(skill, "1.1.0", "definition v1.1")
    first.refresh_from_db()
    assert skill.version == "1.1.0" and stored(skill) and skill.version == "1.1.0"
    assert (first.is_current, second.is_current) == (False, True)
    assert first.deprecated_at is not None and second.deployed_at is not None
    assert list(SkillVersion.objects.filter(is_current=True)) == [second]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.1", "not a semantic version"),
        ("1.0.0", "already has version 1.0.0"),
        ("0.9.9", "not higher than 1.0.0"),
        ("1.0.0-rc.1", "not higher than 1.0.0"),
    ],
)
def test_publish_refuses_a_bad_or_older_version_and_changes_nothing(version, message):
    skill = make_skill()
    publish_version(skill, "1.0.0", "v1")
    with pytest.raises(ValidationError, match=message):
        publish_version(skill, version, "other")
    skill.refresh_from_db()
    assert skill.version == "1.0.0"
    assert list(skill.versions.values_list("version", "is_current")) == [("1.0.0", True)]


def test_rollback_and_forward_again():
    skill = make_skill()
    for number, version in enumerate(["1.0.0", "1.1.0", "2.0.0"]):
        publish_version(skill, version, f"content {number}")
    rolled = rollback_version(skill, "1.1.0")
    skill.refresh_from_db()
    assert skill.version == "1.1.0" and rolled.is_current and rolled.deprecated_at is None
    assert skill.versions.get(version="2.0.0").deprecated_at is not None
    assert rollback_version(skill, "2.0.0").is_current
    assert list(skill.versions.filter(is_current=True).values_list("version", flat=True)) == [
        "2.0.0"
    ]


def test_rollback_to_an_unknown_version_is_refused():
    skill = make_skill()
    publish_version(skill, "1.0.0", "v1")
    with pytest.raises(ValidationError, match="has no version 3.0.0"):
        rollback_version(skill, "3.0.0")
    assert skill.versions.get().is_current


def test_two_current_versions_are_impossible_in_the_database():
    skill = make_skill()
    publish_version(skill, "1.0.0", "v1")
    with pytest.raises(IntegrityError, match="one_current_per_skill"):
        SkillVersion.objects.create(skill=skill, version="1.0.1", content="x", is_current=True)


def test_skill_usage_stats_over_a_period():
    skill, other = make_skill(), make_skill()
    now = timezone.now()
    day = datetime.timedelta(days=1)
    record_usages(
        [
            usage(skill, executed_at=now - 10 * day, tokens_saved=1000, cost_usd=Decimal("9")),
            usage(skill, executed_at=now - 2 * day, tokens_saved=3, cost_usd=Decimal("0.5")),
            usage(skill, executed_at=now - day, tokens_saved=4, cost_usd=Decimal("0.25")),
            usage(skill, executed_at=now - day, success=False, execution_time_ms=301),
            usage(other, executed_at=now - day),
        ]
    )
    stats = skill_usage_stats(skill, since=now - 7 * day, until=now)
    assert (stats.executions, stats.successes, stats.failures) == (3, 2, 1)
    assert (stats.tokens_used, stats.tokens_saved, stats.token_savings_avg) == (3000, 7, 4)
    assert stats.cost_usd == Decimal("0.75") and stats.avg_execution_time_ms == 180
    assert stats.success_rate == Decimal("66.67")
    everything = skill_usage_stats(skill)
    statistics = statistics_of(skill)
    assert everything.executions == statistics.usage_count == 4
    assert everything.success_rate == statistics.effectiveness_score
    assert everything.token_savings_avg == statistics.token_savings_avg
    empty = skill_usage_stats(skill, since=now)
    assert (empty.executions, empty.success_rate, empty.cost_usd) == (0, Decimal("0.00"), 0)
