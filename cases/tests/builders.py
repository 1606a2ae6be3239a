"""Builders for the cases tests: users, clients, cases, documents and tasks with valid
defaults, each call a new row."""

import datetime
import itertools

from cases.models import Case, Client, Document, Task, User

_numbers = itertools.count(1)


def make_user(firm, role=User.Role.PARALEGAL, **fields):
    n = next(_numbers)
    fields.setdefault("status", User.Status.ACTIVE)
    fields.setdefault("is_staff", True)
    return User.objects.create_user(
        f"user{n}@{(firm.vat_id if firm else 'none').lower()}.example",
        None,  # no password: hashing one costs a second; tests log in with force_login
        firm=firm,
        role=role,
        first_name=role,
        last_name=str(n),
        **fields,
    )


def make_client(firm, name=None):
    return Client.objects.create(firm=firm, name=name or f"Client {next(_numbers)}")


def make_case(firm, title="Some Matter", client=None, **fields):
    fields.setdefault("case_number", f"CASE-2024-{next(_numbers):03d}")
    fields.setdefault("case_type", Case._meta.get_field("case_type").choices[0][0])
    fields.setdefault("opened_date", datetime.date(2024, 1, 15))
    return Case.objects.create(firm=firm, client=client or make_client(firm), title=title, **fields)


def make_document(case, title="A document", content="", author=None, **fields):
    fields.setdefault("document_type", Document._meta.get_field("document_type").choices[0][0])
    return Document.objects.create(
        case=case,
        created_by_user=author or make_user(case.firm),
        title=title,
        content=content,
        file_name="document.pdf",
        mime_type="application/pdf",
        storage_url="r2://legal-docs/document.pdf",
        **fields,
    )


def make_task(case, title="A task", author=None, **fields):
    fields.setdefault("task_type", Task._meta.get_field("task_type").choices[0][0])
    return Task.objects.create(
        case=case, title=title, created_by_user=author or make_user(case.firm), **fields
    )
