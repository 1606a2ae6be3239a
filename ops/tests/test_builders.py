"""The test builders of every app make rows that obey every rule validate knows: tests built on
them start from consistent data."""

import pytest

from cases.models import Firm
from cases.tests.builders import make_case, make_document, make_task
from discovery.models import DocumentPattern, DocumentTypeInstance, PatternType, TemplateUsageLog
from discovery.tests.builders import make_template, make_type
from ops.integrity.validate import validate_database
from skills.models import SkillUsageLog, SkillVersion
from skills.tests.builders import make_skill, usage


@pytest.mark.django_db
def test_rows_from_every_apps_builders_pass_validate():
    firm = Firm.objects.create(name="Alpha Legal", vat_id="RO1001")
    document = make_document(make_case(firm))
    task = make_task(document.case)
    skill = make_skill()
    SkillVersion.objects.create(skill=skill, version=skill.version, content="# v1", is_current=True)
    SkillUsageLog.objects.bulk_create(
        [SkillUsageLog(**usage(skill, tokens_saved=300)) for _ in range(3)]
    )
    SkillUsageLog.objects.create(**usage(make_skill(), success=False))
    DocumentTypeInstance.objects.create(
        registry=make_type("Notificare"), document_id=document.id, confidence_score="0.90"
    )
    template = make_template()
    for score in (4, 5):
        TemplateUsageLog.objects.create(
            template=template, generation_time_ms=1200, user_satisfaction_score=score
        )
    DocumentPattern.objects.create(
        pattern_type=PatternType.CLAUSE,
        pattern_text_ro="Prezenta notificare produce efecte de la data comunicării.",
        confidence_score="0.75",
    )

    report = validate_database()

    assert report.ok, report.failures
    assert task.case.firm.users.count() >= 2  # the document's author, the task's author
