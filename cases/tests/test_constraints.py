"""The database itself rejects what the models forbid: values outside each enum, a case closed
before it opened, negative sizes and hours. The writes go around Django's validation (UPDATE
through the ORM, or raw SQL) so only the database's check constraints stand in the way."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from cases.models import Case, Document, Task, User, UserAuditLog
from cases.tests.builders import make_case, make_document, make_task


def assert_rejected(queryset, constraint, **values):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        queryset.update(**values)


@pytest.fixture
def rows(firm_a, partner):
    case = make_case(firm_a)
    document = make_document(case, author=partner)
    task = make_task(case, author=partner)
    UserAuditLog.objects.create(user=partner, admin_user=partner, action="Activated")
    return case, document, task


ENUMS = [
    (User, "role", "users_role_valid"),
    (User, "status", "users_status_valid"),
    (UserAuditLog, "action", "user_audit_logs_action_valid"),
    (Case, "case_type", "cases_case_type_valid"),
    (Case, "status", "cases_status_valid"),
    (Case, "priority", "cases_priority_valid"),
    (Document, "document_type", "documents_document_type_valid"),
    (Document, "status", "documents_status_valid"),
    (Task, "task_type", "tasks_task_type_valid"),
    (Task, "status", "tasks_status_valid"),
    (Task, "priority", "tasks_priority_valid"),
]


@pytest.mark.parametrize(("model", "field", "constraint"), ENUMS)
def test_every_enum_rejects_an_unknown_value(rows, model, field, constraint):
    # The same word in another case: enums are exact, as the reference spells them.
    valid = model._meta.get_field(field).choices[0][0]
    assert_rejected(model.objects.all(), constraint, **{field: valid.lower()})
    assert_rejected(model.objects.all(), constraint, **{field: "Bogus"})


@pytest.mark.parametrize(("model", "field", "constraint"), ENUMS)
def test_every_enum_accepts_each_of_its_values(rows, model, field, constraint):
    for value in model._meta.get_field(field).choices:
        model.objects.update(**{field: value[0]})


def test_a_case_cannot_close_before_it_opened(rows):
    case = rows[0]
    cases = Case.objects.filter(pk=case.pk)
    assert_rejected(cases, "cases_opened_before_closed", closed_date=datetime.date(2024, 1, 14))
    cases.update(closed_date=case.opened_date)  # the same day is fine


def test_sizes_versions_and_hours_cannot_be_negative(rows):
    assert_rejected(Document.objects.all(), "documents_file_size_nonnegative", file_size_bytes=-1)
    assert_rejected(Document.objects.all(), "documents_version_positive", version=0)
    assert_rejected(Task.objects.all(), "tasks_estimated_hours_nonnegative", estimated_hours=-1)
    assert_rejected(Task.objects.all(), "tasks_actual_hours_nonnegative", actual_hours=-0.5)
    Task.objects.update(estimated_hours=0, actual_hours=None)


def test_raw_sql_is_held_to_the_same_rules(rows):
    with pytest.raises(IntegrityError, match="cases_status_valid"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases SET status = 'Open'")


def test_the_content_hash_is_the_md5_of_what_is_embedded(rows):
    import hashlib

    document = Document.objects.get(pk=rows[1].pk)
    assert document.content_hash == hashlib.md5(document.embedding_text.encode()).hexdigest()
    Document.objects.filter(pk=document.pk).update(content="Rânduri noi, ș și ț")
    document.refresh_from_db()
    assert document.content_hash == hashlib.md5(document.embedding_text.encode()).hexdigest()
