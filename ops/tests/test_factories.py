"""The factories make Romanian rows that obey every rule validate knows: tests built on them start
from consistent data."""

import pytest

from cases.factories import DocumentFactory, TaskFactory, romanian_vocabulary
from discovery.factories import (
    DocumentPatternFactory,
    DocumentTypeInstanceFactory,
    TemplateUsageLogFactory,
)
from ops.integrity.validate import validate_database
from skills.factories import SkillUsageLogFactory, SkillVersionFactory


@pytest.mark.django_db
def test_rows_from_every_factory_pass_validate():
    document = DocumentFactory()
    task = TaskFactory(case=document.case)
    SkillVersionFactory()
    SkillUsageLogFactory.create_batch(3)
    SkillUsageLogFactory(success=False)
    DocumentTypeInstanceFactory(document=document)
    TemplateUsageLogFactory.create_batch(2)
    DocumentPatternFactory()

    report = validate_database()

    assert report.ok, report.failures
    matters = {m for ms in romanian_vocabulary()["cases"]["matters"].values() for m in ms}
    assert document.case.title.split(" - ")[0] in matters
    assert document.storage_url.startswith(f"r2://legal-docs/{document.case.firm.vat_id}/")
    assert task.case.firm.users.count() >= 2  # the case's partner, the author, the assignee
