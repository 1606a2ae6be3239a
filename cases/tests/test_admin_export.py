"""CSV export of the admin's lists: the rows the list shows (its filters, its search, the user's
firm), in its order, streamed, with times in the site's time zone."""

import csv
import datetime
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseStatus, Client, Document, Task
from cases.tests.builders import make_case, make_client, make_document, make_task, make_user
from skills.models import SkillUsageLog
from skills.services import record_usages
from skills.tests.builders import make_skill


def export(client, model, **query) -> tuple[StreamingHttpResponse, list[list[str]]]:
    """Download the export of `model`'s list with `query`; the response and its rows."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_export")
    response = client.get(url, query)
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(body)))


@pytest.fixture
def cases(firm_a, firm_b):
    acme = make_client(firm_a, "Acme Industries SRL")
    made = [
        make_case(firm_a, "Contract Dispute - Acme", acme, opened_date=datetime.date(2024, 3, 1)),
        make_case(firm_a, "Lease Termination", opened_date=datetime.date(2024, 2, 1)),
        make_case(
            firm_a, "Closed Matter", status=CaseStatus.CLOSED, opened_date=datetime.date(2023, 1, 1)
        ),
        make_case(firm_b, "Contract Dispute - Beta", opened_date=datetime.date(2024, 4, 1)),
    ]
    return made


def test_the_export_is_the_list_as_filtered_in_its_order(client, partner, cases):
    client.force_login(partner)
    response, rows = export(client, Case, status__exact=CaseStatus.ACTIVE)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="cases-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    header, *data = rows
    assert header[:3] == ["case number", "title", "client name"]
    # firm A's active cases only, newest first as the list shows them
    assert [row[1] for row in data] == ["Contract Dispute - Acme", "Lease Termination"]
    assert data[0][2] == "Acme Industries SRL" and data[0][6] == "2024-03-01"
    # the list's search too
    _, rows = export(client, Case, q="acme")
    assert [row[1] for row in rows[1:]] == ["Contract Dispute - Acme"]


def test_another_firms_rows_are_never_exported(client, partner_b, cases):
    client.force_login(partner_b)
    _, rows = export(client, Case)
    assert [row[1] for row in rows[1:]] == ["Contract Dispute - Beta"]


def test_times_are_in_the_sites_time_zone(client, partner, cases):
    task = make_task(cases[0], "File the claim", author=partner)
    moment = datetime.datetime(2024, 7, 1, 21, 30, tzinfo=datetime.UTC)  # 00:30 on the 2nd
    Task.objects.filter(pk=task.pk).update(completed_at=moment)
    client.force_login(partner)
    _, rows = export(client, Task)
    completed = rows[0].index("completed at")
    assert rows[1][completed].startswith("2024-07-02 00:30:00+03")


def test_the_documents_and_clients_lists_export_too(client, partner, cases):
    make_document(cases[0], "Statement of claim", author=partner)
    client.force_login(partner)
    _, rows = export(client, Document)
    assert [row[0] for row in rows[1:]] == ["Statement of claim"]
    _, rows = export(client, Client)
    assert "Acme Industries SRL" in {row[0] for row in rows[1:]}
    changelist = client.get(reverse("admin:cases_case_changelist"), {"status__exact": "Active"})
    assert 'href="/admin/cases/case/export/?status__exact=Active"' in changelist.content.decode()


def test_usage_logs_export_with_the_lists_filter(client, firm_a):
    research, drafting = make_skill(skill_id="research-v1"), make_skill(skill_id="drafting-v1")
    record_usages(
        [{"skill": research, "execution_time_ms": 100 + n, "tokens_used": 10} for n in range(3)]
        + [{"skill": drafting, "execution_time_ms": 50, "tokens_used": 5, "success": False}]
    )
    client.force_login(make_user(firm_a, is_superuser=True))
    _, rows = export(client, SkillUsageLog, skill__id__exact=str(research.pk))
    header, *data = rows
    assert header[:3] == ["executed at", "skill id", "user email"]
    assert len(data) == 3 and {row[1] for row in data} == {"research-v1"}
    assert sorted(int(row[header.index("execution time ms")]) for row in data) == [100, 101, 102]


def test_a_bad_filter_goes_back_to_the_list(client, partner, cases):
    client.force_login(partner)
    response = client.get(reverse("admin:cases_case_export"), {"nosuch__exact": "1"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_without_the_view_permission_there_is_no_export(client, paralegal):
    client.force_login(paralegal)  # may view cases, not usage logs
    assert client.get(reverse("admin:cases_case_export")).status_code == 200
    assert client.get(reverse("admin:skills_skillusagelog_export")).status_code == 403
