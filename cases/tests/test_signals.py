"""Writes to the practice data keep Redis in step (docs/schema.md's invalidation table), after the
transaction commits; deactivating a user logs them out everywhere."""

from datetime import date

import pytest
from django.db import transaction

from cases.models import Case, Client, Firm, User
from cases.tests.builders import make_document
from legalplatform.cache import cache_manager
from legalplatform.sessions import session_manager
from tests.redis_support import (
    admin_login,
    fast_password_hashing,  # noqa: F401 - a fixture
    make_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture
def practice(redis_client):
    firm = Firm.objects.create(name="Popescu & Asociații", vat_id="RO123")
    other_firm = Firm.objects.create(name="Ionescu SCA", vat_id="RO456")
    client = Client.objects.create(firm=firm, name="SC Exemplu SRL")
    cases = [
        Case.objects.create(
            firm=firm,
            client=client,
            case_number=f"CASE-2026-00{n}",
            title=f"Case {n}",
            case_type="Civil",
            opened_date=date(2026, 1, n),
        )
        for n in (1, 2)
    ]
    return firm, other_firm, cases


def cached(*keys: str) -> set[str]:
    for key in keys:
        cache_manager.set(key, key)
    return set(keys)


def still_cached(keys) -> set[str]:
    return {key for key in keys if cache_manager.exists(key)}


def test_case_updated_or_deleted_invalidates_its_entry(
    practice, django_capture_on_commit_callbacks
):
    _, _, (case, other) = practice
    keys = cached(f"case:{case.pk}", f"case:{other.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        case.title = "Renamed"
        case.save()
    assert still_cached(keys) == {f"case:{other.pk}"}

    cached(f"case:{case.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        case.delete()
    assert still_cached(keys) == {f"case:{other.pk}"}


def test_document_added_invalidates_its_case_and_every_document_entry(
    practice, django_capture_on_commit_callbacks
):
    _, _, (case, other) = practice
    author = make_user()
    keys = cached(f"case:{case.pk}", f"case:{other.pk}", "document:1", "document:2:summary")
    with django_capture_on_commit_callbacks(execute=True):
        document = make_document(case, author=author)
    assert still_cached(keys) == {f"case:{other.pk}"}

    cached(f"case:{case.pk}", "document:1")
    with django_capture_on_commit_callbacks(execute=True):
        document.title = "Edited"
        document.save()  # an edit adds nothing to the case
    assert still_cached(keys) == {f"case:{case.pk}", f"case:{other.pk}", "document:1"}

    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert still_cached(keys) == {f"case:{other.pk}"}


def test_user_role_changed_invalidates_that_users_entries(
    redis_client, django_capture_on_commit_callbacks
):
    user, other = make_user(), make_user("bob@example.ro")
    keys = cached(f"user:{user.pk}:profile", f"user:{user.pk}:cases", f"user:{other.pk}:profile")
    with django_capture_on_commit_callbacks(execute=True):
        user.first_name = "Ana"
        user.save()  # not the role
    assert still_cached(keys) == keys

    with django_capture_on_commit_callbacks(execute=True):
        user.role = User.Role.ASSOCIATE
        user.save(update_fields=["role"])
    assert still_cached(keys) == {f"user:{other.pk}:profile"}


def test_firm_updated_invalidates_its_entries(practice, django_capture_on_commit_callbacks):
    firm, other_firm, _ = practice
    keys = cached(f"firm:{firm.pk}:clients", f"firm:{firm.pk}:cases", f"firm:{other_firm.pk}:x")
    with django_capture_on_commit_callbacks(execute=True):
        firm.phone = "+40 21 000 0000"
        firm.save()
    assert still_cached(keys) == {f"firm:{other_firm.pk}:x"}


def test_nothing_is_invalidated_before_the_commit(practice, django_capture_on_commit_callbacks):
    _, _, (case, _) = practice
    keys = cached(f"case:{case.pk}")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case.save()
        assert still_cached(keys) == keys  # a reader could cache the old row again meanwhile
    for callback in callbacks:
        callback()
    assert still_cached(keys) == set()


def test_many_documents_in_one_transaction_scan_once(
    practice, redis_client, django_capture_on_commit_callbacks
):
    _, _, (case, _) = practice
    author = make_user()
    cached("document:1")
    scans = redis_client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            make_document(case, author=author)
    assert redis_client.info("commandstats")["cmdstat_scan"]["calls"] == scans + 1
    assert not cache_manager.exists("document:1")


def test_work_of_a_rolled_back_transaction_runs_with_the_next_commit(
    practice, django_capture_on_commit_callbacks
):
    _, _, (case, other) = practice
    keys = cached(f"case:{case.pk}", f"case:{other.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            case.save()
            raise RuntimeError("rolled back")
        other.save()
    assert still_cached(keys) == set()  # one invalidation too many, never one too few


def test_a_save_of_other_fields_does_not_look_up_the_stored_role(
    redis_client, django_assert_num_queries
):
    user = make_user()
    with django_assert_num_queries(1):  # the UPDATE alone, as at every login's last_login
        user.save(update_fields=["last_login"])


def test_deactivating_a_user_logs_them_out_everywhere(
    client, redis_client, django_capture_on_commit_callbacks
):
    from django.test import Client as Browser

    user, colleague = make_user(), make_user("bob@example.ro")
    phone = Browser()
    admin_login(client, user)
    admin_login(phone, user)
    admin_login(Browser(), colleague)
    assert len(session_manager.user_sessions(user.pk)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        user.status = User.Status.INACTIVE
        user.save()
    assert session_manager.user_sessions(user.pk) == {}
    assert not redis_client.exists(f"session:{phone.cookies['sessionid'].value}")
    assert client.get("/admin/").status_code == 302
    assert len(session_manager.user_sessions(colleague.pk)) == 1
