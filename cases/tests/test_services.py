"""User activation, deactivation and role changes write an audit row naming the acting admin,
in the same transaction; only a Partner approves documents; closing a case stamps its date; and
each role has the permissions of its group, through the role alone."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from cases import services
from cases.models import Case, CaseStatus, Document, DocumentStatus, User, UserAuditLog
from cases.tests.builders import make_case, make_document, make_user


def audit_rows(user):
    return list(
        UserAuditLog.objects.filter(user=user)
        .order_by("timestamp")
        .values_list("action", "old_value", "new_value", "admin_user_id")
    )


# --- Roles and permissions ---------------------------------------------------------------------

PERMISSIONS = {
    "cases.approve_document": {"Partner"},
    "cases.change_case": {"Partner", "Associate"},
    "cases.add_case": {"Partner", "Associate"},
    "cases.delete_case": {"Partner"},
    "cases.view_case": {"Partner", "Associate", "Paralegal"},
    "cases.change_document": {"Partner", "Associate", "Paralegal"},
    "cases.change_task": {"Partner", "Associate", "Paralegal"},
    "cases.change_user": {"Partner"},
    "cases.view_userauditlog": {"Partner"},
}


@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_each_role_has_the_permissions_of_its_group(partner, associate, paralegal, permission):
    holders = {u.role for u in (partner, associate, paralegal) if u.has_perm(permission)}
    assert holders == PERMISSIONS[permission]


def test_permissions_follow_a_role_change_and_leave_with_deactivation(partner, paralegal):
    assert not paralegal.has_perm("cases.approve_document")
    services.change_role(paralegal, User.Role.PARTNER, by=partner)
    assert User.objects.get(pk=paralegal.pk).has_perm("cases.approve_document")
    services.deactivate_user(paralegal, by=partner)
    assert not User.objects.get(pk=paralegal.pk).has_perm("cases.view_case")


# --- Activation, deactivation, role change -------------------------------------------------------


def test_activation_and_deactivation_are_audited_with_the_admin(partner, firm_a):
    user = make_user(firm_a, status=User.Status.PENDING)
    assert services.activate_user(user, by=partner) is True
    assert user.is_active
    assert services.deactivate_user(user, by=partner) is True
    assert not user.is_active
    assert User.objects.get(pk=user.pk).status == User.Status.INACTIVE
    assert audit_rows(user) == [
        ("Activated", "Pending", "Active", partner.pk),
        ("Deactivated", "Active", "Inactive", partner.pk),
    ]


def test_a_role_change_is_audited_with_old_and_new_role(partner, associate):
    assert services.change_role(associate, User.Role.PARALEGAL, by=partner) is True
    assert User.objects.get(pk=associate.pk).role == User.Role.PARALEGAL
    assert audit_rows(associate) == [("RoleChanged", "Associate", "Paralegal", partner.pk)]


def test_no_change_writes_no_audit_row(partner, associate):
    assert services.activate_user(associate, by=partner) is False
    assert services.change_role(associate, User.Role.ASSOCIATE, by=partner) is False
    assert audit_rows(associate) == []


def test_an_unknown_role_is_refused(partner, associate):
    with pytest.raises(ValidationError, match="'Boss' is not a role"):
        services.change_role(associate, "Boss", by=partner)
    assert audit_rows(associate) == []


@pytest.mark.parametrize("role", ["Associate", "Paralegal"])
def test_only_a_partner_may_change_users(firm_a, paralegal, role):
    actor = make_user(firm_a, role)
    for change in (
        lambda: services.deactivate_user(paralegal, by=actor),
        lambda: services.change_role(paralegal, User.Role.PARTNER, by=actor),
    ):
        with pytest.raises(PermissionDenied, match="may not change users"):
            change()
    assert audit_rows(paralegal) == []


def test_a_partner_of_another_firm_may_not_change_users(partner_b, paralegal):
    with pytest.raises(PermissionDenied, match="another firm"):
        services.deactivate_user(paralegal, by=partner_b)
    assert User.objects.get(pk=paralegal.pk).status == User.Status.ACTIVE


def test_a_superuser_may_change_users_of_any_firm(firm_b, paralegal):
    root = make_user(firm_b, is_superuser=True)
    assert services.deactivate_user(paralegal, by=root)
    assert audit_rows(paralegal) == [("Deactivated", "Active", "Inactive", root.pk)]


def test_nobody_changes_their_own_status_or_role(partner):
    with pytest.raises(ValidationError, match="your own status"):
        services.deactivate_user(partner, by=partner)
    with pytest.raises(ValidationError, match="your own role"):
        services.change_role(partner, User.Role.PARALEGAL, by=partner)


@pytest.mark.django_db(transaction=True)
def test_the_change_and_its_audit_row_commit_or_fail_together(firm_a):
    """If the audit row cannot be written (here: the acting admin's row is gone, which the
    deferred foreign key notices at commit), the user keeps their status."""
    admin = make_user(firm_a, User.Role.PARTNER, is_superuser=True)
    user = make_user(firm_a)
    User.objects.filter(pk=admin.pk).delete()
    with pytest.raises(IntegrityError):
        services.deactivate_user(user, by=admin)
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE
    assert not UserAuditLog.objects.exists()


# --- Documents ---------------------------------------------------------------------------------


@pytest.fixture
def document(firm_a, paralegal):
    return make_document(make_case(firm_a), author=paralegal, status=DocumentStatus.REVIEW)


def test_a_partner_approves_a_document(document, partner):
    assert services.approve_document(document, by=partner) is True
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.APPROVED
    assert services.approve_document(document, by=partner) is False


@pytest.mark.parametrize("role", ["Associate", "Paralegal"])
def test_other_roles_cannot_approve(document, firm_a, role):
    with pytest.raises(PermissionDenied, match=rf"\({role}\) may not approve documents"):
        services.approve_document(document, by=make_user(firm_a, role))
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.REVIEW


def test_a_partner_of_another_firm_cannot_approve(document, partner_b):
    with pytest.raises(PermissionDenied, match="another firm"):
        services.approve_document(document, by=partner_b)


def test_an_inactive_partner_cannot_approve(document, firm_a):
    former = make_user(firm_a, User.Role.PARTNER, status=User.Status.INACTIVE)
    with pytest.raises(PermissionDenied):
        services.approve_document(document, by=former)


def test_a_filed_document_is_not_approved_again(document, partner):
    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FILED)
    with pytest.raises(ValidationError, match="filed already"):
        services.approve_document(document, by=partner)


# --- Cases ---------------------------------------------------------------------------------------


def test_closing_a_case_stamps_todays_date(firm_a, associate):
    case = make_case(firm_a)
    assert services.close_case(case, by=associate) is True
    stored = Case.objects.get(pk=case.pk)
    assert (stored.status, stored.closed_date) == (CaseStatus.CLOSED, timezone.localdate())
    assert services.close_case(case, by=associate) is False


def test_a_case_closes_on_a_given_date_not_before_it_opened(firm_a):
    case = make_case(firm_a, opened_date=datetime.date(2024, 3, 1))
    with pytest.raises(ValidationError, match="opened on 2024-03-01; it cannot close on"):
        services.close_case(case, closed_date=datetime.date(2024, 2, 1))
    services.close_case(case, closed_date=datetime.date(2024, 3, 1))
    assert Case.objects.get(pk=case.pk).closed_date == datetime.date(2024, 3, 1)


def test_a_paralegal_cannot_close_a_case_and_archived_cases_stay_archived(firm_a, paralegal):
    case = make_case(firm_a)
    with pytest.raises(PermissionDenied, match="may not manage cases"):
        services.close_case(case, by=paralegal)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.ARCHIVED)
    with pytest.raises(ValidationError, match="archived"):
        services.close_case(case)
