"""factory-boy factories of skills, their versions and usage logs, for the test suite."""

from __future__ import annotations

import factory

from skills.models import Skill, SkillUsageLog, SkillVersion


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("skill_id",)

    skill_id = factory.Sequence(lambda n: f"test-skill-{n}-v1")
    display_name = factory.LazyAttribute(lambda o: o.skill_id.replace("-", " ").title())
    description = factory.Faker("sentence", locale="ro_RO")
    version = "1.0.0"
    type = "document_analysis"
    category = "legal"


class SkillVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillVersion

    skill = factory.SubFactory(SkillFactory)
    version = factory.SelfAttribute("skill.version")
    content = factory.LazyAttribute(lambda o: f"# {o.skill.display_name} {o.version}")
    is_current = True


class SkillUsageLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillUsageLog

    skill = factory.SubFactory(SkillFactory)
    execution_time_ms = factory.Faker("random_int", min=200, max=20_000)
    tokens_used = factory.Faker("random_int", min=500, max=20_000)
    tokens_saved = factory.LazyAttribute(lambda o: o.tokens_used // 3 if o.success else 0)
    cost_usd = factory.LazyAttribute(lambda o: round(o.tokens_used * 0.000009, 6))
    success = True
