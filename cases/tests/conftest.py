"""Fixtures of the cases tests: two firms and users of each role."""

import pytest

from cases.models import Firm, User
from cases.tests.builders import make_user


@pytest.fixture
def firm_a(db):
    return Firm.objects.create(name="Alpha Legal", vat_id="RO1001")


@pytest.fixture
def firm_b(db):
    return Firm.objects.create(name="Beta Legal", vat_id="RO2002")


@pytest.fixture
def partner(firm_a):
    return make_user(firm_a, User.Role.PARTNER)


@pytest.fixture
def associate(firm_a):
    return make_user(firm_a, User.Role.ASSOCIATE)


@pytest.fixture
def paralegal(firm_a):
    return make_user(firm_a, User.Role.PARALEGAL)


@pytest.fixture
def partner_b(firm_b):
    return make_user(firm_b, User.Role.PARTNER)
