"""The admin, scoped to the firm: a staff user of firm A sees, picks and edits only firm A's
rows, firm B's objects are a 404 at every URL, and what each role may do in the admin follows
its permissions (a Paralegal cannot approve; role and status changes are audited)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    Case,
    CaseStatus,
    Client,
    Document,
    DocumentStatus,
    Firm,
    Task,
    User,
    UserAuditLog,
)
from cases.tests.builders import make_case, make_document, make_task, make_user


def url(model, view, *args):
    return reverse(f"admin:cases_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(firm_a, firm_b, partner, partner_b):
    """The same set of rows in each firm."""
    rows = {}
    for firm, author in ((firm_a, partner), (firm_b, partner_b)):
        case = make_case(firm, f"Contract Dispute - {firm.name}")
        document = make_document(case, f"Brief of {firm.name}", author=author)
        rows[firm.vat_id] = {
            Firm: firm,
            User: author,
            Client: case.client,
            Case: case,
            Document: document,
            Task: make_task(case, author=author),
            UserAuditLog: UserAuditLog.objects.create(
                user=author, admin_user=author, action="Activated"
            ),
        }
    return rows["RO1001"], rows["RO2002"]


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", [Firm, User, Client, Case, Document, Task, UserAuditLog])
def test_another_firms_object_is_a_404_at_every_url(client, world, partner, model):
    mine, theirs = world
    logged_in(client, partner)
    assert client.get(url(model, "change", mine[model].pk)).status_code == 200
    for view in ("change", "history", "delete"):
        assert client.get(url(model, view, theirs[model].pk)).status_code == 404, view
    assert client.post(url(model, "change", theirs[model].pk), {}).status_code == 404
    assert client.post(url(model, "delete", theirs[model].pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=theirs[model].pk).exists()


@pytest.mark.parametrize("model", [User, Client, Case, Document, Task])
def test_lists_show_only_the_firms_rows(client, world, partner, model):
    mine, theirs = world
    response = logged_in(client, partner).get(url(model, "changelist"))
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert mine[model].pk in shown
    assert theirs[model].pk not in shown


def test_a_superuser_sees_every_firm(client, world, firm_a):
    mine, theirs = world
    root = make_user(firm_a, is_superuser=True)
    response = logged_in(client, root).get(url(Case, "changelist"))
    assert {c.pk for c in response.context["cl"].result_list} == {mine[Case].pk, theirs[Case].pk}
    assert client.get(url(Case, "change", theirs[Case].pk)).status_code == 200


def test_the_firm_filter_is_not_offered_to_a_firm_user(client, world, partner):
    response = logged_in(client, partner).get(url(Case, "changelist"))
    assert "Beta Legal" not in response.content.decode()


def test_autocomplete_offers_only_the_firms_rows(client, world, partner):
    mine, theirs = world
    response = logged_in(client, partner).get(
        reverse("admin:autocomplete"),
        {"app_label": "cases", "model_name": "document", "field_name": "case", "term": "contract"},
    )
    assert [row["id"] for row in response.json()["results"]] == [str(mine[Case].pk)]


def case_form(client_row, **fields):
    return {
        "case_number": "CASE-2024-777",
        "title": "Lease Dispute",
        "case_type": "Civil",
        "status": "Active",
        "priority": "Medium",
        "client": str(client_row.pk),
        "opened_date": "2024-05-01",
        "description": "",
        "court_name": "",
        "judge_name": "",
        **fields,
    }


def test_a_new_case_takes_the_users_firm_and_only_its_clients(client, world, partner, firm_a):
    mine, theirs = world
    logged_in(client, partner)
    refused = client.post(url(Case, "add"), case_form(theirs[Client]))
    assert refused.status_code == 200
    assert "client" in refused.context["adminform"].form.errors
    created = client.post(url(Case, "add"), case_form(mine[Client]))
    assert created.status_code == 302
    assert Case.objects.get(case_number="CASE-2024-777").firm == firm_a


def test_the_case_search_forgives_misspellings(client, world, partner):
    mine, _ = world
    response = logged_in(client, partner).get(url(Case, "changelist"), {"q": "contrct disput"})
    assert [c.pk for c in response.context["cl"].result_list] == [mine[Case].pk]


def test_closing_a_case_in_its_form_stamps_the_date(client, world, partner):
    case = world[0][Case]
    logged_in(client, partner)
    data = case_form(case.client, case_number=case.case_number, title=case.title, status="Closed")
    response = client.post(url(Case, "change", case.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    case.refresh_from_db()
    assert (case.status, case.closed_date) == (CaseStatus.CLOSED, timezone.localdate())


def document_form(document, **fields):
    return {
        "case": str(document.case_id),
        "title": document.title,
        "content": "",
        "document_type": document.document_type,
        "status": document.status,
        "file_name": document.file_name,
        "file_size_bytes": "0",
        "mime_type": document.mime_type,
        "storage_url": document.storage_url,
        "version": "1",
        **fields,
    }


def test_a_paralegal_cannot_approve_in_the_form_or_by_action(client, world, paralegal):
    document = world[0][Document]
    logged_in(client, paralegal)
    response = client.post(
        url(Document, "change", document.pk), document_form(document, status="Approved")
    )
    assert response.context["adminform"].form.errors["status"] == [
        "Only a Partner may approve documents."
    ]
    changelist = client.get(url(Document, "changelist"))
    assert 'value="approve"' not in changelist.content.decode()
    client.post(
        url(Document, "changelist"),
        {"action": "approve", "_selected_action": [str(document.pk)]},
    )
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.DRAFT


def test_a_paralegal_moves_a_draft_to_review(client, world, paralegal):
    document = world[0][Document]
    response = logged_in(client, paralegal).post(
        url(Document, "change", document.pk), document_form(document, status="Review")
    )
    assert response.status_code == 302
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.REVIEW


def test_a_partner_approves_by_action(client, world, partner):
    mine, theirs = world
    logged_in(client, partner).post(
        url(Document, "changelist"),
        {
            "action": "approve",
            "_selected_action": [str(mine[Document].pk), str(theirs[Document].pk)],
        },
    )
    assert Document.objects.get(pk=mine[Document].pk).status == DocumentStatus.APPROVED
    assert Document.objects.get(pk=theirs[Document].pk).status == DocumentStatus.DRAFT


def test_user_actions_are_audited_with_the_acting_admin(client, world, partner, paralegal):
    logged_in(client, partner)
    for action in ("deactivate", "make_associate"):
        client.post(
            url(User, "changelist"), {"action": action, "_selected_action": [str(paralegal.pk)]}
        )
    paralegal.refresh_from_db()
    assert (paralegal.status, paralegal.role) == (User.Status.INACTIVE, User.Role.ASSOCIATE)
    assert set(UserAuditLog.objects.filter(user=paralegal).values_list("action", "admin_user")) == {
        ("Deactivated", partner.pk),
        ("RoleChanged", partner.pk),
    }


def test_a_firm_user_cannot_grant_admin_rights(client, world, partner, paralegal):
    response = logged_in(client, partner).get(url(User, "change", paralegal.pk))
    form = response.context["adminform"].form
    for field in ("is_superuser", "is_staff", "groups", "user_permissions", "firm", "role"):
        assert field not in form.fields


def test_a_paralegal_sees_cases_but_cannot_change_them(client, world, paralegal):
    case = world[0][Case]
    logged_in(client, paralegal)
    response = client.get(url(Case, "change", case.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client.post(url(Case, "change", case.pk), case_form(case.client)).status_code == 403
    assert client.get(url(Case, "add")).status_code == 403


def test_staff_without_a_firm_sees_nothing(client, world):
    drifter = make_user(None, User.Role.PARTNER)
    response = logged_in(client, drifter).get(url(Case, "changelist"))
    assert list(response.context["cl"].result_list) == []


def test_a_partner_edits_own_firm_clients(client, world, partner):
    mine = world[0]
    logged_in(client, partner)
    response = client.post(
        url(Client, "change", mine[Client].pk), {"name": "Renamed Client", "address": ""}
    )
    assert response.status_code == 302
    assert Client.objects.get(pk=mine[Client].pk).name == "Renamed Client"
    created = client.post(url(Client, "add"), {"name": "New Client", "address": ""})
    assert created.status_code == 302
    assert Client.objects.get(name="New Client").firm_id == partner.firm_id
